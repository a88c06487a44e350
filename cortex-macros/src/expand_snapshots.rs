//! What each macro turns a user's code into: the input and its pretty-printed expansion, one
//! snapshot file per case in `src/snapshots/`, reviewed like any other source change (how: the
//! crate docs, "What the macros expand to").
//!
//! The expansions use the runtime paths this crate's tests see (`::cortex_di`, `::cortex_core`,
//! `::cortex_events`); an app on the facade gets `::cortex::di`,
//! `::cortex::__private::cortex_core` and `::cortex::events` in their place.

use proc_macro2::{TokenStream, TokenTree};

use crate::{controller, event_derive, event_handler, injectable, main_fn, provider_fn, routes};

/// Asserts the snapshot of `source` (an item under a Cortex attribute) expanded as the compiler
/// expands it, named after the test.
macro_rules! assert_expansion {
    ($source:expr) => {
        assert_shown!(shown($source, Expand::Strict))
    };
}

/// Asserts a snapshot named after the test, without insta's `expression:` header: the input is
/// in the snapshot itself, as the user writes it.
macro_rules! assert_shown {
    ($shown:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_omit_expression(true);
        let _settings = settings.bind_to_scope();
        insta::assert_snapshot!($shown);
    }};
}

/// Whether an error fails the test (`Strict`) or is shown as the compiler gets it (`AsCompiled`);
/// `#[cortex::main]` expands in a package without a library unless `InPackageWithLibrary`.
#[derive(Clone, Copy)]
enum Expand {
    Strict,
    AsCompiled,
    InPackageWithLibrary(&'static str),
}

/// `source` as written, then the pretty-printed expansion of its first attribute.
fn shown(source: &str, mode: Expand) -> String {
    let source = dedent(source);
    let (name, attr, item) = split_attribute(&source);
    let expansion = match (name.as_str(), mode) {
        ("injectable", Expand::Strict) => injectable::try_expand(attr, item),
        ("provider", Expand::Strict) => provider_fn::try_expand(attr, item),
        ("controller", Expand::Strict) => controller::try_expand(attr, item),
        ("routes", Expand::Strict) => routes::try_expand(attr, item),
        ("cortex::main", Expand::Strict) => main_fn::try_expand(attr, item, None),
        ("event_handler", Expand::Strict) => event_handler::try_expand_fn(attr, item),
        ("event_handlers", Expand::Strict) => event_handler::try_expand_impl(attr, item),
        ("cortex::main", Expand::InPackageWithLibrary(library)) => {
            main_fn::try_expand(attr, item, Some(&quote::format_ident!("{library}")))
        }
        ("injectable", Expand::AsCompiled) => Ok(injectable::expand(attr, item)),
        ("provider", Expand::AsCompiled) => Ok(provider_fn::expand(attr, item)),
        ("controller", Expand::AsCompiled) => Ok(controller::expand(attr, item)),
        ("routes", Expand::AsCompiled) => Ok(routes::expand(attr, item)),
        ("cortex::main", Expand::AsCompiled) => Ok(main_fn::expand(attr, item, None)),
        ("event_handler", Expand::AsCompiled) => Ok(event_handler::expand_fn(attr, item)),
        (other, _) => panic!("no macro `{other}` in this crate"),
    }
    .unwrap_or_else(|e| panic!("`{name}` fails on\n{source}\n: {e}"));
    format!(
        "// The user writes:\n\n{source}\n\n// and #[{name}] expands it to:\n\n{}",
        pretty(expansion)
    )
}

/// `source` (an item under `#[derive(Event)]`) as written, then the impl the derive adds.
fn shown_derive(source: &str) -> String {
    let source = dedent(source);
    let expansion = event_derive::try_expand(source.parse().expect("the case tokenizes"))
        .unwrap_or_else(|e| panic!("`derive(Event)` fails on\n{source}\n: {e}"));
    format!(
        "// The user writes:\n\n{source}\n\n// and #[derive(Event)] adds:\n\n{}",
        pretty(expansion)
    )
}

/// Splits `#[name(args)] item` into the macro's name, its arguments and the item, as the compiler
/// hands them to an attribute macro.
fn split_attribute(source: &str) -> (String, TokenStream, TokenStream) {
    let tokens: Vec<TokenTree> = source
        .parse::<TokenStream>()
        .expect("the case tokenizes")
        .into_iter()
        .collect();
    let attribute = match &tokens[..] {
        [TokenTree::Punct(hash), TokenTree::Group(attribute), ..] if hash.as_char() == '#' => {
            attribute.stream()
        }
        _ => panic!("a case starts with the attribute under test:\n{source}"),
    };
    let item = tokens[2..].iter().cloned().collect();
    let (path, args) = match syn::parse2::<syn::Meta>(attribute).expect("an attribute") {
        syn::Meta::Path(path) => (path, TokenStream::new()),
        syn::Meta::List(list) => (list.path, list.tokens),
        syn::Meta::NameValue(_) => panic!("an attribute macro takes a list"),
    };
    let name = path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::");
    (name, args, item)
}

/// Removes the indentation the cases share, and the blank lines around them.
fn dedent(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim_matches('\n')
        .to_string()
}

fn pretty(tokens: TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens.clone())
        .unwrap_or_else(|e| panic!("not a list of items ({e}):\n{tokens}"));
    prettyplease::unparse(&file)
}

