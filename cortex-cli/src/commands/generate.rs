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
//! | `plugin metrics --crate` | `crates/metrics/{Cargo.toml, src/lib.rs, tests/plugin.rs}` | (a crate of its own) |
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
    if args.as_crate && args.kind != GenerateKind::Plugin {
        return Err(CliError::new(format!(
            "--crate generates a plugin crate; a `{}` is generated into the app",
            kind_name(args.kind)
        ))
        .hint("leave out --crate, or generate a plugin: `cortex g plugin NAME --crate`")
        .with_code(2));
    }
    let fields = fields::parse(&args.fields)?;
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
            "use it from the app: add `{kebab} = {{ path = \"crates/{kebab}\" }}` to [dependencies] in Cargo.toml and `use {} as _;` to src/lib.rs; `App::discover()` then applies it (test it with `cargo test` in crates/{kebab})",
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
}

/// A plugin crate in `crates/<name>/`, depending on the Cortex the app depends on.
fn plugin_crate(project: &Project, name: &Name, force: bool) -> Result<Plan> {
    let kebab = name.snake().replace('_', "-");
    let context = CrateContext {
        crate_ident: name.snake().to_string(),
        snake: name.snake().to_string(),
        pascal: name.pascal(),
        cortex_dependency: crate_cortex_dependency(project)?,
        kebab: kebab.clone(),
    };
    let mut plan = Plan::new(project.dir());
    let dir = format!("crates/{kebab}");
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
    Ok(plan)
}

/// The app's own `cortex` dependency, as the crate two folders down writes it: a relative `path`
/// gets `../../` in front.
fn crate_cortex_dependency(project: &Project) -> Result<String> {
    let manifest = project.dir().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", manifest.display())))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| CliError::new(format!("{} is not valid TOML: {e}", manifest.display())))?;
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
