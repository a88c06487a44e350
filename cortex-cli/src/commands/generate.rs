//! `cortex generate` (`cortex g`): controllers (with fields: a CRUD slice on an in-memory store,
//! with a test), services, middleware and plugins, written into the app and declared in its
//! modules. Nothing is overwritten without `--force`; `--dry-run` prints instead of writing.
//!
//! Where things go:
//!
//! | kind | files | declared in |
//! | --- | --- | --- |
//! | `controller posts` | `src/controllers/posts.rs`, `tests/posts.rs` | `src/controllers/mod.rs` |
//! | `controller posts title:string` | the above, plus `src/services/post_store.rs` | and `src/services/mod.rs` |
//! | `service mailer` | `src/services/mailer.rs` | `src/services/mod.rs` |
//! | `middleware timing` | `src/middleware/timing.rs` | `src/middleware/mod.rs` |
//! | `plugin metrics` | `src/plugins/metrics.rs` | `src/plugins/mod.rs` |
//! | `migration create_posts` | `migrations/<timestamp>_create_posts.up.sql` and `.down.sql` (as `cortex db create`) | |
//! | `model post title:string` | `src/models/post.rs` (`#[derive(Model)]`), `migrations/<timestamp>_create_posts.{sqlite,postgres,mysql}.up.sql` and `.down.sql` | `src/models/mod.rs`; `app_migrations!("migrations")` in `src/lib.rs` when the app has none |
//! | `resource posts title:string` | the model's files, plus `src/controllers/posts.rs` (on `Repo<Post>`) and `tests/posts.rs` | and `src/controllers/mod.rs` |
//! | `auth` | `src/models/user.rs`, `migrations/<timestamp>_create_users.{sqlite,postgres,mysql}.up.sql` and `.down.sql`, `src/controllers/auth.rs`, `tests/auth.rs` | `src/models/mod.rs`, `src/controllers/mod.rs`; the `auth` feature on `cortex` in `Cargo.toml`; `[auth.jwt]` in `cortex.toml` |
//! | `plugin metrics --crate` | `crates/metrics/{Cargo.toml, src/lib.rs, tests/plugin.rs}` | `Cargo.toml` (a path dependency, and a `[workspace]` member when the app has a workspace), `src/lib.rs` (`use metrics as _;`, so `App::discover()` applies it) |
//!
//! A `mod.rs` that does not exist is created and declared in `src/lib.rs`. Models and resources
//! (and `auth`) need the data layer: the app's `cortex` dependency has the `data` (or `sqlite`, `postgres`,
//! `mysql`) feature.

use serde::Serialize;

use crate::cli::{GenerateArgs, GenerateKind};
use crate::error::{CliError, Result};
use crate::fields::{self, Field, Target};
use crate::names::Name;
use crate::project::Project;
use crate::scaffold::Plan;
use crate::template::{render_generator, rustfmt};
use crate::ui::Ui;

/// The variables the generator templates use.
#[derive(Debug, Clone, Serialize)]
struct Context {
    crate_name: String,
    /// The name as given, snake_case (`blog_posts`).
    snake: String,
    /// PascalCase (`BlogPosts`).
    pascal: String,
    /// The module of a controller: snake_case plural (`blog_posts`).
    module: String,
    /// The URL path: kebab-case plural (`blog-posts`).
    path: String,
    /// Words, singular (`blog post`), and plural (`blog posts`).
    words: String,
    plural_words: String,
    /// The first word capitalised, singular (`Blog post`).
    title: String,
    /// Types of a CRUD slice (`BlogPost`, `BlogPostInput`, `BlogPostStore`, `BlogPostController`).
    model: String,
    input: String,
    store: String,
    store_module: String,
    controller: String,
    fields: Vec<Field>,
    /// A model's module (`blog_post`), table (`blog_posts`), request bodies (`NewBlogPost`,
    /// `BlogPostChanges`) and list page (`BlogPostPage`).
    model_module: String,
    table: String,
    new_input: String,
    changes: String,
    page: String,
    /// The migration creating the table (`20261207120000_create_blog_posts`), when generated.
    migration: String,
    /// Whether a field is a `datetime` / a `uuid` (the model imports the type).
    has_datetime: bool,
    has_uuid: bool,
}

impl Context {
    fn new(project: &Project, name: &Name, fields: Vec<Field>) -> Self {
        let singular = name.singular();
        let model = singular.pascal();
        let words = singular.snake().replace('_', " ");
        let plural_words = crate::names::plural(&words);
        let module = crate::names::plural(name.snake());
        let mut title = words.clone();
        if let Some(first) = title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        Self {
            crate_name: project.name().replace('-', "_"),
            snake: name.snake().to_string(),
            pascal: name.pascal(),
            module,
            path: name.path(),
            words,
            plural_words,
            title,
            input: format!("{model}Input"),
            store: format!("{model}Store"),
            store_module: format!("{}_store", singular.snake()),
            controller: format!("{model}Controller"),
            model_module: singular.snake().to_string(),
            table: crate::names::plural(singular.snake()),
            new_input: format!("New{model}"),
            changes: format!("{model}Changes"),
            page: format!("{model}Page"),
            migration: String::new(),
            has_datetime: fields.iter().any(|f| f.kind == "datetime"),
            has_uuid: fields.iter().any(|f| f.kind == "uuid"),
            model,
            fields,
        }
    }
}

