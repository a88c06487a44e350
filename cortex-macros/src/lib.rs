//! Procedural macros for Cortex. Use them through the `cortex` facade (or `cortex-di` for the
//! first two), which re-exports them:
//!
//! | macro | what it does |
//! | --- | --- |
//! | [`#[injectable]`](https://docs.rs/cortex/latest/cortex/attr.injectable.html) | makes a struct a provider whose fields the container fills |
//! | [`#[provider]`](https://docs.rs/cortex/latest/cortex/attr.provider.html) | makes a function a provider of what it returns, its arguments resolved |
//! | [`#[controller("/prefix")]`](https://docs.rs/cortex/latest/cortex/attr.controller.html) | makes a struct an injectable controller whose routes serve under a prefix, with `#[guard]`/`#[middleware]` |
//! | [`#[routes]`](https://docs.rs/cortex/latest/cortex/attr.routes.html) | turns the `#[get]`/`#[post]`/... methods of a controller's `impl` block into axum routes |
//! | [`#[cortex::main]`](https://docs.rs/cortex/latest/cortex/attr.main.html) | runs an `async fn main` on a tokio runtime after installing Cortex's logging |
//! | [`#[derive(Event)]`](https://docs.rs/cortex-events/latest/cortex_events/derive.Event.html) | makes a type an event published on a topic (`#[event(topic = "user.created")]`) |
//! | [`#[event_handler]`](https://docs.rs/cortex-events/latest/cortex_events/attr.event_handler.html) | makes an `async fn` an event handler, discovered like a controller |
//! | [`#[event_handlers]`](https://docs.rs/cortex-events/latest/cortex_events/attr.event_handlers.html) | makes the `#[event_handler]` methods of an injectable type's `impl` block event handlers |
//!
//! `#[inject(..)]`, `#[guard(..)]`, `#[middleware(..)]` and the route attributes (`#[get("/")]`,
//! `#[route(METHOD, "/")]`, ...) are not macros of their own: the macros above read and remove them.
//!
//! The generated code refers to the runtime by an absolute path (`::cortex::di` when the crate
//! depends on the facade, `::cortex_di` otherwise, or the `crate = "..."` option; the event
//! macros use `::cortex::events` or `::cortex_events`).
//!
//! This crate stays thin: the entry points below call plain modules that parse and expand, each
//! with unit tests; compile-fail cases live in `ui-tests/tests/ui`. Set `CORTEX_MACROS_DEBUG=1`
//! while building to print every expansion.
//!
//! # What the macros expand to
//!
//! `src/snapshots/` holds, for each macro's main cases, the code a user writes and the
//! pretty-printed code it expands to (the tests in `src/expand_snapshots.rs`). A change to an
//! expansion fails those tests until the snapshots are rewritten and the diff reviewed:
//!
//! ```text
//! INSTA_UPDATE=always cargo test -p cortex-macros --lib expand_snapshots
//! git diff cortex-macros/src/snapshots     # read it as a reviewer would, then commit it
//! ```
//!
//! (`cargo insta review`, from `cargo install cargo-insta`, is the interactive way.) Without
//! `INSTA_UPDATE=always` a differing or missing snapshot only fails, and on CI (`CI` set) nothing
//! is written.

mod attrs;
mod controller;
mod crate_path;
mod debug;
mod errors;
mod event_derive;
mod event_handler;
#[cfg(test)]
mod expand_snapshots;
mod injectable;
mod main_fn;
mod package;
mod provider_fn;
mod registration;
mod routes;
mod schema_rules;
mod slot;
mod topic;
mod types;

use proc_macro::TokenStream;

