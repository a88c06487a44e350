//! Integration tests for the runtime: one binary, one module per area.

mod app;
mod config;
mod errors;
mod middleware;
mod openapi;
mod server;
