//! `#[injectable]` and `#[provider]` end to end.
//!
//! Every annotated item in this binary lands in one link-time registry, so `discover()` sees them
//! all. Items meant for one test carry that test's profile; only the small "discovery" set is
//! unconditional, and it forms a valid graph on its own.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use cortex_di::{
    ContainerBuilder, Env, Error, GraphError, Inject, Key, OnShutdown, ProviderKind, Scope,
    injectable, provider, registrations,
};
use serde_json::json;

const THIS_FILE: &str = "tests/container/macros.rs";

// ---------------------------------------------------------------------------------------------
// Discovery: unconditional items.

#[injectable]
struct DiscoveredClock;

#[injectable]
struct Discovered {
    clock: Inject<DiscoveredClock>,
}

#[derive(Debug, PartialEq)]
struct Greeting(&'static str);

#[provider]
fn discovered_greeting() -> Greeting {
    Greeting("hello")
}

#[tokio::test]
async fn discover_finds_annotated_items_without_a_list() {
    let container = ContainerBuilder::new().discover().build().await.unwrap();
    let discovered: Inject<Discovered> = container.get().unwrap();
    let clock: Inject<DiscoveredClock> = container.get().unwrap();
    assert!(Inject::ptr_eq(&discovered.clock, &clock));
    assert_eq!(*container.get::<Greeting>().unwrap(), Greeting("hello"));

    let names: Vec<&str> = registrations().map(|r| r.name()).collect();
    assert!(
        names.contains(&"container::macros::Discovered"),
        "{names:?}"
    );
    assert!(
        names.contains(&"container::macros::discovered_greeting"),
        "{names:?}"
    );
}

/// Kept out of discovery, as a library crate's components are: its plugin registers it.
#[injectable(discover = false)]
struct PluginOwned {
    clock: Inject<DiscoveredClock>,
}

#[derive(Debug, PartialEq)]
struct PluginGreeting(&'static str);

#[provider(discover = false)]
fn plugin_greeting() -> PluginGreeting {
    PluginGreeting("from the plugin")
}

#[tokio::test]
async fn discover_false_keeps_an_item_out_of_discovery_but_registrable() {
    let names: Vec<&str> = registrations().map(|r| r.name()).collect();
    assert!(
        !names.iter().any(|n| n.ends_with("PluginOwned")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.ends_with("plugin_greeting")),
        "{names:?}"
    );
    let container = ContainerBuilder::new().discover().build().await.unwrap();
    assert!(!container.contains(&Key::of::<PluginOwned>()));
    assert!(!container.contains(&Key::of::<PluginGreeting>()));

    let container = ContainerBuilder::new()
        .discover()
        .register::<PluginOwned>()
        .register::<plugin_greeting>()
        .build()
        .await
        .unwrap();
    let owned: Inject<PluginOwned> = container.get().unwrap();
    assert!(Inject::ptr_eq(&owned.clock, &container.get().unwrap()));
    assert_eq!(
        *container.get::<PluginGreeting>().unwrap(),
        PluginGreeting("from the plugin")
    );
}

#[tokio::test]
async fn explicit_registration_adds_only_what_it_names() {
    let container = ContainerBuilder::new()
        .register::<DiscoveredClock>()
        .build()
        .await
        .unwrap();
    assert!(container.get::<DiscoveredClock>().is_ok());
    assert!(!container.contains(&Key::of::<Discovered>()));
    assert!(!container.contains(&Key::of::<Greeting>()));

    let container = ContainerBuilder::new()
        .register::<discovered_greeting>()
        .build()
        .await
        .unwrap();
    assert_eq!(container.graph().providers.len(), 1);
    assert_eq!(container.get::<Greeting>().unwrap().0, "hello");
}

#[tokio::test]
async fn registering_a_discovered_item_again_adds_it_once() {
    let container = ContainerBuilder::new()
        .discover()
        .register::<Discovered>()
        .register::<discovered_greeting>()
        .build()
        .await
        .unwrap();
    let discovered = container
        .graph()
        .providers
        .iter()
        .filter(|p| p.type_name.ends_with("::Discovered"))
        .count();
    assert_eq!(discovered, 1);
}

#[test]
fn provider_fns_stay_callable() {
    assert_eq!(discovered_greeting(), Greeting("hello"));
}

// ---------------------------------------------------------------------------------------------
// Every field form.

trait Store: Send + Sync {
    fn label(&self) -> &'static str;
}

#[injectable(profile = "fields", provides = dyn Store, name = "primary")]
struct PrimaryStore;

impl Store for PrimaryStore {
    fn label(&self) -> &'static str {
        "primary"
    }
}

#[injectable(profile = "fields", provides = dyn Store, name = "backup")]
struct BackupStore;

impl Store for BackupStore {
    fn label(&self) -> &'static str {
        "backup"
    }
}