/// Makes a struct a provider: the container builds it by filling its fields.
///
/// The struct is registered with the link-time registry, so
/// [`ContainerBuilder::discover`](https://docs.rs/cortex-di) finds it with no list to maintain,
/// and implements `Injectable`, so `builder.register::<Service>()` adds it by hand.
///
/// # Fields
///
/// | field | filled with |
/// | --- | --- |
/// | `Inject<T>` (`T` may be `dyn Trait`) | the unnamed binding of `T`; a missing one fails the build |
/// | `#[inject(name = "primary")] Inject<T>` | the binding of `T` named `primary` |
/// | `Option<Inject<T>>` | the binding of `T`, or `None` when nothing is bound |
/// | `#[inject(default)] T` | `Default::default()` |
/// | `#[inject(value = <expr>)] T` | the expression, evaluated on each creation |
/// | `#[inject(config = "server.port")] T` | the configuration value at that key, deserialized; needs a bound `ConfigSource` |
///
/// Any other field is a compile error that says which forms are allowed.
///
/// # Options
///
/// | option | meaning |
/// | --- | --- |
/// | `scope = "singleton"` (default), `"transient"`, `"request"` | how long an instance lives |
/// | `lazy` or `lazy = true` | create the singleton on first use rather than at build time |
/// | `name = "primary"` | bind under a name (with `provides`, the trait binding gets the name) |
/// | `provides = dyn Trait` | also bind `dyn Trait`, sharing the struct's instance |
/// | `profile = "test"`, `profile = ["dev", "!prod"]` | register only when a profile is (or is not) active; repeatable |
/// | `when = path::to::check` | register only when `fn check(&Env) -> bool` holds |
/// | `discover = false` | keep it out of `discover()`: registered by hand (`register::<T>()`), as a library's plugin does |
/// | `crate = "::cortex::di"` | where the runtime crate is, when the manifest cannot tell |
///
/// A type that implements `OnStart`, `OnReady` or `OnShutdown` gets those hooks: `OnStart` when the
/// container starts (before the server binds), `OnReady` once the app is serving, `OnShutdown` when
/// the container shuts down.
///
/// # Example
///
/// ```
/// use cortex_di::{ContainerBuilder, Inject, injectable};
///
/// pub trait Mailer: Send + Sync {
///     fn send(&self, to: &str) -> String;
/// }
///
/// #[injectable(provides = dyn Mailer)]
/// struct Smtp {
///     #[inject(config = "mail.host")]
///     host: String,
/// }
///
/// impl Mailer for Smtp {
///     fn send(&self, to: &str) -> String {
///         format!("mail to {to} via {}", self.host)
///     }
/// }
///
/// #[injectable(scope = "transient")]
/// struct Signup {
///     mailer: Inject<dyn Mailer>,
///     #[inject(value = 3)]
///     retries: u32,
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let container = ContainerBuilder::new()
///     .config(serde_json::json!({ "mail": { "host": "smtp.example.com" } }))
///     .register::<Smtp>()
///     .register::<Signup>()
///     .build()
///     .await?;
/// let signup: Inject<Signup> = container.get()?;
/// assert_eq!(signup.mailer.send("ada"), "mail to ada via smtp.example.com");
/// assert_eq!(signup.retries, 3);
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
///
/// Misuse is reported at the offending token:
///
/// ```compile_fail
/// use cortex_di::injectable;
/// struct Config;
///
/// #[injectable]
/// struct Service {
///     config: Config, // error: field `config` of type `Config` cannot be injected; hint: write `Inject<Config>` ...
/// }
/// ```
#[proc_macro_attribute]
pub fn injectable(attr: TokenStream, item: TokenStream) -> TokenStream {
    injectable::expand(attr.into(), item.into()).into()
}

