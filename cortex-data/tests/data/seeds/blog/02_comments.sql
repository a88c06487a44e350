INSERT INTO comments (id, post_id, body) VALUES (1, 1, 'First');
