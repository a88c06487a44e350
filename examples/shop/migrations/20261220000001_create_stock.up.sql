-- What the warehouse holds, per SKU; `reserve_stock` takes from it. `version`: optimistic
-- locking (two instances reserving the same SKU at once: one retries).
CREATE TABLE stock (
    sku VARCHAR(64) PRIMARY KEY,
    available INTEGER NOT NULL CHECK (available >= 0),
    version INTEGER NOT NULL
);

INSERT INTO stock (sku, available, version) VALUES ('tea', 100, 1);
INSERT INTO stock (sku, available, version) VALUES ('kettle', 3, 1);
INSERT INTO stock (sku, available, version) VALUES ('teapot', 0, 1);
