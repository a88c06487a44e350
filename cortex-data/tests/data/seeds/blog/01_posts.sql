INSERT INTO posts (id, title) VALUES (1, 'Hello');
