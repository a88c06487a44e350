-- no-transaction
CREATE TABLE outside (id INTEGER NOT NULL);
INSERT INTO no_such_table (id) VALUES (1);