#[injectable(profile = "fields")]
struct FieldClock;

/// Never bound.
#[allow(dead_code)]
struct FieldAudit;

#[injectable(profile = "fields", crate = "::cortex_di")]
struct Dashboard {
    clock: Inject<FieldClock>,
    #[inject(name = "primary")]
    store: Inject<dyn Store>,
    audit: Option<Inject<FieldAudit>>,
    #[inject(name = "backup")]
    backup: Option<cortex_di::Inject<dyn Store>>,
    #[inject(name = "archive")]
    archive: Option<Inject<dyn Store>>,
    #[inject(default)]
    hits: Vec<u32>,
    #[inject(value = String::from("ops") + "-dashboard")]
    title: String,
    #[inject(config = "dashboard.refresh_secs")]
    refresh_secs: u32,
}

#[tokio::test]
async fn every_field_form_is_filled() {
    let container = ContainerBuilder::new()
        .profile("fields")
        .config(json!({ "dashboard": { "refresh_secs": 30 } }))
        .discover()
        .build()
        .await
        .unwrap();
    let dashboard: Inject<Dashboard> = container.get().unwrap();
    assert!(Inject::ptr_eq(
        &dashboard.clock,
        &container.get::<FieldClock>().unwrap()
    ));
    assert_eq!(dashboard.store.label(), "primary");
    assert!(dashboard.audit.is_none());
    assert_eq!(dashboard.backup.as_ref().map(|b| b.label()), Some("backup"));
    assert!(dashboard.archive.is_none());
    assert!(dashboard.hits.is_empty());
    assert_eq!(dashboard.title, "ops-dashboard");
    assert_eq!(dashboard.refresh_secs, 30);
}

#[tokio::test]
async fn fields_are_recorded_as_dependencies() {
    let graph = ContainerBuilder::new()
        .profile("fields")
        .config(json!({}))
        .discover()
        .validate()
        .unwrap();
    let dashboard = graph
        .providers
        .iter()
        .find(|p| p.type_name.ends_with("::Dashboard"))
        .unwrap();
    assert_eq!(dashboard.declared_by, "container::macros::Dashboard");
    assert!(
        dashboard.location.contains(THIS_FILE),
        "{}",
        dashboard.location
    );
    let deps: Vec<(Option<&str>, Option<&str>, bool)> = dashboard
        .dependencies
        .iter()
        .map(|d| (d.field.as_deref(), d.name.as_deref(), d.optional))
        .collect();
    assert_eq!(
        deps,
        [
            (Some("clock"), None, false),
            (Some("store"), Some("primary"), false),
            (Some("audit"), None, true),
            (Some("backup"), Some("backup"), true),
            (Some("archive"), Some("archive"), true),
            (Some("refresh_secs"), None, false),
        ]
    );
    assert!(dashboard.dependencies[5].type_name.contains("ConfigSource"));
}

// ---------------------------------------------------------------------------------------------
// provides = dyn Trait

trait Greeter: Send + Sync {
    fn greet(&self) -> String;
}

