//! Integration tests for the container: one binary, one module per area.

mod async_providers;
mod config;
mod graph_errors;
mod hot_paths;
mod inspection;
mod introspection;
mod lifecycle;
mod macros;
mod observed;
mod overrides;
mod scope_work;
mod scopes;
mod shutdown;
mod support;
mod undeclared;
