//! The data layer's tests, one binary: each area of the crate has its module, and every test
//! runs on SQLite, PostgreSQL and MariaDB (127.0.0.1; `scripts/services` starts them).

mod support;

mod runtime;

mod migrate;

mod model;

mod testkit;

mod observe;
