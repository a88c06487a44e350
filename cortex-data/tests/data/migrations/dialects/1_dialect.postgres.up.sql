CREATE TABLE dialect (name VARCHAR(20) NOT NULL);
INSERT INTO dialect (name) VALUES ('postgres');