#[test]
fn injectable_singleton_with_dependencies() {
    assert_expansion!(
        r#"
        #[injectable]
        pub struct UserService {
            repo: Inject<UserRepository>,
            #[inject(name = "primary")]
            db: Inject<Pool>,
            mailer: Option<Inject<dyn Mailer>>,
        }
        "#
    );
}

#[test]
fn injectable_request_scope() {
    assert_expansion!(
        r#"
        #[injectable(scope = "request")]
        pub struct Audit {
            users: Inject<UserService>,
        }
        "#
    );
}

#[test]
fn injectable_transient_unit_struct() {
    assert_expansion!(
        r#"
        #[injectable(scope = "transient")]
        pub struct RequestId;
        "#
    );
}

#[test]
fn injectable_config_default_and_value_fields() {
    assert_expansion!(
        r#"
        #[injectable]
        pub struct Smtp {
            #[inject(config = "mail.host")]
            host: String,
            #[inject(default)]
            sent: AtomicU64,
            #[inject(value = Duration::from_secs(5))]
            timeout: Duration,
        }
        "#
    );
}

/// Lifecycle hooks take no option: every expansion probes for `OnStart`, `OnReady`, `OnShutdown`
/// and `OnScopeEnd` impls (`attach_start`, `attach_ready`, `attach_shutdown`, `attach_scope_end`).
#[test]
fn injectable_with_every_option_and_the_hook_probes() {
    assert_expansion!(
        r#"
        #[injectable(
            provides = dyn Mailer,
            name = "smtp",
            lazy,
            profile = ["dev", "!prod"],
            when = flags::mail_enabled,
        )]
        pub struct Smtp {
            #[inject(config = "mail.host")]
            host: String,
        }
        "#
    );
}

#[test]
fn injectable_with_a_crate_path() {
    assert_expansion!(
        r#"
        #[injectable(crate = "::my_facade::di")]
        struct Clock;
        "#
    );
}

#[test]
fn provider_sync_fn() {
    assert_expansion!(
        r#"
        #[provider]
        pub fn client(
            #[inject(config = "http.base_url")] base_url: String,
            cache: Option<Inject<Cache>>,
        ) -> Client {
            Client::new(base_url, cache)
        }
        "#
    );
}

#[test]
fn provider_async_fn_returning_a_result() {
    assert_expansion!(
        r#"
        #[provider(scope = "transient")]
        async fn pool(
            #[inject(config = "db.url")] url: String,
            metrics: Inject<Metrics>,
            #[inject(name = "replica")] replica: Option<Inject<Pool>>,
        ) -> anyhow::Result<Pool> {
            Pool::connect(&url, metrics, replica).await
        }
        "#
    );
}

#[test]
fn provider_of_a_named_trait_object() {
    assert_expansion!(
        r#"
        #[provider(name = "fixed", lazy, profile = "test")]
        fn clock(#[inject(name = "utc")] zone: Inject<Zone>) -> Arc<dyn Clock> {
            Arc::new(Fixed(zone))
        }
        "#
    );
}

#[test]
fn provider_async_fn_returning_a_boxed_trait_object_in_a_result() {
    assert_expansion!(
        r#"
        #[provider]
        async fn mailer(#[inject(default)] retries: u32) -> Result<Box<dyn Mailer>, MailError> {
            Smtp::connect(retries).await
        }
        "#
    );
}

