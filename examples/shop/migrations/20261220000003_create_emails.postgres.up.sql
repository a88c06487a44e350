-- The confirmation emails queued for sending: one per order.
CREATE TABLE emails (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL UNIQUE REFERENCES orders (id),
    to_address VARCHAR(254) NOT NULL,
    subject VARCHAR(200) NOT NULL,
    body TEXT NOT NULL,
    event_id VARCHAR(36) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