#[injectable(profile = "provides", provides = dyn Greeter)]
struct English {
    #[inject(default)]
    greeted: AtomicU32,
}

impl Greeter for English {
    fn greet(&self) -> String {
        self.greeted.fetch_add(1, Ordering::SeqCst);
        "hello".into()
    }
}

#[tokio::test]
async fn provides_binds_the_trait_to_the_same_singleton() {
    let container = ContainerBuilder::new()
        .profile("provides")
        .discover()
        .build()
        .await
        .unwrap();
    let greeter: Inject<dyn Greeter> = container.get().unwrap();
    let english: Inject<English> = container.get().unwrap();
    assert_eq!(greeter.greet(), "hello");
    assert_eq!(english.greeted.load(Ordering::SeqCst), 1);
    assert!(std::ptr::addr_eq(
        Arc::as_ptr(greeter.as_arc()),
        Arc::as_ptr(english.as_arc())
    ));

    let graph = container.graph();
    let alias = graph
        .providers
        .iter()
        .find(|p| p.kind == ProviderKind::Alias)
        .unwrap();
    assert!(alias.type_name.contains("Greeter"));
    assert_eq!(alias.declared_by, "container::macros::English");
}

#[tokio::test]
async fn provides_with_a_name_names_the_trait_binding() {
    let graph = ContainerBuilder::new()
        .profile("fields")
        .config(json!({}))
        .discover()
        .validate()
        .unwrap();
    let stores: Vec<_> = graph
        .providers
        .iter()
        .filter(|p| p.type_name.contains("Store"))
        .collect();
    let named: Vec<(&str, Option<&str>)> = stores
        .iter()
        .map(|p| (p.type_name.rsplit("::").next().unwrap(), p.name.as_deref()))
        .collect();
    assert!(named.contains(&("PrimaryStore", None)), "{named:?}");
    assert!(named.contains(&("Store", Some("primary"))), "{named:?}");
    assert!(named.contains(&("Store", Some("backup"))), "{named:?}");
}

// ---------------------------------------------------------------------------------------------
// Scopes and laziness.

static NEXT_TICKET: AtomicU32 = AtomicU32::new(0);

#[injectable(profile = "scopes", scope = "transient")]
struct Ticket {
    #[inject(value = NEXT_TICKET.fetch_add(1, Ordering::SeqCst))]
    number: u32,
}

#[injectable(profile = "scopes", scope = "request")]
struct RequestContext {
    ticket: Inject<Ticket>,
}

#[derive(Debug)]
struct RequestId(u32);

static NEXT_REQUEST: AtomicU32 = AtomicU32::new(100);

#[provider(profile = "scopes", scope = "request")]
async fn request_id() -> RequestId {
    RequestId(NEXT_REQUEST.fetch_add(1, Ordering::SeqCst))
}

#[tokio::test]
async fn transients_are_new_on_every_resolve() {
    let container = ContainerBuilder::new()
        .profile("scopes")
        .discover()
        .build()
        .await
        .unwrap();
    let a = container.get::<Ticket>().unwrap();
    let b = container.get::<Ticket>().unwrap();
    assert!(!Inject::ptr_eq(&a, &b));
    assert_ne!(a.number, b.number);
    assert_eq!(
        container
            .graph()
            .providers
            .iter()
            .find(|p| p.type_name.ends_with("::Ticket"))
            .unwrap()
            .scope,
        Scope::Transient
    );
}

#[tokio::test]
async fn request_scoped_values_live_as_long_as_their_scope() {
    let container = ContainerBuilder::new()
        .profile("scopes")
        .discover()
        .build()
        .await
        .unwrap();
    assert!(matches!(
        container.get::<RequestContext>(),
        Err(Error::RequestScopeRequired { .. })
    ));

    let first = container.scope();
    let second = container.scope();
    let a = first.get::<RequestContext>().unwrap();
    assert!(Inject::ptr_eq(&a, &first.get::<RequestContext>().unwrap()));
    let b = second.get::<RequestContext>().unwrap();
    assert!(!Inject::ptr_eq(&a, &b));
    assert_ne!(
        a.ticket.number, b.ticket.number,
        "each request context got its own transient ticket"
    );

    let id = first.resolve::<RequestId>().await.unwrap();
    assert_eq!(id.0, first.resolve::<RequestId>().await.unwrap().0);
    assert_ne!(id.0, second.resolve::<RequestId>().await.unwrap().0);
}