/// Makes a function a provider: the container calls it with its arguments resolved and binds
/// what it returns.
///
/// The function stays callable by hand. A marker type with the function's name (in the type
/// namespace, with the function's visibility) implements `Injectable`, so
/// `builder.register::<pool>()` adds it explicitly; `discover()` finds it too.
///
/// # Arguments
///
/// `Inject<T>` (optionally `#[inject(name = "...")]`), `Option<Inject<T>>`,
/// `#[inject(config = "key")] x: T`, `#[inject(default)]` and `#[inject(value = <expr>)]`, as
/// for [`macro@injectable`] fields.
///
/// # Return type
///
/// | returns | provides |
/// | --- | --- |
/// | `T` | `T` |
/// | `Result<T, E>`, `anyhow::Result<T>`, `io::Result<T>` (any type named `Result`) | `T`; an `Err` fails the build (or the resolve) naming the function; `E: Into<BoxError>` |
/// | `Arc<T>`, `Inject<T>`, `Box<T>` (also inside a `Result`), `T` often `dyn Trait` | `T`, sharing the pointer |
///
/// An `async fn` is awaited: singletons at build time, in dependency order.
///
/// # Options
///
/// `scope`, `lazy`, `name`, `profile`, `when`, `discover` and `crate`, as for
/// [`macro@injectable`].
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use cortex_di::{ContainerBuilder, Inject, provider};
///
/// pub struct Pool { url: String }
/// pub trait Clock: Send + Sync { fn now(&self) -> u64; }
/// struct Fixed;
/// impl Clock for Fixed { fn now(&self) -> u64 { 42 } }
///
/// #[provider]
/// async fn pool(#[inject(config = "db.url")] url: String) -> Result<Pool, std::io::Error> {
///     Ok(Pool { url })
/// }
///
/// #[provider(name = "fixed")]
/// fn clock() -> Arc<dyn Clock> {
///     Arc::new(Fixed)
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let container = ContainerBuilder::new()
///     .config(serde_json::json!({ "db": { "url": "sqlite::memory:" } }))
///     .register::<pool>()
///     .register::<clock>()
///     .build()
///     .await?;
/// assert_eq!(container.get::<Pool>()?.url, "sqlite::memory:");
/// assert_eq!(container.get_named::<dyn Clock>("fixed")?.now(), 42);
/// # Ok::<_, cortex_di::Error>(())
/// # }).unwrap();
/// ```
///
/// ```compile_fail
/// use cortex_di::provider;
///
/// #[provider]
/// fn start() {} // error: #[provider] fn `start` returns nothing: a provider returns what it provides; ...
/// ```
#[proc_macro_attribute]
pub fn provider(attr: TokenStream, item: TokenStream) -> TokenStream {
    provider_fn::expand(attr.into(), item.into()).into()
}

/// Makes a struct a controller: injectable (a singleton), with its `#[routes]` served under the
/// given path prefix.
///
/// Controller-wide `#[guard(..)]` and `#[middleware(..)]` go below it on the struct; the other
/// options are those of `#[injectable]` (`profile`, `when`, ...).
///
/// ```ignore
/// #[controller("/users")]
/// #[guard(inject = ApiKeyGuard)]
/// pub struct UserController {
///     users: Inject<UserService>,
/// }
/// ```
#[proc_macro_attribute]
pub fn controller(attr: TokenStream, item: TokenStream) -> TokenStream {
    controller::expand(attr.into(), item.into()).into()
}

/// Turns the methods of a controller's `impl` block that carry `#[get(..)]`, `#[post(..)]`,
/// `#[put(..)]`, `#[patch(..)]`, `#[delete(..)]`, `#[head(..)]`, `#[options(..)]`, `#[trace(..)]`
/// or `#[route(METHOD, "..")]` into routes; `#[guard(..)]` and `#[middleware(..)]` on a method
/// apply to that route.
///
/// Handler arguments are axum extractors (the body extractor last) and `Inject<T>`, resolved from
/// the request's scope; the return type is anything `IntoResponse`.
///
/// ```ignore
/// #[routes]
/// impl UserController {
///     #[get("/{id}")]
///     async fn show(&self, Path(id): Path<u64>) -> Result<Json<User>, HttpError> { .. }
/// }
/// ```
#[proc_macro_attribute]
pub fn routes(attr: TokenStream, item: TokenStream) -> TokenStream {
    routes::expand(attr.into(), item.into()).into()
}

/// Runs an `async fn main` on a multi-threaded tokio runtime, after installing Cortex's logging
/// (`RUST_LOG`/`CORTEX_LOG` filters; human-readable in dev, JSON lines in prod).
///
/// ```ignore
/// #[cortex::main]
/// async fn main() -> cortex::Result<()> {
///     App::from_config()?.discover().run().await
/// }
/// ```
///
/// In a binary of a package that also has a library (`src/lib.rs`, or a `[lib]` table), it links
/// that library in (`use my_app as _;`), so that `discover()` finds the components declared there
/// even when `main.rs` names nothing of it. A crate of another package is linked only when the
/// binary names it: write `use other_crate as _;` for one whose components nothing else uses.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    let library = package::own_library_from_env();
    main_fn::expand(attr.into(), item.into(), library.as_ref()).into()
}

