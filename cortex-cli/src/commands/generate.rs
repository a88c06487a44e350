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
//!
//! A `mod.rs` that does not exist is created and declared in `src/lib.rs`.

use serde::Serialize;

use crate::cli::{GenerateArgs, GenerateKind};
use crate::error::{CliError, Result};
use crate::fields::{self, Field};
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
            model,
            fields,
        }
    }
}

/// Runs `cortex generate`.
pub fn run(args: GenerateArgs, ui: &Ui) -> Result<()> {
    let project = Project::find(args.path.as_deref())?;
    let name = Name::parse(&args.name)?;
    if args.kind != GenerateKind::Controller && !args.fields.is_empty() {
        return Err(CliError::new(format!(
            "only controllers take fields; `{}` was given with a `{}`",
            args.fields.join(" "),
            kind_name(args.kind)
        ))
        .hint("leave the fields out, or generate a controller: `cortex g controller NAME field:type ...`")
        .with_code(2));
    }
    let fields = fields::parse(&args.fields)?;
    let plan = plan(&project, args.kind, &name, fields, args.force)?;
    if !args.dry_run {
        plan.apply()?;
    }
    plan.report(ui, args.dry_run);
    if args.dry_run {
        ui.note("(a dry run: nothing was written)");
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

/// A generated Rust file, formatted as rustfmt would in the app.
fn rust_in(project: &Project, template: &str, context: &Context) -> Result<String> {
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
        "middleware" => {
            "//! Middleware: functions and tower layers that controllers and routes apply with `#[middleware(..)]`.\n\n"
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
    }
}
