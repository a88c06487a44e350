//! Integration tests for the container: one binary, one module per area.

mod macros;
