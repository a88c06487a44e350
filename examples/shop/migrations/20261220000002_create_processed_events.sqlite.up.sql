-- One row per (event, handler) handled: a redelivered event (bridges deliver at least once)
-- finds its row and changes nothing. Written in the transaction of the handler's effects.
CREATE TABLE processed_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id VARCHAR(36) NOT NULL,
    handler VARCHAR(100) NOT NULL,
    instance VARCHAR(100) NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (event_id, handler)
);
