//! Cortex: a batteries-included application framework for Rust.
//!
//! Applications are plain structs and `impl` blocks annotated with attributes; Cortex wires them
//! together through a scoped dependency-injection container, validated as a whole before anything
//! runs. This crate is the facade: depend on `cortex` and `use cortex::prelude::*;`.
//!
//! ```
//! use cortex::prelude::*;
//!
//! #[injectable]
//! struct Clock;
//!
//! #[injectable(scope = "request")]
//! struct Audit {
//!     clock: Inject<Clock>,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cortex::di::Error> {
//! let container = ContainerBuilder::new().discover().build().await?;
//! let request = container.scope();
//! let audit: Inject<Audit> = request.get()?;
//! assert!(Inject::ptr_eq(&audit.clock, &container.get::<Clock>()?));
//! # Ok(())
//! # }
//! ```
//!
//! # What is here so far
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`di`] | the container: providers, scopes, graph validation, overrides, introspection |
//!
//! The guide (`docs/` in the repository) has a chapter per capability.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `shaku` | no | `ContainerBuilder::shaku_module`: bring an existing shaku module's components in |

#[allow(unused_extern_crates)]
extern crate self as cortex;

/// The dependency-injection container (the `cortex-di` crate).
pub use cortex_di as di;

pub use cortex_di::{Container, ContainerBuilder, Inject, injectable, provider};

/// What most applications need, in one import.
pub mod prelude {
    pub use cortex_di::{
        Container, ContainerBuilder, Dependency, Inject, Injectable, OnShutdown, Provider,
        RequestScope, Scope, injectable, provider,
    };
}

/// The guide's chapters, compiled as doc tests so their examples stay true.
#[cfg(doctest)]
mod guide {
    #[doc = include_str!("../../docs/src/container.md")]
    struct Container;
}
