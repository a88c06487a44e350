-- One row per (event, handler) handled: a redelivered event (bridges deliver at least once)
-- finds its row and changes nothing. Written in the transaction of the handler's effects.
CREATE TABLE processed_events (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    event_id VARCHAR(36) NOT NULL,
    handler VARCHAR(100) NOT NULL,
    instance VARCHAR(100) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    UNIQUE (event_id, handler)
);
