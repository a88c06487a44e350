-- SQLite runs this one: there is no sqlite file.
CREATE TABLE dialect (name VARCHAR(20) NOT NULL);
INSERT INTO dialect (name) VALUES ('any');