/// `Arc`, `Box` and `Inject` provide what they point to, also inside a `Result`.
#[test]
fn provider_returning_an_inject_in_a_result() {
    assert_expansion!(
        r#"
        #[provider]
        fn mailer() -> Result<Inject<dyn Mailer>, MailError> {
            Ok(Inject::from_arc(Arc::new(Smtp)))
        }
        "#
    );
}

#[test]
fn provider_async_fn_returning_a_box() {
    assert_expansion!(
        r#"
        #[provider]
        async fn mailer() -> Box<dyn Mailer> {
            Box::new(Smtp::connect().await)
        }
        "#
    );
}

/// Any type named `Result` is a result: `io::Result<T>` provides `T`.
#[test]
fn provider_returning_an_io_result() {
    assert_expansion!(
        r#"
        #[provider(when = files::enabled, crate = "::cortex::di")]
        fn file() -> std::io::Result<File> {
            File::open("data.bin")
        }
        "#
    );
}

#[test]
fn controller_with_dependencies() {
    assert_expansion!(
        r#"
        #[controller("/users")]
        pub struct UserController {
            users: Inject<UserService>,
        }
        "#
    );
}

#[test]
fn controller_with_guards_middleware_and_options() {
    assert_expansion!(
        r#"
        #[controller("/admin", profile = "dev")]
        #[guard(RequireRole("admin"))]
        #[guard(inject = ApiKeyGuard)]
        #[middleware(audit_layer())]
        #[middleware(TimeoutLayer::new(Duration::from_secs(5)))]
        pub struct AdminController;
        "#
    );
}

/// `#[public]` on the struct: `const PUBLIC`, which each of its routes reads.
#[test]
fn controller_public() {
    assert_expansion!(
        r#"
        #[controller("/auth")]
        #[public]
        pub struct AuthController;
        "#
    );
}

/// `#[public]` on a route: `.public()` on it, whatever its controller says; the inputs listed
/// without what the container provides.
#[test]
fn routes_public_route_and_inputs() {
    assert_expansion!(
        r#"
        #[routes]
        impl AuthController {
            #[post("/login")]
            #[public]
            async fn login(&self, tokens: Inject<Tokens>, body: Valid<Json<Login>>) -> Json<Token> {
                Json(tokens.issue(body.into_inner()))
            }
        }
        "#
    );
}

#[test]
fn routes_verbs_path_params_and_docs() {
    assert_expansion!(
        r#"
        #[routes]
        impl UserController {
            /// List users, newest first.
            ///
            /// At most 100 per page.
            #[get("/")]
            async fn list(&self, Query(page): Query<Page>) -> Json<Vec<User>> {
                Json(self.users.list(page))
            }

            /// Show one user.
            #[get("/{id}")]
            async fn show(&self, Path(id): Path<u64>) -> Result<Json<User>, HttpError> {
                self.users.find(id).map(Json)
            }

            #[post("/")]
            async fn create(&self, Json(body): Json<NewUser>) -> Result<Created<User>, HttpError> {
                self.users.create(body)
            }

            #[put("/{id}")]
            async fn replace(&self, Path(id): Path<u64>, Json(body): Json<NewUser>) -> StatusCode {
                self.users.replace(id, body)
            }

            #[delete("/{id}")]
            async fn remove(&self, Path(id): Path<u64>) -> StatusCode {
                self.users.remove(id)
            }

            #[route(PATCH, "/{id}/name")]
            async fn rename(&self, Path(id): Path<u64>, name: String) -> StatusCode {
                self.users.rename(id, name)
            }

            fn helper(&self) {}
        }
        "#
    );
}

#[test]
fn routes_guards_middleware_and_injected_arguments() {
    assert_expansion!(
        r#"
        #[routes]
        impl AdminController {
            #[post("/users/{id}/ban")]
            #[guard(RequireRole("admin"))]
            #[guard(inject = ApiKeyGuard)]
            #[middleware(audit_layer())]
            async fn ban(&self, audit: Inject<Audit>, Path(id): Path<u64>) -> StatusCode {
                audit.record(id);
                StatusCode::NO_CONTENT
            }
        }
        "#
    );
}

/// Without `&self` anywhere, the controller is not resolved.
#[test]
fn routes_handler_without_arguments_or_self() {
    assert_expansion!(
        r#"
        #[routes]
        impl HealthController {
            #[get("/ping")]
            async fn ping() -> &'static str {
                "pong"
            }
        }
        "#
    );
}

