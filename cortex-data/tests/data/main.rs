//! The data layer's integration tests, one binary: each area's module runs against SQLite, and
//! against PostgreSQL and MariaDB on 127.0.0.1 when built with the `postgres` and `mysql`
//! features (`cargo test -p cortex-data --all-features --test data`).

mod model;
