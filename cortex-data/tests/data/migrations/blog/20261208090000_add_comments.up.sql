CREATE TABLE comments (
    id BIGINT PRIMARY KEY,
    post_id BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX comments_post_id ON comments (post_id);