static HEAVY_CREATED: AtomicU32 = AtomicU32::new(0);
static EAGER_CREATED: AtomicU32 = AtomicU32::new(0);

#[injectable(profile = "lazy", lazy)]
struct Heavy {
    #[inject(value = HEAVY_CREATED.fetch_add(1, Ordering::SeqCst) + 1)]
    generation: u32,
}

#[injectable(profile = "lazy")]
struct Eager {
    #[inject(value = EAGER_CREATED.fetch_add(1, Ordering::SeqCst) + 1)]
    generation: u32,
}

#[tokio::test]
async fn lazy_singletons_are_created_on_first_use() {
    let container = ContainerBuilder::new()
        .profile("lazy")
        .discover()
        .build()
        .await
        .unwrap();
    assert_eq!(
        EAGER_CREATED.load(Ordering::SeqCst),
        1,
        "eager singletons are made at build time"
    );
    assert_eq!(HEAVY_CREATED.load(Ordering::SeqCst), 0, "lazy ones are not");
    assert!(
        container
            .graph()
            .providers
            .iter()
            .any(|p| p.type_name.ends_with("::Heavy") && p.lazy)
    );

    assert_eq!(container.get::<Heavy>().unwrap().generation, 1);
    assert_eq!(container.get::<Heavy>().unwrap().generation, 1);
    assert_eq!(HEAVY_CREATED.load(Ordering::SeqCst), 1);
    assert_eq!(container.get::<Eager>().unwrap().generation, 1);
}

// ---------------------------------------------------------------------------------------------
// Profiles and conditions.

#[injectable(profile = "!prod")]
struct DevMailbox;

#[injectable(profile = ["cond-a", "cond-b"])]
struct EitherProfile;

#[injectable(profile = "cond-a", profile = "cond-c")]
struct RepeatedProfile;

fn beta_enabled(env: &Env) -> bool {
    env.property("flags.beta") == Some("on")
}

#[injectable(when = beta_enabled)]
struct BetaFeature;

#[provider(when = |env| env.is_active("cond-closure"))]
fn closure_gated() -> EitherProfileMarker {
    EitherProfileMarker
}

struct EitherProfileMarker;

async fn has<T: Send + Sync + 'static>(builder: &mut ContainerBuilder) -> bool {
    builder
        .discover()
        .build()
        .await
        .unwrap()
        .contains(&Key::of::<T>())
}

#[tokio::test]
async fn negated_profiles_register_unless_the_profile_is_active() {
    assert!(has::<DevMailbox>(&mut ContainerBuilder::new()).await);
    assert!(has::<DevMailbox>(ContainerBuilder::new().profile("dev")).await);
    assert!(!has::<DevMailbox>(ContainerBuilder::new().profile("prod")).await);
}

#[tokio::test]
async fn any_listed_profile_registers() {
    assert!(!has::<EitherProfile>(&mut ContainerBuilder::new()).await);
    assert!(has::<EitherProfile>(ContainerBuilder::new().profile("cond-a")).await);
    assert!(has::<EitherProfile>(ContainerBuilder::new().profile("cond-b")).await);
    assert!(has::<RepeatedProfile>(ContainerBuilder::new().profile("cond-c")).await);
    assert!(!has::<RepeatedProfile>(ContainerBuilder::new().profile("cond-b")).await);
}