#[test]
fn routes_handlers_with_only_self() {
    assert_expansion!(
        r#"
        #[routes]
        impl HealthController {
            #[get("/version")]
            async fn version(&self) -> String {
                self.version.clone()
            }

            #[head("/")]
            fn head(&self) -> impl IntoResponse {
                StatusCode::OK
            }
        }
        "#
    );
}

#[test]
fn main_returning_a_result() {
    assert_expansion!(
        r#"
        #[cortex::main]
        async fn main() -> cortex::Result<()> {
            App::from_config()?.discover().run().await
        }
        "#
    );
}

#[test]
fn main_returning_nothing() {
    assert_expansion!(
        r#"
        #[cortex::main]
        /// Serves the app.
        pub async fn main() {
            serve().await;
        }
        "#
    );
}

/// A binary next to a `src/lib.rs` names the library, so that its components are linked.
#[test]
fn main_in_a_package_with_a_library() {
    assert_shown!(shown(
        r#"
        #[cortex::main]
        async fn main() -> cortex::Result<()> {
            App::from_config()?.discover().run().await
        }
        "#,
        Expand::InPackageWithLibrary("blog"),
    ));
}

/// On errors the item is still emitted, without its helper attributes, so that its uses add no
/// "cannot find" errors of their own; `main` is replaced by an empty one.
#[test]
fn errors_keep_the_item() {
    let cases = [
        r#"
        #[injectable]
        struct S {
            #[inject(default)]
            a: u8,
            b: Config,
        }
        "#,
        r#"
        #[provider]
        fn make(#[inject(name = "x")] a: u8) {}
        "#,
        r#"
        #[controller("users")]
        #[guard(Admin)]
        struct Users {
            #[inject(default)]
            a: u8,
        }
        "#,
        r#"
        #[routes(prefix = "/users")]
        impl Users {
            #[get("/{id}")]
            async fn show(&self) {}
        }
        "#,
        r#"
        #[cortex::main]
        fn main() {}
        "#,
        r#"
        #[event_handler(retrys = 3)]
        async fn welcome(#[inject(name = "smtp")] mailer: Inject<Mailer>) {}
        "#,
    ];
    let shown: Vec<String> = cases
        .iter()
        .map(|source| shown(source, Expand::AsCompiled))
        .collect();
    assert_shown!(shown.join("\n"));
}

#[test]
fn derive_event_with_a_topic() {
    assert_shown!(shown_derive(
        r#"
        #[derive(Event, Serialize, Deserialize)]
        #[event(topic = "user.created")]
        pub struct UserCreated {
            pub id: u64,
        }
        "#
    ));
}

#[test]
fn derive_event_on_a_generic_enum() {
    assert_shown!(shown_derive(
        r#"
        #[derive(Event, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        #[event(topic = "audit.changed")]
        enum Changed<T: Clone> {
            Created { value: T },
            Deleted,
        }
        "#
    ));
}

#[test]
fn event_handler_with_dependencies() {
    assert_expansion!(
        r#"
        #[event_handler]
        async fn welcome(
            user: Envelope<UserCreated>,
            mailer: Inject<Mailer>,
            #[inject(name = "audit")] log: Option<Inject<dyn AuditLog>>,
        ) -> anyhow::Result<()> {
            mailer.send(&user.email).await?;
            Ok(())
        }
        "#
    );
}

#[test]
fn event_handler_with_every_option() {
    assert_expansion!(
        r#"
        #[event_handler(
            "order.#",
            priority = -5,
            retries = 5,
            capacity = 100,
            overflow = "drop_oldest",
            filter = checks::large,
            name = "audit_orders",
        )]
        async fn audit(event: Envelope<Json>) {}
        "#
    );
}

#[test]
fn event_handlers_on_methods() {
    assert_expansion!(
        r#"
        #[event_handlers]
        impl OrderService {
            #[event_handler(priority = 10)]
            async fn reserve(&self, order: Envelope<OrderPlaced>, stock: Inject<Stock>) -> Result<(), StockError> {
                stock.reserve(order.id).await
            }

            #[event_handler("order.*")]
            async fn count(order: Envelope<Json>) {}

            fn helper(&self) {}
        }
        "#
    );
}