/// Writes each field's `validator` rules and the exact bounds of its integer type into the
/// OpenAPI schema that utoipa's `#[derive(ToSchema)]` (or `#[derive(IntoParams)]`) generates, so
/// the document describes what the server accepts: you write each rule once, in `#[validate]`.
///
/// Put it above the `#[derive(..)]`:
///
/// ```ignore
/// use cortex::prelude::*;
///
/// #[schema_rules]
/// #[derive(Deserialize, Validate, ToSchema)]
/// struct NewOrder {
///     #[validate(length(min = 1, max = 50))]
///     title: String,       // minLength 1, maxLength 50
///     #[validate(range(min = 1, max = 1000))]
///     qty: u32,            // minimum 1, maximum 1000
///     note: Option<u16>,   // minimum 0, maximum 65535 (or null)
/// }
/// ```
///
/// | on a field | in its schema |
/// | --- | --- |
/// | an integer type (`u8` … `u64`, `i8` … `i64`, `usize`, `isize`) | `minimum`/`maximum` of the type; `u32`, `usize`, `isize` are `format: int64` |
/// | `length(min, max, equal)` | `minLength`/`maxLength` on strings, `minItems`/`maxItems` on lists |
/// | `range(min, max, exclusive_min, exclusive_max)` | `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` |
/// | `email`, `url`, `ip(v4)`, `ip(v6)` | `format`: `email`, `uri`, `ipv4`, `ipv6` |
/// | `contains(pattern = "x")` | `pattern` (the text, escaped) |
/// | `required` (on an `Option`) | required and not nullable |
/// | `nested` | nothing to add: the field's type derives `ToSchema` and is a `$ref` |
///
/// Bounds written as constants (`max = MAX_QTY`), `regex(path = ..)`, `custom`, `must_match`,
/// `does_not_contain`, `credit_card` and `non_control_character` cannot be read from the
/// attribute: describe those with utoipa's `#[schema(pattern = "..", maximum = ..)]`. A key you
/// write in `#[schema(..)]` or `#[param(..)]` wins over the one this attribute would add; a
/// field with `value_type` or `schema_with` is left to you.
#[proc_macro_attribute]
pub fn schema_rules(attr: TokenStream, item: TokenStream) -> TokenStream {
    schema_rules::expand(attr.into(), item.into()).into()
}

/// Implements `cortex_events::Event` for a type, with the topic it is published on:
/// `#[event(topic = "user.created")]`.
///
/// The topic is checked at compile time by the bus's rules: segments of ASCII letters, digits,
/// `_` and `-` separated by dots, no wildcards. `Serialize` and `Deserialize` stay your derives
/// (an event may leave the process: dead letters, the event store, a bridge), so derive them
/// next to it, with whatever serde attributes the type needs.
///
/// ```
/// use cortex_events::Event;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Event, Serialize, Deserialize)]
/// #[event(topic = "user.created")]
/// struct UserCreated {
///     id: u64,
/// }
///
/// assert_eq!(UserCreated::TOPIC, "user.created");
/// ```
///
/// A topic that breaks the rules, a missing topic and an unknown option are errors at the
/// offending token:
///
/// ```compile_fail
/// use cortex_events::Event;
///
/// #[derive(Event, serde::Serialize, serde::Deserialize)]
/// #[event(topic = "user.*")] // error: invalid event topic: `user.*` contains `*`; ...
/// struct UserCreated;
/// ```
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(item: TokenStream) -> TokenStream {
    event_derive::expand(item.into()).into()
}