#[tokio::test]
async fn when_predicates_read_the_environment() {
    assert!(!has::<BetaFeature>(&mut ContainerBuilder::new()).await);
    assert!(!has::<BetaFeature>(ContainerBuilder::new().property("flags.beta", "off")).await);
    assert!(has::<BetaFeature>(ContainerBuilder::new().property("flags.beta", "on")).await);
    assert!(!has::<EitherProfileMarker>(&mut ContainerBuilder::new()).await);
    assert!(has::<EitherProfileMarker>(ContainerBuilder::new().profile("cond-closure")).await);
}

// ---------------------------------------------------------------------------------------------
// #[provider]: sync and async, fallible, trait objects, named.

#[derive(Debug)]
struct Settings {
    level: u32,
}

struct Database {
    level: u32,
}

struct Connection {
    level: u32,
}

#[provider(profile = "providers")]
fn settings() -> Settings {
    Settings { level: 3 }
}

#[provider(profile = "providers")]
async fn database(settings: Inject<Settings>) -> Result<Database, io::Error> {
    tokio::task::yield_now().await;
    Ok(Database {
        level: settings.level * 10,
    })
}

#[provider(profile = "providers", scope = "transient")]
fn connection(database: Inject<Database>) -> io::Result<Connection> {
    Ok(Connection {
        level: database.level + 1,
    })
}

#[provider(profile = "providers", name = "replica", lazy)]
async fn replica(settings: Inject<Settings>) -> Database {
    Database {
        level: settings.level,
    }
}

#[tokio::test]
async fn provider_fns_sync_and_async_are_called_with_their_arguments() {
    let container = ContainerBuilder::new()
        .profile("providers")
        .register::<settings>()
        .register::<database>()
        .register::<connection>()
        .register::<replica>()
        .build()
        .await
        .unwrap();
    // The async singleton was awaited at build time, so a plain `get` finds it.
    assert_eq!(container.get::<Database>().unwrap().level, 30);
    assert_eq!(container.get::<Connection>().unwrap().level, 31);
    assert_eq!(
        container
            .resolve_named::<Database>("replica")
            .await
            .unwrap()
            .level,
        3
    );

    let graph = container.graph();
    let database = graph
        .providers
        .iter()
        .find(|p| p.declared_by.ends_with("::database"))
        .unwrap();
    assert_eq!(database.kind, ProviderKind::Async);
    assert_eq!(database.dependencies[0].field.as_deref(), Some("settings"));
    let replica = graph
        .providers
        .iter()
        .find(|p| p.name.as_deref() == Some("replica"))
        .unwrap();
    assert!(replica.lazy);
    assert_eq!(replica.declared_by, "container::macros::replica");
}

struct Flaky;

#[provider(profile = "provider-error")]
async fn flaky() -> Result<Flaky, String> {
    Err("the database is unreachable".to_string())
}

const FALLIBLE_SYNC_LINE: u32 = line!() + 2;
#[provider(profile = "provider-error-sync")]
fn fallible_sync() -> io::Result<Flaky> {
    Err(io::Error::other("disk full"))
}

#[tokio::test]
async fn a_provider_error_fails_the_build_naming_the_function() {
    let error = ContainerBuilder::new()
        .profile("provider-error")
        .discover()
        .build()
        .await
        .err()
        .unwrap();
    let Error::Provider { provider, source } = &error else {
        panic!("expected a provider error, got {error}")
    };
    assert_eq!(provider.declared_by, "container::macros::flaky");
    assert!(provider.location.file.ends_with(THIS_FILE));
    assert_eq!(source.to_string(), "the database is unreachable");
    let message = error.to_string();
    assert!(message.contains("container::macros::flaky"), "{message}");
    assert!(message.contains("the database is unreachable"), "{message}");

    let error = ContainerBuilder::new()
        .profile("provider-error-sync")
        .discover()
        .build()
        .await
        .err()
        .unwrap();
    let Error::Provider { provider, source } = &error else {
        panic!("expected a provider error, got {error}")
    };
    assert_eq!(provider.declared_by, "container::macros::fallible_sync");
    assert_eq!(provider.location.line, FALLIBLE_SYNC_LINE);
    assert!(source.downcast_ref::<io::Error>().is_some());
}

