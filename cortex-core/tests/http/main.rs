//! Integration tests for the runtime: one binary, one module per area.

mod app;
mod config;
mod discover;
mod errors;
mod handoff;
mod hooks;
mod inspect;
mod middleware;
mod observe;
mod openapi;
mod plugins;
mod routes;
mod scope_end;
mod security;
mod server;
mod startup;
mod tasks;
mod testing;