/// Runs `cortex generate`.
pub fn run(args: GenerateArgs, ui: &Ui) -> Result<()> {
    if args.kind != GenerateKind::EventHandler
        && let Some(flag) = [("--event", &args.event), ("--topic", &args.topic)]
            .iter()
            .find_map(|(flag, value)| value.is_some().then_some(*flag))
    {
        return Err(CliError::new(format!(
            "{flag} applies to an event handler; a `{}` takes none",
            kind_name(args.kind)
        ))
        .hint("leave it out, or generate an event handler: `cortex g event-handler send_welcome --event UserCreated --topic user.created`")
        .with_code(2));
    }
    let project = Project::find(args.path.as_deref())?;
    if args.kind == GenerateKind::Auth {
        return auth(&project, &args, ui);
    }
    let Some(raw_name) = args.name.as_deref() else {
        let kind = kind_name(args.kind);
        let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        return Err(CliError::new(format!("{article} {kind} needs a name"))
            .hint(format!("give it after the kind: `cortex g {kind} NAME`"))
            .with_code(2));
    };
    if args.kind == GenerateKind::Migration {
        return migration(&project, &args, raw_name, ui);
    }
    let name = Name::parse(raw_name)?;
    if args.kind == GenerateKind::EventHandler {
        return event_handler(&project, &args, &name, ui);
    }
    if matches!(args.kind, GenerateKind::Model | GenerateKind::Resource) {
        return model(&project, &args, raw_name, &name, ui);
    }
    if args.kind != GenerateKind::Controller && !args.fields.is_empty() {
        return Err(CliError::new(format!(
            "only controllers, models and resources take fields; `{}` was given with a `{}`",
            args.fields.join(" "),
            kind_name(args.kind)
        ))
        .hint("leave the fields out, or generate a controller, model or resource: `cortex g resource NAME field:type ...`")
        .with_code(2));
    }
    if args.as_crate && args.kind != GenerateKind::Plugin {
        return Err(CliError::new(format!(
            "--crate generates a plugin crate; a `{}` is generated into the app",
            kind_name(args.kind)
        ))
        .hint("leave out --crate, or generate a plugin: `cortex g plugin NAME --crate`")
        .with_code(2));
    }
    let fields = fields::parse(&args.fields, Target::Memory)?;
    let plan = if args.as_crate {
        plugin_crate(&project, &name, args.force)?
    } else {
        plan(&project, args.kind, &name, fields, args.force)?
    };
    if !args.dry_run {
        plan.apply()?;
    }
    plan.report(ui, args.dry_run);
    if args.dry_run {
        ui.note("(a dry run: nothing was written)");
    } else if args.as_crate {
        let kebab = name.snake().replace('_', "-");
        ui.note(format!(
            "the app depends on it (Cargo.toml) and links it (`use {} as _;` in src/lib.rs), so `App::discover()` applies it and `cortex plugins` lists it; test it with `cargo test` in crates/{kebab}",
            name.snake()
        ));
    } else if args.kind == GenerateKind::Plugin {
        ui.note(format!(
            "install it in src/main.rs: App::from_config()?.discover().plugin({}::plugins::{}::{})",
            project.name().replace('-', "_"),
            name.snake(),
            name.pascal()
        ));
    } else if args.kind == GenerateKind::Middleware {
        ui.note(format!(
            "apply it with #[middleware(cortex::axum::middleware::from_fn(crate::middleware::{0}::{0}))] on a controller or a route",
            name.snake()
        ));
    }
    Ok(())
}

/// `cortex generate migration NAME`: what `cortex db create NAME` does.
fn migration(project: &Project, args: &GenerateArgs, raw_name: &str, ui: &Ui) -> Result<()> {
    if !args.fields.is_empty() {
        return Err(CliError::new(format!(
            "only controllers, models and resources take fields; `{}` was given with a `migration`",
            args.fields.join(" ")
        ))
        .hint("leave the fields out and write the columns in the migration's SQL")
        .with_code(2));
    }
    if args.as_crate || args.force {
        return Err(CliError::new(format!(
            "{} does not apply to a migration: a new migration never overwrites one",
            if args.as_crate { "--crate" } else { "--force" }
        ))
        .hint("leave it out: `cortex g migration NAME`")
        .with_code(2));
    }
    let plan =
        crate::commands::db::migration_plan(project, raw_name, std::time::SystemTime::now())?;
    crate::commands::db::finish(project, &plan, args.dry_run, ui)
}

