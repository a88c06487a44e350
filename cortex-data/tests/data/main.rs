//! cortex-data against real databases: SQLite always, PostgreSQL and MariaDB on 127.0.0.1 (see
//! `scripts/services`). A module per area; each test works on a database of its own, so they run
//! in parallel.
#![allow(missing_docs, unreachable_pub)]

mod migrate;
