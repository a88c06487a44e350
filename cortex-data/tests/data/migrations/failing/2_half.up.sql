-- The first statement succeeds, the second fails: the table must not stay where DDL is transactional.
CREATE TABLE half_first (id INTEGER NOT NULL);
INSERT INTO no_such_table (id) VALUES (1);
