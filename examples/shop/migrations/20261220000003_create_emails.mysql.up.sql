-- The confirmation emails queued for sending: one per order.
CREATE TABLE emails (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    order_id BIGINT NOT NULL UNIQUE,
    to_address VARCHAR(254) NOT NULL,
    subject VARCHAR(200) NOT NULL,
    body TEXT NOT NULL,
    event_id VARCHAR(36) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    FOREIGN KEY (order_id) REFERENCES orders (id)
);
