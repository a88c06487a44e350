CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sku VARCHAR(64) NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    email VARCHAR(254) NOT NULL,
    status VARCHAR(16) NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
