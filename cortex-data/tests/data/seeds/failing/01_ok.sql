INSERT INTO posts (id, title) VALUES (2, 'Kept');