/// `cortex generate model|resource NAME field:type ...`: the model and the migration creating its
/// table, and for a resource its controller and test.
fn model(
    project: &Project,
    args: &GenerateArgs,
    raw_name: &str,
    name: &Name,
    ui: &Ui,
) -> Result<()> {
    let kind = kind_name(args.kind);
    if args.as_crate {
        return Err(CliError::new(format!(
            "--crate generates a plugin crate; a `{kind}` is generated into the app"
        ))
        .hint(format!(
            "leave out --crate: `cortex g {kind} NAME field:type ...`"
        ))
        .with_code(2));
    }
    let fields = fields::parse(&args.fields, Target::Model)?;
    if fields.is_empty() {
        return Err(CliError::new(format!("a {kind} needs at least one field"))
            .hint(format!(
                "give its fields as `name:type`: `cortex g {kind} {} title:string body:text?`; the types are {}",
                raw_name,
                fields::type_list()
            ))
            .with_code(2));
    }
    check_data_feature(project)?;
    let plan = model_plan(
        project,
        name,
        fields,
        args.kind == GenerateKind::Resource,
        args.force,
        std::time::SystemTime::now(),
    )?;
    if !args.dry_run {
        plan.apply()?;
        // The next build embeds the new migration (cargo does not watch the folder).
        for (file, _) in crate::commands::db::embedding_files(project) {
            crate::commands::db::touch(&file)?;
        }
    }
    plan.report(ui, args.dry_run);
    if args.dry_run {
        ui.note("(a dry run: nothing was written)");
    } else {
        ui.note(format!(
            "the app applies the migration when it starts (`[database] migrate = \"on_start\"`), or run `cortex db migrate`{}",
            if args.kind == GenerateKind::Resource {
                "; `cortex test` runs the new tests"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

/// The features of cortex that bring the data layer.
const DATA_FEATURES: [&str; 4] = ["data", "sqlite", "postgres", "mysql"];

/// Models need the data layer: the app's `cortex` dependency has one of [`DATA_FEATURES`].
fn check_data_feature(project: &Project) -> Result<()> {
    let manifest_path = project.dir().join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", manifest_path.display())))?;
    let table: toml::Table = manifest.parse().map_err(|e| {
        CliError::new(format!(
            "{} is not valid TOML: {e}",
            manifest_path.display()
        ))
    })?;
    let features: Vec<&str> = table
        .get("dependencies")
        .and_then(|d| d.get("cortex"))
        .and_then(|c| c.get("features"))
        .and_then(|f| f.as_array())
        .map(|f| f.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    if features.iter().any(|f| DATA_FEATURES.contains(f)) {
        return Ok(());
    }
    Err(CliError::new(format!(
        "the app does not use Cortex's data layer: its `cortex` dependency in {} has none of the features `data`, `sqlite`, `postgres`, `mysql`",
        manifest_path.display()
    ))
    .hint("add `features = [\"data\"]` to `cortex` in [dependencies] (SQLite; `postgres` or `mysql` for those), or generate an in-memory CRUD controller: `cortex g controller NAME field:type ...`")
    .with_code(2))
}

/// The files of a model (and, for a `resource`, its controller and test), the migration creating
/// its table (versioned by `now`), and `app_migrations!` in `src/lib.rs` when the app has none.
fn model_plan(
    project: &Project,
    name: &Name,
    fields: Vec<Field>,
    resource: bool,
    force: bool,
    now: std::time::SystemTime,
) -> Result<Plan> {
    let mut context = Context::new(project, name, fields);
    context.migration =
        crate::commands::db::migration_stem(project, &format!("create_{}", context.table), now)?;
    let rust = |template: &str, context: &Context| rust_in(project, template, context);
    let mut plan = Plan::new(project.dir());
    add_file(
        &mut plan,
        "models",
        &context.model_module.clone(),
        rust("model.rs", &context)?,
        force,
    )?;
    let dir = crate::commands::db::MIGRATIONS_DIR;
    let stem = context.migration.clone();
    for dialect in ["sqlite", "postgres", "mysql"] {
        let mut dialect_context = serde_json::to_value(&context)
            .map_err(|e| CliError::new(format!("cannot render the migration: {e}")))?;
        dialect_context["dialect"] = dialect.into();
        plan.create(
            format!("{dir}/{stem}.{dialect}.up.sql"),
            render_generator("create_table.up.sql", &dialect_context)?,
            false,
        )?;
    }
    plan.create(
        format!("{dir}/{stem}.down.sql"),
        render_generator("create_table.down.sql", &context)?,
        false,
    )?;
    if crate::commands::db::embedding_files(project).is_empty() {
        let Some(lib) = plan.text("src/lib.rs")? else {
            return Err(CliError::new("the app has no src/lib.rs to embed the migrations from")
                .hint("Cortex apps keep their code in a library (src/lib.rs) that src/main.rs links; create one"));
        };
        plan.update("src/lib.rs", embedding(&lib))?;
    }
    if resource {
        let module = context.module.clone();
        add_file(
            &mut plan,
            "controllers",
            &module,
            rust("resource_controller.rs", &context)?,
            force,
        )?;
        plan.create(
            format!("tests/{module}.rs"),
            rust("resource_test.rs", &context)?,
            force,
        )?;
    }
    Ok(plan)
}

/// `lib` (the app's src/lib.rs) with `cortex::data::app_migrations!("migrations");` at the end.
fn embedding(lib: &str) -> String {
    let mut text = lib.trim_end().to_string();
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str("// The migrations in migrations/, embedded in the binary: the data plugin applies them at start\n// (`[database] migrate = \"on_start\"`), and `cortex db migrate` runs them.\ncortex::data::app_migrations!(\"migrations\");\n");
    text
}

/// The changes generating `kind` `name` makes to `project`.
fn plan(
    project: &Project,
    kind: GenerateKind,
    name: &Name,
    fields: Vec<Field>,
    force: bool,
) -> Result<Plan> {
    let mut plan = Plan::new(project.dir());
    let context = Context::new(project, name, fields);
    let rust = |template: &str, context: &Context| rust_in(project, template, context);
    // A kind added to `GenerateKind` (in cli.rs) when its capability lands gets its arm here.
    match kind {
        GenerateKind::Controller if context.fields.is_empty() => {
            let module = name.snake().to_string();
            add_file(
                &mut plan,
                "controllers",
                &module,
                rust("controller.rs", &context)?,
                force,
            )?;
            plan.create(
                format!("tests/{module}.rs"),
                rust("controller_test.rs", &context)?,
                force,
            )?;
        }
        GenerateKind::Controller => {
            let module = context.module.clone();
            add_file(
                &mut plan,
                "controllers",
                &module,
                rust("crud_controller.rs", &context)?,
                force,
            )?;
            add_file(
                &mut plan,
                "services",
                &context.store_module.clone(),
                rust("crud_store.rs", &context)?,
                force,
            )?;
            plan.create(
                format!("tests/{module}.rs"),
                rust("crud_test.rs", &context)?,
                force,
            )?;
        }
        GenerateKind::Service => {
            add_file(
                &mut plan,
                "services",
                name.snake(),
                rust("service.rs", &context)?,
                force,
            )?;
        }
        GenerateKind::Middleware => {
            add_file(
                &mut plan,
                "middleware",
                name.snake(),
                rust("middleware.rs", &context)?,
                force,
            )?;
        }
        GenerateKind::Migration
        | GenerateKind::Model
        | GenerateKind::Resource
        | GenerateKind::Auth
        | GenerateKind::EventHandler => {
            unreachable!("generated by `migration`, `model`, `auth` and `event_handler`")
        }
        GenerateKind::Plugin => {
            add_file(
                &mut plan,
                "plugins",
                name.snake(),
                rust("plugin.rs", &context)?,
                force,
            )?;
        }
    }
    Ok(plan)
}

/// The variables of `cortex generate event-handler`'s templates.
#[derive(Debug, Clone, Serialize)]
struct EventHandlerContext {
    /// The handler's function (`send_welcome`) and its words (`send welcome`).
    snake: String,
    words: String,
    /// The event type (`UserCreated`), its module in `src/events/` (`user_created`), its words
    /// (`user created`) and topic (`user.created`).
    event: String,
    event_module: String,
    event_words: String,
    topic: String,
    /// Whether the event is written by this run (its fields are known: the test builds one).
    new_event: bool,
}

/// `cortex generate event-handler NAME [--event TYPE] [--topic TOPIC]`: the handler in
/// `src/handlers/`, the event in `src/events/` unless the app has it, the `events` feature.
fn event_handler(project: &Project, args: &GenerateArgs, name: &Name, ui: &Ui) -> Result<()> {
    if !args.fields.is_empty() {
        return Err(CliError::new(format!(
            "an event handler takes no fields; `{}` was given",
            args.fields.join(" ")
        ))
        .hint("give the event's fields in src/events/ once it is written: `cortex g event-handler send_welcome --event UserCreated`")
        .with_code(2));
    }
    if args.as_crate {
        return Err(CliError::new(
            "--crate generates a plugin crate; an event handler is generated into the app",
        )
        .hint("leave out --crate: `cortex g event-handler NAME`")
        .with_code(2));
    }
    let plan = event_handler_plan(
        project,
        name,
        args.event.as_deref(),
        args.topic.as_deref(),
        args.force,
    )?;
    if !args.dry_run {
        plan.apply()?;
    }
    plan.report(ui, args.dry_run);
    if args.dry_run {
        ui.note("(a dry run: nothing was written)");
    } else {
        ui.note(format!(
            "`App::discover()` subscribes it when the app starts; publish the event with an `Inject<EventBus>`: `bus.publish({} {{ .. }}).await?`",
            plan_event_name(&plan).unwrap_or_default()
        ));
    }
    Ok(())
}

/// The event type named in a plan's handler (for the note after generating).
fn plan_event_name(plan: &Plan) -> Option<String> {
    let handler = plan
        .changes()
        .iter()
        .find(|c| c.path.starts_with("src/handlers/") && !c.path.ends_with("mod.rs"))?;
    let at = handler.contents.find("Envelope<")? + "Envelope<".len();
    let rest = &handler.contents[at..];
    Some(rest[..rest.find('>')?].to_string())
}

/// What `cortex generate event-handler` writes.
fn event_handler_plan(
    project: &Project,
    name: &Name,
    event: Option<&str>,
    topic: Option<&str>,
    force: bool,
) -> Result<Plan> {
    let usage = |message: String| {
        CliError::new(message)
            .hint("`cortex g event-handler send_welcome --event UserCreated --topic user.created`")
            .with_code(2)
    };
    if let Some(topic) = topic
        && let Some(problem) = topic_problem(topic)
    {
        return Err(usage(format!(
            "`--topic {topic}` is not a topic: {problem}"
        )));
    }
    // The event's name: --event, else from the topic (`user.created` → `UserCreated`), else the
    // handler's name.
    let event_name = match (event, topic) {
        (Some(event), _) => Name::parse(event)?,
        (None, Some(topic)) => Name::parse(&topic.replace(['.', '-'], "_"))?,
        (None, None) => name.clone(),
    };
    let event_module = event_name.snake().to_string();
    let event_file = format!("src/events/{event_module}.rs");
    let new_event = !project.dir().join(&event_file).exists();
    if !new_event && topic.is_some() {
        return Err(usage(format!(
            "`{event_file}` exists: the event `{}` has its topic already; leave out --topic to reuse it, or name another event",
            event_name.pascal()
        )));
    }
    let context = EventHandlerContext {
        snake: name.snake().to_string(),
        words: name.snake().replace('_', " "),
        event: event_name.pascal(),
        event_words: event_module.replace('_', " "),
        topic: topic.map_or_else(|| event_module.replace('_', "."), str::to_string),
        event_module: event_module.clone(),
        new_event,
    };
    let rust = |template: &str| rust_in(project, template, &context);
    let mut plan = Plan::new(project.dir());
    if new_event {
        add_file(&mut plan, "events", &event_module, rust("event.rs")?, false)?;
    }
    add_file(
        &mut plan,
        "handlers",
        name.snake(),
        rust("event_handler.rs")?,
        force,
    )?;
    let manifest_path = project.dir().join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", manifest_path.display())))?;
    if let Some(edited) = with_cortex_feature(
        &manifest,
        "events",
        "[\"events\"]",
        "cortex g event-handler",
    )? {
        plan.update("Cargo.toml", edited)?;
    }
    Ok(plan)
}

/// What is wrong with `topic` as the topic an event is published on (the bus's rules: segments of
/// ASCII letters, digits, `_` and `-` separated by dots; no wildcards).
fn topic_problem(topic: &str) -> Option<String> {
    if topic.is_empty() {
        return Some("it is empty".into());
    }
    for segment in topic.split('.') {
        if segment.is_empty() {
            return Some("it has an empty segment; write segments separated by single dots, as `user.created`".into());
        }
        if let Some(c) = segment
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            let wildcards = if c == '*' || c == '#' {
                " (wildcards belong in a handler's pattern, not in an event's topic)"
            } else {
                ""
            };
            return Some(format!(
                "it contains `{c}`; segments are ASCII letters, digits, `_` and `-`{wildcards}"
            ));
        }
    }
    None
}

/// The variables of `cortex generate auth`'s templates.
#[derive(Debug, Clone, Serialize)]
struct AuthContext {
    crate_name: String,
    /// The migration creating `users` (`20261207120000_create_users`).
    migration: String,
    /// `sqlite`, `postgres` or `mysql`, for the migration's templates.
    dialect: &'static str,
}

/// The files `cortex generate auth` writes; one of them existing means it ran already.
const AUTH_FILES: [&str; 3] = [
    "src/controllers/auth.rs",
    "src/models/user.rs",
    "tests/auth.rs",
];

/// `cortex generate auth`: accounts on the data layer and `/auth` routes on `cortex::auth`.
fn auth(project: &Project, args: &GenerateArgs, ui: &Ui) -> Result<()> {
    let given: Vec<&str> = args
        .name
        .iter()
        .chain(&args.fields)
        .map(String::as_str)
        .collect();
    if !given.is_empty() {
        return Err(CliError::new(format!(
            "`auth` takes no name or fields; `{}` was given",
            given.join(" ")
        ))
        .hint("run `cortex g auth`: it writes the `users` table, its model and the /auth routes")
        .with_code(2));
    }
    if args.as_crate {
        return Err(CliError::new(
            "--crate generates a plugin crate; `auth` is generated into the app",
        )
        .hint("leave out --crate: `cortex g auth`")
        .with_code(2));
    }
    check_data_feature(project)?;
    let plan = auth_plan(project, args.force, std::time::SystemTime::now())?;
    if !args.dry_run {
        plan.apply()?;
        // The next build embeds the new migration (cargo does not watch the folder).
        for (file, _) in crate::commands::db::embedding_files(project) {
            crate::commands::db::touch(&file)?;
        }
    }
    plan.report(ui, args.dry_run);
    if args.dry_run {
        ui.note("(a dry run: nothing was written)");
    } else {
        ui.note("the app applies the migration when it starts, or run `cortex db migrate`; `cortex test` runs tests/auth.rs");
        ui.note("dev and test sign tokens with a key made at start; prod needs one: `[auth.jwt] secret` (32 bytes or more, e.g. CORTEX_AUTH__JWT__SECRET) or `[[auth.jwt.keys]]`");
    }
    Ok(())
}

/// The changes `cortex generate auth` makes: the `User` model and its migration (kept when the
/// app has a `create_users` one and `force` is given), the controller and its test, the `auth`
/// feature in `Cargo.toml` and `[auth.jwt]` in `cortex.toml`.
fn auth_plan(project: &Project, force: bool, now: std::time::SystemTime) -> Result<Plan> {
    let existing = crate::commands::db::existing_migration(project, "create_users")?;
    if !force {
        let ran = |what: String| {
            Err(CliError::new(format!(
                "the app has accounts already: {what}"
            ))
            .hint("pass --force to write the generated files again (a users migration is kept as it is), or remove them")
            .with_code(2))
        };
        if let Some(file) = AUTH_FILES.iter().find(|f| project.dir().join(f).exists()) {
            return ran(format!("`{file}` exists"));
        }
        if let Some(stem) = &existing {
            return ran(format!(
                "the migration `{}/{stem}` creates `users`",
                crate::commands::db::MIGRATIONS_DIR
            ));
        }
    }
    let manifest_path = project.dir().join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", manifest_path.display())))?;
    let mut context = AuthContext {
        crate_name: project.name().replace('-', "_"),
        migration: match &existing {
            Some(stem) => stem.clone(),
            None => crate::commands::db::migration_stem(project, "create_users", now)?,
        },
        dialect: "",
    };
    let rust = |template: &str, context: &AuthContext| rust_in(project, template, context);
    let mut plan = Plan::new(project.dir());
    add_file(
        &mut plan,
        "models",
        "user",
        rust("auth/user.rs", &context)?,
        force,
    )?;
    if existing.is_none() {
        let dir = crate::commands::db::MIGRATIONS_DIR;
        let stem = context.migration.clone();
        for dialect in ["sqlite", "postgres", "mysql"] {
            context.dialect = dialect;
            plan.create(
                format!("{dir}/{stem}.{dialect}.up.sql"),
                render_generator("auth/users.up.sql", &context)?,
                false,
            )?;
        }
        plan.create(
            format!("{dir}/{stem}.down.sql"),
            render_generator("auth/users.down.sql", &context)?,
            false,
        )?;
    }
    if crate::commands::db::embedding_files(project).is_empty() {
        let Some(lib) = plan.text("src/lib.rs")? else {
            return Err(CliError::new("the app has no src/lib.rs to embed the migrations from")
                .hint("Cortex apps keep their code in a library (src/lib.rs) that src/main.rs links; create one"));
        };
        plan.update("src/lib.rs", embedding(&lib))?;
    }
    add_file(
        &mut plan,
        "controllers",
        "auth",
        rust("auth/controller.rs", &context)?,
        force,
    )?;
    plan.create("tests/auth.rs", rust("auth/test.rs", &context)?, force)?;
    if let Some(edited) = with_auth_feature(&manifest)? {
        plan.update("Cargo.toml", edited)?;
    }
    match plan.text("cortex.toml")? {
        Some(config) => {
            if let Some(edited) = with_auth_config(&config) {
                plan.update("cortex.toml", edited)?;
            }
        }
        None => plan.create(
            "cortex.toml",
            with_auth_config("").unwrap_or_default(),
            false,
        )?,
    }
    Ok(plan)
}

/// `manifest` with `"auth"` added to the `features` of its `cortex` dependency (`None` when it
/// has it already); see [`with_cortex_feature`].
fn with_auth_feature(manifest: &str) -> Result<Option<String>> {
    with_cortex_feature(manifest, "auth", "[\"data\", \"auth\"]", "cortex g auth")
}

/// `manifest` with `feature` added to the `features` of its `cortex` dependency (`None` when it
/// has it already). The line must be `cortex = { ... }` (how `cortex new` writes it, and how the
/// data layer's check finds its features), with or without `features = [...]`, or
/// `cortex = "version"`; the result is parsed again to check it says what was meant. `example`
/// and `command` go in the hint to edit it by hand.
fn with_cortex_feature(
    manifest: &str,
    feature: &str,
    example: &str,
    command: &str,
) -> Result<Option<String>> {
    let features = |text: &str| -> Option<Vec<String>> {
        let table: toml::Table = text.parse().ok()?;
        let cortex = table.get("dependencies")?.get("cortex")?;
        let Some(features) = cortex.get("features") else {
            return Some(Vec::new());
        };
        Some(
            features
                .as_array()?
                .iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect(),
        )
    };
    let before = features(manifest).unwrap_or_default();
    if before.iter().any(|f| f == feature) {
        return Ok(None);
    }
    let cannot = || {
        CliError::new(format!("cannot add the `{feature}` feature to `cortex` in Cargo.toml: its layout is not one the generator can edit"))
            .hint(format!("add \"{feature}\" to the features of `cortex` in [dependencies] by hand (`features = {example}`), then run `{command}` again"))
            .with_code(2)
    };
    let mut in_dependencies = false;
    let mut lines: Vec<String> = manifest.lines().map(str::to_string).collect();
    let mut edited = false;
    for line in &mut lines {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_dependencies = trimmed.starts_with("[dependencies]");
            continue;
        }
        let is_cortex = trimmed
            .strip_prefix("cortex")
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if !in_dependencies || !is_cortex {
            continue;
        }
        if let Some(at) = line.find("features") {
            let Some(close) = line[at..].find(']').map(|i| at + i) else {
                return Err(cannot());
            };
            let inside = line[at..close].rsplit_once('[').map_or("", |(_, s)| s);
            let separator = if inside.trim().is_empty() || inside.trim_end().ends_with(',') {
                ""
            } else {
                ", "
            };
            line.insert_str(close, &format!("{separator}\"{feature}\""));
        } else if let Some(close) = line.trim_end().strip_suffix('}').map(str::len) {
            // `cortex = { path = ".." }`: the list goes before the brace.
            let head = line[..close].trim_end().to_string();
            let separator = if head.ends_with(',') || head.ends_with('{') {
                " "
            } else {
                ", "
            };
            *line = format!("{head}{separator}features = [\"{feature}\"] }}");
        } else {
            // `cortex = "0.1"`: a table with the version.
            let Some((key, version)) = line.split_once('=') else {
                return Err(cannot());
            };
            let version = version.trim();
            if !(version.starts_with('"') && version.ends_with('"')) {
                return Err(cannot());
            }
            *line = format!(
                "{}= {{ version = {version}, features = [\"{feature}\"] }}",
                key
            );
        }
        edited = true;
        break;
    }
    let mut text = lines.join("\n");
    text.push('\n');
    let after = features(&text).unwrap_or_default();
    let mut expected = before.clone();
    expected.push(feature.into());
    if !edited || after != expected {
        return Err(cannot());
    }
    Ok(Some(text))
}

/// `config` (the app's cortex.toml) with an `[auth.jwt]` section at the end; `None` when it has
/// one already.
fn with_auth_config(config: &str) -> Option<String> {
    if config.lines().any(|l| l.trim() == "[auth.jwt]") {
        return None;
    }
    let mut text = config.trim_end().to_string();
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(AUTH_CONFIG);
    Some(text)
}

/// What `cortex generate auth` adds to cortex.toml.
const AUTH_CONFIG: &str = r#"# Authentication (`cortex::auth`; see src/controllers/auth.rs): JWT access tokens and rotating
# refresh tokens. Without keys, the dev and test profiles sign with a key made at start (tokens
# die with the process); prod refuses to start without one. For prod, set a secret of 32 bytes or
# more (`openssl rand -base64 48`) in the environment, CORTEX_AUTH__JWT__SECRET=..., or list keys:
#   [[auth.jwt.keys]]
#   kid = "2027-01"
#   algorithm = "EdDSA"
#   private_key_file = "keys/2027-01.pem"   # openssl genpkey -algorithm ed25519 -out keys/2027-01.pem
#   signing = true
[auth.jwt]
enabled = true
# issuer = "https://api.example.com"   # default "cortex"
# access_ttl = "15m"

# Refresh tokens live in memory by default: lost on restart, not shared between instances.
# `store = "database"` keeps them in the app's database (a table the auth plugin creates).
# [auth.refresh]
# store = "database"
"#;

/// The variables of the plugin crate's templates.
#[derive(Debug, Serialize)]
struct CrateContext {
    /// The package name, kebab-case (`rate-limits`): also the plugin's name.
    kebab: String,
    /// The crate as a Rust identifier (`rate_limits`).
    crate_ident: String,
    snake: String,
    pascal: String,
    /// The `cortex = ..` line of its Cargo.toml.
    cortex_dependency: String,
    /// Whether the crate is a workspace of its own: when the app's Cargo.toml has no
    /// `[workspace]` (otherwise the crate is one of its members).
    own_workspace: bool,
}

/// A plugin crate in `crates/<name>/`, depending on the Cortex the app depends on, and wired into
/// the app: a path dependency in its Cargo.toml (and a workspace member, when the app has a
/// `[workspace]`), and `use <crate> as _;` in `src/lib.rs`, which links it into the binary so
/// that `App::discover()` applies the plugin.
fn plugin_crate(project: &Project, name: &Name, force: bool) -> Result<Plan> {
    let kebab = name.snake().replace('_', "-");
    let ident = name.snake().to_string();
    let manifest_path = project.dir().join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", manifest_path.display())))?;
    let table: toml::Table = manifest.parse().map_err(|e| {
        CliError::new(format!(
            "{} is not valid TOML: {e}",
            manifest_path.display()
        ))
    })?;
    check_crate_name(project, &table, &kebab)?;
    let dir = format!("crates/{kebab}");
    if project.dir().join(&dir).exists() && !force {
        return Err(CliError::new(format!("`{dir}` already exists"))
            .hint("choose another name, or pass --force to overwrite the generated files in it")
            .with_code(2));
    }
    if !project.dir().join("src/lib.rs").is_file() {
        return Err(CliError::new("the app has no src/lib.rs to link the plugin crate from")
            .hint("Cortex apps keep their code in a library (src/lib.rs) that src/main.rs links; create one, or add the crate to Cargo.toml and `.plugin(..)` it in src/main.rs by hand"));
    }
    let own_workspace = !table.contains_key("workspace");
    let context = CrateContext {
        crate_ident: ident.clone(),
        snake: ident.clone(),
        pascal: name.pascal(),
        cortex_dependency: crate_cortex_dependency(&manifest_path, &table)?,
        kebab: kebab.clone(),
        own_workspace,
    };
    let mut plan = Plan::new(project.dir());
    plan.create(
        format!("{dir}/Cargo.toml"),
        render_generator("plugin_crate/Cargo.toml", &context)?,
        force,
    )?;
    plan.create(
        format!("{dir}/src/lib.rs"),
        rustfmt(
            &render_generator("plugin_crate/lib.rs", &context)?,
            project.dir(),
        ),
        force,
    )?;
    plan.create(
        format!("{dir}/tests/plugin.rs"),
        rustfmt(
            &render_generator("plugin_crate/test.rs", &context)?,
            project.dir(),
        ),
        force,
    )?;
    plan.update(
        "Cargo.toml",
        with_plugin_dependency(&manifest, &kebab, !own_workspace)?,
    )?;
    let lib = plan.text("src/lib.rs")?.unwrap_or_default();
    plan.update("src/lib.rs", linking(&lib, &kebab, &ident))?;
    Ok(plan)
}

/// Crate names the app cannot take for a plugin crate: its own, one it depends on already, the
/// standard library's and Cortex's.
fn check_crate_name(project: &Project, manifest: &toml::Table, kebab: &str) -> Result<()> {
    let ident = kebab.replace('-', "_");
    let taken = |what: String| {
        Err(CliError::new(format!(
            "`{kebab}` cannot be the plugin crate's name: {what}"
        ))
        .hint("choose another name, e.g. `{kebab}-plugin`".replace("{kebab}", kebab))
        .with_code(2))
    };
    if project.name().replace('-', "_") == ident {
        return taken("it is the app's own package name".into());
    }
    const RESERVED: [&str; 9] = [
        "std",
        "core",
        "alloc",
        "proc_macro",
        "test",
        "cortex",
        "cortex_core",
        "cortex_di",
        "cortex_macros",
    ];
    if RESERVED.contains(&ident.as_str()) {
        return taken("a crate of that name is part of Rust or of Cortex".into());
    }
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(deps) = manifest.get(section).and_then(|d| d.as_table()) else {
            continue;
        };
        // The crate generated before (regenerated with --force) is not in the way.
        let ours = |spec: &toml::Value| {
            spec.get("path").and_then(|p| p.as_str()) == Some(&format!("crates/{kebab}"))
        };
        if let Some((dep, _)) = deps
            .iter()
            .find(|(d, spec)| d.replace('-', "_") == ident && !ours(spec))
        {
            return taken(format!(
                "the app has a dependency named `{dep}` in [{section}]"
            ));
        }
    }
    Ok(())
}

/// `manifest` (the app's Cargo.toml) with `kebab = { path = "crates/kebab" }` at the end of its
/// `[dependencies]`, and `"crates/kebab"` in `[workspace] members` when `workspace`; the other
/// lines as they were. The result is parsed again to check it says what was meant.
fn with_plugin_dependency(manifest: &str, kebab: &str, workspace: bool) -> Result<String> {
    let path = format!("crates/{kebab}");
    let before: Option<toml::Table> = manifest.parse().ok();
    let has = |t: &Option<toml::Table>| {
        let dependency = t
            .as_ref()
            .and_then(|t| {
                t.get("dependencies")?
                    .get(kebab)?
                    .get("path")?
                    .as_str()
                    .map(|p| p == path)
            })
            .unwrap_or(false);
        let member = t
            .as_ref()
            .and_then(|t| t.get("workspace")?.get("members")?.as_array().cloned())
            .is_some_and(|m| m.iter().any(|v| v.as_str() == Some(path.as_str())));
        (dependency, member)
    };
    let (had_dependency, had_member) = has(&before);
    let mut lines: Vec<String> = manifest.lines().map(str::to_string).collect();
    let header =
        |lines: &[String], name: &str| lines.iter().position(|l| l.trim() == format!("[{name}]"));
    // The end of the section that starts at `at`: the next header, or the end of the file,
    // before the blank lines that precede it.
    let section_end = |lines: &[String], at: usize| {
        let mut end = lines[at + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with('['))
            .map_or(lines.len(), |i| at + 1 + i);
        while end > at + 1 && lines[end - 1].trim().is_empty() {
            end -= 1;
        }
        end
    };
    let dependency = format!("{kebab} = {{ path = \"{path}\" }}");
    match header(&lines, "dependencies") {
        _ if had_dependency => {}
        Some(at) => {
            let end = section_end(&lines, at);
            lines.insert(end, dependency);
        }
        None => {
            lines.push(String::new());
            lines.push("[dependencies]".into());
            lines.push(dependency);
        }
    }
    if workspace
        && !had_member
        && let Some(at) = header(&lines, "workspace")
    {
        let end = section_end(&lines, at);
        let member = format!("\"{path}\"");
        match (at + 1..end).find(|&i| lines[i].trim_start().starts_with("members")) {
            None => lines.insert(at + 1, format!("members = [{member}]")),
            Some(i) if lines[i].contains(']') => {
                let close = lines[i].rfind(']').expect("contains `]`");
                let inside = lines[i][..close].rsplit_once('[').map_or("", |(_, s)| s);
                let separator = if inside.trim().is_empty() || inside.trim_end().ends_with(',') {
                    ""
                } else {
                    ", "
                };
                lines[i].insert_str(close, &format!("{separator}{member}"));
            }
            Some(i) => {
                // A multi-line array: the new member goes on its own line before the `]`.
                let close = (i + 1..lines.len())
                    .find(|&j| lines[j].trim_start().starts_with(']'))
                    .unwrap_or(lines.len());
                let last = (i..close).rev().find(|&j| !lines[j].trim().is_empty());
                if let Some(last) = last
                    && last > i
                    && !lines[last].trim_end().ends_with(',')
                {
                    lines[last].push(',');
                }
                lines.insert(close, format!("    {member},"));
            }
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    // What was meant, or the file is left alone.
    let (has_dependency, has_member) = has(&text.parse().ok());
    if !has_dependency || (workspace && !has_member) {
        return Err(CliError::new(
            "cannot add the plugin crate to Cargo.toml: its layout is not one the generator can edit",
        )
        .hint(format!(
            "add `{kebab} = {{ path = \"{path}\" }}` to [dependencies]{} by hand",
            if workspace {
                format!(" and \"{path}\" to [workspace] members")
            } else {
                String::new()
            }
        )));
    }
    Ok(text)
}

/// `lib` (the app's src/lib.rs) with `use ident as _;` at the end, which links the crate into
/// the binary (a crate nothing names is not linked, and its plugin not discovered).
fn linking(lib: &str, kebab: &str, ident: &str) -> String {
    let line = format!("use {ident} as _;");
    if lib.lines().any(|l| l.trim() == line) {
        return lib.to_string();
    }
    let mut text = lib.trim_end().to_string();
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "// The `{kebab}` plugin crate (crates/{kebab}): linked, so that `App::discover()` applies it.\n{line}\n"
    ));
    text
}

/// The app's own `cortex` dependency, as the crate two folders down writes it: a relative `path`
/// gets `../../` in front.
fn crate_cortex_dependency(manifest: &std::path::Path, table: &toml::Table) -> Result<String> {
    let missing = || {
        CliError::new(format!(
            "{} has no `cortex` in [dependencies], so the plugin crate would not know which Cortex to use",
            manifest.display()
        ))
        .hint("add `cortex = \"VERSION\"` (or a path to a checkout) to the app's [dependencies]")
    };
    let dependency = table
        .get("dependencies")
        .and_then(|d| d.get("cortex"))
        .ok_or_else(missing)?;
    let value = match dependency {
        toml::Value::Table(spec) => {
            let mut spec = spec.clone();
            if let Some(toml::Value::String(path)) = spec.get("path")
                && std::path::Path::new(path).is_relative()
            {
                let moved = format!("../../{path}");
                spec.insert("path".into(), toml::Value::String(moved));
            }
            let fields: Vec<String> = spec.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            format!("{{ {} }}", fields.join(", "))
        }
        other => other.to_string(),
    };
    Ok(format!("cortex = {value}"))
}

/// A generated Rust file, formatted as rustfmt would in the app.
fn rust_in(project: &Project, template: &str, context: &impl Serialize) -> Result<String> {
    Ok(rustfmt(
        &render_generator(template, context)?,
        project.dir(),
    ))
}

/// What each folder's `mod.rs` starts with when the generator creates it.
fn header(folder: &str) -> &'static str {
    match folder {
        "controllers" => "//! HTTP controllers: `#[controller]` structs and their `#[routes]`.\n\n",
        "services" => {
            "//! Services: `#[injectable]` types the container builds and hands to whoever needs them.\n\n"
        }
        "models" => {
            "//! Models: `#[derive(Model)]` structs, each a row of a table (see `migrations/`), read and\n//! written through its injectable `Repo`.\n\n"
        }
        "middleware" => {
            "//! Middleware: functions and tower layers that controllers and routes apply with `#[middleware(..)]`.\n\n"
        }
        "events" => {
            "//! Events: `#[derive(Event)]` types published on the app's `EventBus`, each on its topic.\n\n"
        }
        "handlers" => {
            "//! Event handlers: `#[event_handler]` functions, each run for the events of its topic (or\n//! pattern) in a scope of its own.\n\n"
        }
        _ => {
            "//! Plugins: providers, routes and hooks installed in one piece with `App::plugin`.\n\n"
        }
    }
}

/// Writes `src/<folder>/<module>.rs` and declares it in `src/<folder>/mod.rs` (creating that, and
/// declaring it in `src/lib.rs`, when needed).
fn add_file(
    plan: &mut Plan,
    folder: &str,
    module: &str,
    contents: String,
    force: bool,
) -> Result<()> {
    plan.create(format!("src/{folder}/{module}.rs"), contents, force)?;
    let created = plan.add_module(format!("src/{folder}/mod.rs"), module, header(folder))?;
    if created {
        if !plan_has_lib(plan) {
            return Err(CliError::new("the app has no src/lib.rs to declare the new module in")
                .hint("Cortex apps keep their code in a library (src/lib.rs) that src/main.rs links; create one with `pub mod controllers;` and the like"));
        }
        plan.add_module("src/lib.rs", folder, "")?;
    }
    Ok(())
}

fn plan_has_lib(plan: &Plan) -> bool {
    plan.changes()
        .iter()
        .any(|c| c.path.as_os_str() == "src/lib.rs")
        || plan_root_has(plan, "src/lib.rs")
}

fn plan_root_has(plan: &Plan, path: &str) -> bool {
    plan.root().join(path).is_file()
}

fn kind_name(kind: GenerateKind) -> &'static str {
    match kind {
        GenerateKind::Controller => "controller",
        GenerateKind::Service => "service",
        GenerateKind::Middleware => "middleware",
        GenerateKind::Plugin => "plugin",
        GenerateKind::Migration => "migration",
        GenerateKind::Model => "model",
        GenerateKind::Resource => "resource",
        GenerateKind::Auth => "auth",
        GenerateKind::EventHandler => "event-handler",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_crate_goes_at_the_end_of_the_dependencies_and_into_the_members() {
        let manifest = "[package]\nname = \"blog\"\n\n[workspace]\n\n[dependencies]\ncortex = \"0.1\"\n\n[dev-dependencies]\ntokio = \"1\"\n";
        assert_eq!(
            with_plugin_dependency(manifest, "audit-log", true).unwrap(),
            "[package]\nname = \"blog\"\n\n[workspace]\nmembers = [\"crates/audit-log\"]\n\n[dependencies]\ncortex = \"0.1\"\naudit-log = { path = \"crates/audit-log\" }\n\n[dev-dependencies]\ntokio = \"1\"\n"
        );
        // No workspace: the dependency only; and done twice, once.
        let once =
            with_plugin_dependency("[dependencies]\ncortex = \"0.1\"\n", "m", false).unwrap();
        assert_eq!(
            once,
            "[dependencies]\ncortex = \"0.1\"\nm = { path = \"crates/m\" }\n"
        );
        assert_eq!(with_plugin_dependency(&once, "m", false).unwrap(), once);
    }

    #[test]
    fn members_are_extended_on_one_line_or_on_several() {
        let one = "[workspace]\nmembers = [\"a\"]\n\n[dependencies]\n";
        assert!(
            with_plugin_dependency(one, "m", true)
                .unwrap()
                .contains("members = [\"a\", \"crates/m\"]\n")
        );
        let empty = "[workspace]\nmembers = []\n[dependencies]\n";
        assert!(
            with_plugin_dependency(empty, "m", true)
                .unwrap()
                .contains("members = [\"crates/m\"]\n")
        );
        let several = "[workspace]\nmembers = [\n    \"a\",\n    \"b\"\n]\n[dependencies]\n";
        assert!(
            with_plugin_dependency(several, "m", true)
                .unwrap()
                .contains("members = [\n    \"a\",\n    \"b\",\n    \"crates/m\",\n]\n")
        );
    }

    #[test]
    fn the_library_links_the_crate_once() {
        let lib = linking(
            "//! App.\n\npub mod controllers;\n",
            "audit-log",
            "audit_log",
        );
        assert_eq!(
            lib,
            "//! App.\n\npub mod controllers;\n\n// The `audit-log` plugin crate (crates/audit-log): linked, so that `App::discover()` applies it.\nuse audit_log as _;\n"
        );
        assert_eq!(linking(&lib, "audit-log", "audit_log"), lib);
    }

    #[test]
    fn the_auth_feature_joins_the_cortex_features_once() {
        let manifest = "[package]\nname = \"blog\"\n\n[dependencies]\n# the framework\ncortex = { path = \"../cortex\", features = [\"data\"] }\nserde = \"1\"\n";
        let edited = with_auth_feature(manifest).unwrap().unwrap();
        assert_eq!(
            edited,
            manifest.replace("[\"data\"]", "[\"data\", \"auth\"]")
        );
        assert_eq!(with_auth_feature(&edited).unwrap(), None);
        // A trailing comma, an empty list.
        let comma = with_auth_feature(
            "[dependencies]\ncortex = { version = \"0.1\", features = [\"postgres\",] }\n",
        )
        .unwrap()
        .unwrap();
        assert!(
            comma.contains("features = [\"postgres\",\"auth\"] }"),
            "{comma}"
        );
        // Layouts it does not edit: refused, with the hint to do it by hand.
        for manifest in [
            "[dependencies.cortex]\npath = \"../cortex\"\nfeatures = [\"data\"]\n",
            "[dependencies]\ncortex = { path = \"../cortex\", features = [\n  \"data\",\n] }\n",
            "[dev-dependencies]\ncortex = { path = \"../cortex\", features = [\"data\"] }\n",
        ] {
            let error = with_auth_feature(manifest).unwrap_err();
            assert_eq!(error.code(), 2, "{manifest}");
            assert!(
                error.to_string().contains("cannot add the `auth` feature"),
                "{manifest}"
            );
        }
    }

    #[test]
    fn a_feature_joins_a_cortex_dependency_without_features() {
        let add = |m: &str| {
            with_cortex_feature(m, "events", "[\"events\"]", "cortex g event-handler")
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            add("[dependencies]\ncortex = \"0.1.0\"\nserde = \"1\"\n"),
            "[dependencies]\ncortex = { version = \"0.1.0\", features = [\"events\"] }\nserde = \"1\"\n"
        );
        assert_eq!(
            add("[dependencies]\ncortex = { path = \"../cortex\" }\n"),
            "[dependencies]\ncortex = { path = \"../cortex\", features = [\"events\"] }\n"
        );
        assert_eq!(
            add("[dependencies]\ncortex = { version = \"0.1\", features = [\"data\"] }\n"),
            "[dependencies]\ncortex = { version = \"0.1\", features = [\"data\", \"events\"] }\n"
        );
        let error = with_cortex_feature(
            "[dependencies]\ncortex = { workspace = true,\n}\n",
            "events",
            "[\"events\"]",
            "cortex g event-handler",
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("cannot add the `events` feature"),
            "{error}"
        );
    }

    #[test]
    fn the_jwt_section_is_added_to_the_configuration_once() {
        let config = with_auth_config("[server]\nport = 3000\n").unwrap();
        assert!(
            config.starts_with("[server]\nport = 3000\n\n# Authentication"),
            "{config}"
        );
        assert!(config.ends_with("[auth.jwt]\nenabled = true\n# issuer = \"https://api.example.com\"   # default \"cortex\"\n# access_ttl = \"15m\"\n\n# Refresh tokens live in memory by default: lost on restart, not shared between instances.\n# `store = \"database\"` keeps them in the app's database (a table the auth plugin creates).\n# [auth.refresh]\n# store = \"database\"\n"), "{config}");
        assert_eq!(with_auth_config(&config), None);
        assert_eq!(with_auth_config("[auth.jwt]\nsecret = \"x\"\n"), None);
        // The section parses, and says what it means.
        let table: toml::Table = config.parse().unwrap();
        assert_eq!(table["auth"]["jwt"]["enabled"].as_bool(), Some(true));
    }
}