/// Makes an `async fn` an event handler: discovered like a controller (`App::discover()` with
/// the `EventsPlugin`), subscribed when the app starts, each event handled in its own scope of
/// the container.
///
/// # Arguments
///
/// The event first, `Envelope<E>` (`E` a `#[derive(Event)]` type, or `Json` for any event under
/// a pattern), then `Inject<T>` (optionally `#[inject(name = "...")]`), `Option<Inject<T>>`,
/// `#[inject(default)]` and `#[inject(value = <expr>)]` arguments, as for `#[provider]`. The
/// dependencies are resolved from the event's scope and declared on the handler's node of the
/// container's graph: a missing one fails the app at startup, and `cortex graph` shows them.
///
/// # Return type
///
/// `()`, or `Result<(), E>` with `E: Into<BoxError>` (`anyhow::Result<()>`, any error type): an
/// `Err` (or a panic) is retried with the handler's backoff, then goes to the dead letters.
///
/// # Options
///
/// | option | meaning |
/// | --- | --- |
/// | `"user.*"` (first) or `pattern = "user.*"` | the topics it listens to (`*` one segment, `#` any depth); by default the event type's topic |
/// | `priority = 10` | handlers of higher priority get each event queued first (default 0) |
/// | `retries = 5` | retries after the first attempt (the bus's `[events.retry]` otherwise) |
/// | `capacity = 100` | its queue's capacity (`[events] capacity` otherwise) |
/// | `overflow = "drop_oldest"` | what a full queue does: `"wait"`, `"drop_oldest"`, `"fail"` |
/// | `filter = path::to::check` | only events for which `fn check(&Envelope<E>) -> bool` holds (or a closure) |
/// | `name = "welcome"` | its name in logs, metrics and dead letters (default: the fn's name) |
///
/// The function stays callable as written, so a unit test calls it with `Envelope::new(..)`.
///
/// ```
/// use cortex_events::{Envelope, Event, event_handler};
/// use cortex_di::{Inject, injectable};
///
/// #[derive(Event, serde::Serialize, serde::Deserialize)]
/// #[event(topic = "user.created")]
/// struct UserCreated { email: String }
///
/// #[injectable]
/// struct Mailer;
///
/// #[event_handler(retries = 5)]
/// async fn welcome(user: Envelope<UserCreated>, mailer: Inject<Mailer>) -> Result<(), std::io::Error> {
///     let _ = (&user.email, mailer);
///     Ok(())
/// }
///
/// let handler = cortex_events::registered_handlers().into_iter().find(|h| h.name() == "welcome").unwrap();
/// assert_eq!(handler.pattern(), Some("user.created"));
/// assert_eq!(handler.dependencies().len(), 1);
/// ```
///
/// Misuse is reported at the offending token:
///
/// ```compile_fail
/// use cortex_events::{Envelope, Json, event_handler};
///
/// #[event_handler] // error: `Envelope<Json>` takes any event, so the handler names the topics ...
/// async fn audit(event: Envelope<Json>) {}
/// ```
#[proc_macro_attribute]
pub fn event_handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    event_handler::expand_fn(attr.into(), item.into()).into()
}

/// Makes the `#[event_handler]` methods of an injectable type's `impl` block event handlers: the
/// instance is resolved from each event's scope (a singleton is shared; a request-scoped type
/// gets one instance per event), and declared as the handler's dependency. A handler is named
/// `Type::method` unless `name = ".."` says otherwise; the options are those of
/// [`macro@event_handler`].
///
/// ```
/// use cortex_events::{Envelope, Event, event_handlers};
/// use cortex_di::injectable;
///
/// #[derive(Event, serde::Serialize, serde::Deserialize)]
/// #[event(topic = "order.placed")]
/// struct OrderPlaced { id: u64 }
///
/// #[injectable]
/// struct Stock;
///
/// #[event_handlers]
/// impl Stock {
///     #[event_handler(priority = 10)]
///     async fn reserve(&self, order: Envelope<OrderPlaced>) {
///         let _ = order.id;
///     }
/// }
///
/// let handler = cortex_events::registered_handlers().into_iter().find(|h| h.name() == "Stock::reserve").unwrap();
/// assert_eq!(handler.options().priority, 10);
/// ```
#[proc_macro_attribute]
pub fn event_handlers(attr: TokenStream, item: TokenStream) -> TokenStream {
    event_handler::expand_impl(attr.into(), item.into()).into()
}