trait TimeSource: Send + Sync {
    fn now(&self) -> u64;
}

struct Fixed(u64);

impl TimeSource for Fixed {
    fn now(&self) -> u64 {
        self.0
    }
}

#[provider(profile = "trait-objects")]
fn system_time() -> Arc<dyn TimeSource> {
    Arc::new(Fixed(1))
}

#[provider(profile = "trait-objects", name = "fixed")]
async fn fixed_time() -> Result<Inject<dyn TimeSource>, io::Error> {
    Ok(Inject::from_arc(Arc::new(Fixed(2))))
}

#[provider(profile = "trait-objects", name = "boxed")]
fn boxed_time() -> Box<dyn TimeSource> {
    Box::new(Fixed(3))
}

struct Timestamps {
    values: Vec<u64>,
    missing: bool,
}

#[provider(profile = "trait-objects")]
async fn timestamps(
    system: Inject<dyn TimeSource>,
    #[inject(name = "fixed")] fixed: Inject<dyn TimeSource>,
    #[inject(name = "boxed")] boxed: Option<Inject<dyn TimeSource>>,
    #[inject(name = "absent")] absent: Option<Inject<dyn TimeSource>>,
) -> Timestamps {
    let boxed = boxed.map_or(0, |b| b.now());
    Timestamps {
        values: vec![system.now(), fixed.now(), boxed],
        missing: absent.is_none(),
    }
}

#[tokio::test]
async fn trait_object_returns_provide_the_trait() {
    let container = ContainerBuilder::new()
        .profile("trait-objects")
        .discover()
        .build()
        .await
        .unwrap();
    assert_eq!(container.get::<dyn TimeSource>().unwrap().now(), 1);
    assert_eq!(
        container
            .get_named::<dyn TimeSource>("fixed")
            .unwrap()
            .now(),
        2
    );
    assert_eq!(
        container
            .get_named::<dyn TimeSource>("boxed")
            .unwrap()
            .now(),
        3
    );
    let timestamps = container.get::<Timestamps>().unwrap();
    assert_eq!(timestamps.values, [1, 2, 3]);
    assert!(timestamps.missing);
}

// ---------------------------------------------------------------------------------------------
// #[inject(config = "...")]

#[injectable(profile = "config")]
struct ServerConfig {
    #[inject(config = "server.port")]
    port: u16,
    #[inject(config = "server.host")]
    host: String,
}

#[derive(Debug, PartialEq)]
struct ServerUrl(String);

#[provider(profile = "config")]
async fn server_url(
    #[inject(config = "server.host")] host: String,
    #[inject(config = "server.tls")] tls: bool,
    server: Inject<ServerConfig>,
) -> ServerUrl {
    let scheme = if tls { "https" } else { "http" };
    ServerUrl(format!("{scheme}://{host}:{}", server.port))
}

fn config_error(error: &Error) -> (&str, &str, &str) {
    let Error::Provider { source, .. } = error else {
        panic!("expected a provider error, got {error}")
    };
    match source.downcast_ref::<Error>() {
        Some(Error::Config {
            key,
            problem,
            required_by,
        }) => (key.as_str(), problem.as_str(), required_by),
        _ => panic!("expected a config error, got {source}"),
    }
}

#[tokio::test]
async fn config_fields_read_the_bound_source() {
    let container = ContainerBuilder::new()
        .profile("config")
        .config(json!({ "server": { "port": 8080, "host": "example.com", "tls": true } }))
        .discover()
        .build()
        .await
        .unwrap();
    let server = container.get::<ServerConfig>().unwrap();
    assert_eq!((server.port, server.host.as_str()), (8080, "example.com"));
    assert_eq!(
        *container.get::<ServerUrl>().unwrap(),
        ServerUrl("https://example.com:8080".into())
    );
}

