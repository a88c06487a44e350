INSERT INTO posts (id, title) VALUES (3, 'Rolled back');
INSERT INTO posts (id, title) VALUES (2, 'Duplicate');