#[tokio::test]
async fn a_missing_config_key_names_the_key_and_the_type() {
    let error = ContainerBuilder::new()
        .profile("config")
        .config(json!({ "server": { "port": 8080, "tls": false } }))
        .discover()
        .build()
        .await
        .err()
        .unwrap();
    let (key, problem, required_by) = config_error(&error);
    assert_eq!((key, problem), ("server.host", "is missing"));
    assert!(
        required_by.ends_with("ServerConfig") || required_by.ends_with("ServerUrl"),
        "{required_by}"
    );
}

#[tokio::test]
async fn a_config_value_of_the_wrong_type_is_reported_without_the_value() {
    let error = ContainerBuilder::new()
        .profile("config")
        .config(json!({ "server": { "port": "eighty", "host": "secret-host", "tls": false } }))
        .discover()
        .build()
        .await
        .err()
        .unwrap();
    let (key, problem, _) = config_error(&error);
    assert_eq!(key, "server.port");
    assert_eq!(problem, "cannot be read as `u16` (found a string)");
    assert!(!error.to_string().contains("eighty"));
}

#[tokio::test]
async fn config_fields_without_a_source_fail_validation() {
    let error = ContainerBuilder::new()
        .profile("config")
        .discover()
        .build()
        .await
        .err()
        .unwrap();
    let missing: Vec<(&str, Option<&str>)> = error
        .graph_errors()
        .expect("a graph error")
        .iter()
        .filter_map(|e| match e {
            GraphError::MissingProvider {
                dependency,
                required_by,
                field,
                ..
            } => {
                assert!(dependency.type_name().contains("ConfigSource"));
                Some((required_by.declared_by.rsplit("::").next().unwrap(), *field))
            }
            _ => None,
        })
        .collect();
    assert!(
        missing.contains(&("ServerConfig", Some("port"))),
        "{missing:?}"
    );
    assert!(
        missing.contains(&("ServerConfig", Some("host"))),
        "{missing:?}"
    );
    assert!(
        missing.contains(&("server_url", Some("tls"))),
        "{missing:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// OnShutdown, hooked up automatically.

#[injectable(profile = "shutdown")]
struct Pool {
    #[inject(default)]
    closed: AtomicBool,
}

impl OnShutdown for Pool {
    async fn on_shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

struct Journal {
    flushed: AtomicBool,
}

impl OnShutdown for Journal {
    async fn on_shutdown(&self) {
        self.flushed.store(true, Ordering::SeqCst);
    }
}

#[provider(profile = "shutdown")]
fn journal(_pool: Inject<Pool>) -> Journal {
    Journal {
        flushed: AtomicBool::new(false),
    }
}

#[injectable(profile = "shutdown")]
struct NoHook;

#[tokio::test]
async fn on_shutdown_impls_are_hooked_up() {
    let container = ContainerBuilder::new()
        .profile("shutdown")
        .discover()
        .build()
        .await
        .unwrap();
    let pool = container.get::<Pool>().unwrap();
    let journal = container.get::<Journal>().unwrap();
    assert!(container.get::<NoHook>().is_ok());

    let report = container.shutdown().await;
    assert!(pool.closed.load(Ordering::SeqCst));
    assert!(journal.flushed.load(Ordering::SeqCst));
    // Reverse creation order: the journal (which depends on the pool) goes first.
    assert_eq!(report.completed.len(), 2, "{report:?}");
    assert!(report.completed[0].ends_with("Journal"), "{report:?}");
    assert!(report.completed[1].ends_with("Pool"), "{report:?}");
}

// ---------------------------------------------------------------------------------------------
// Graph errors name where the macros were used.

/// Never bound.
#[allow(dead_code)]
struct Unbound;

const ORPHAN_LINE: u32 = line!() + 3;
#[injectable(profile = "graph-missing")]
#[allow(dead_code)]
struct Orphan {
    parent: Inject<Unbound>,
}

struct OrphanOutput;

const ORPHAN_FN_LINE: u32 = line!() + 2;
#[provider(profile = "graph-missing")]
fn orphan_fn(#[inject(name = "mother")] _parent: Inject<Unbound>) -> OrphanOutput {
    OrphanOutput
}

#[tokio::test]
async fn a_missing_provider_names_the_declaring_struct_and_line() {
    let error = ContainerBuilder::new()
        .profile("graph-missing")
        .discover()
        .build()
        .await
        .err()
        .unwrap();
    let errors = error.graph_errors().expect("a graph error");
    assert_eq!(errors.len(), 2, "{error}");
    let missing = |declared_by: &str| {
        errors
            .iter()
            .find_map(|e| match e {
                GraphError::MissingProvider {
                    dependency,
                    required_by,
                    field,
                    ..
                } if required_by.declared_by == declared_by => {
                    Some((dependency.clone(), required_by.location, *field))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("no missing provider reported for {declared_by}: {error}"))
    };

    let (dependency, location, field) = missing("container::macros::Orphan");
    assert_eq!(dependency, Key::of::<Unbound>());
    assert!(location.file.ends_with(THIS_FILE), "{location}");
    assert_eq!(location.line, ORPHAN_LINE);
    assert_eq!(field, Some("parent"));

    let (dependency, location, field) = missing("container::macros::orphan_fn");
    assert_eq!(dependency, Key::of::<Unbound>().with_name("mother"));
    assert!(location.file.ends_with(THIS_FILE), "{location}");
    assert_eq!(location.line, ORPHAN_FN_LINE);
    assert_eq!(field, Some("_parent"));

    let message = error.to_string();
    assert!(
        message.contains(&format!("{THIS_FILE}:{ORPHAN_LINE}")),
        "{message}"
    );
}

const CHICKEN_LINE: u32 = line!() + 3;
#[injectable(profile = "graph-cycle")]
#[allow(dead_code)]
struct Chicken {
    egg: Inject<Egg>,
}

const EGG_LINE: u32 = line!() + 3;
#[injectable(profile = "graph-cycle")]
#[allow(dead_code)]
struct Egg {
    chicken: Inject<Chicken>,
}

#[tokio::test]
async fn a_cycle_names_every_struct_on_it() {
    let error = ContainerBuilder::new()
        .profile("graph-cycle")
        .discover()
        .build()
        .await
        .err()
        .unwrap();
    let errors = error.graph_errors().expect("a graph error");
    let [GraphError::Cycle { path }] = errors else {
        panic!("{error}")
    };
    let mut lines: Vec<u32> = path.iter().map(|p| p.location.line).collect();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines, [CHICKEN_LINE, EGG_LINE]);
    let message = error.to_string();
    assert!(
        message.contains(&format!("{THIS_FILE}:{CHICKEN_LINE}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("{THIS_FILE}:{EGG_LINE}")),
        "{message}"
    );
}

const LONG_LIVED_LINE: u32 = line!() + 3;
#[injectable(profile = "graph-scope")]
#[allow(dead_code)]
struct LongLived {
    short: Inject<ShortLived>,
}

const SHORT_LIVED_LINE: u32 = line!() + 2;
#[injectable(profile = "graph-scope", scope = "request")]
struct ShortLived;

#[tokio::test]
async fn a_scope_violation_names_both_structs() {
    let error = ContainerBuilder::new()
        .profile("graph-scope")
        .discover()
        .build()
        .await
        .err()
        .unwrap();
    let errors = error.graph_errors().expect("a graph error");
    let [
        GraphError::ScopeViolation {
            provider,
            provider_scope,
            dependency,
            dependency_scope,
            field,
        },
    ] = errors
    else {
        panic!("{error}")
    };
    assert_eq!(
        (*provider_scope, *dependency_scope),
        (Scope::Singleton, Scope::Request)
    );
    assert_eq!(provider.location.line, LONG_LIVED_LINE);
    assert_eq!(dependency.location.line, SHORT_LIVED_LINE);
    assert!(dependency.location.file.ends_with(THIS_FILE));
    assert_eq!(*field, Some("short"));
}
