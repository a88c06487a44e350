//! The command line, as clap parses it. Each command's arguments live here; what the command does
//! lives in [`crate::commands`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `cortex`: scaffold, generate, serve with hot reload, inspect and check Cortex apps.
#[derive(Debug, Parser)]
#[command(
    name = "cortex",
    version,
    about = "Scaffold, generate, serve with hot reload, inspect and check Cortex apps",
    propagate_version = true,
    after_help = "Examples:\n  cortex new blog --serve      scaffold an app on SQLite and serve it\n  cortex g controller posts    add a controller to the app in this folder\n  cortex serve --port 8080     build, run and reload on every change\n\nColours follow NO_COLOR, CLICOLOR_FORCE and --color; output that is not a terminal is plain."
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,

    /// When to colour the output.
    #[arg(long, value_enum, global = true, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    /// Print only warnings, errors and what the command was asked for.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// Colour when writing to a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new app: controller, service, tests, config, Dockerfile, README.
    #[command(
        after_help = "Examples:\n  cortex new blog\n  cortex new shop --template api --db postgres\n  cortex new blog --path ~/src/blog --no-git\n  cortex new blog --serve\n  cortex new                   (on a terminal: asks the questions one by one)"
    )]
    New(NewArgs),

    /// Generate code into the app in this folder.
    #[command(
        visible_alias = "g",
        after_help = "Examples:\n  cortex g controller posts\n  cortex g controller posts title:string body:text published:bool\n  cortex g service mailer\n  cortex g migration create_posts\n  cortex g model post title:string body:text published:bool\n  cortex g resource posts title:string body:text? published:bool\n  cortex g middleware timing --dry-run\n  cortex g auth\n  cortex g event-handler send_welcome --event UserCreated --topic user.created\n\nField types: string, text, int, bigint, float, bool, json, and for models and resources uuid, datetime; add `?` for optional (`title:string?`)."
    )]
    Generate(GenerateArgs),

    /// Build and run the app, rebuilding and restarting on every change without refusing connections.
    #[command(
        after_help = "Examples:\n  cortex serve\n  cortex serve --port 8080\n  cortex serve --profile prod --release\n\nThe CLI holds the listening socket and hands it to each new build, so requests made during a\nrebuild wait instead of failing; while a build is broken the previous build keeps serving."
    )]
    Serve(ServeArgs),

    /// List every route the app answers: method, path, handler, guards, origin (app or cortex).
    #[command(
        after_help = "Examples:\n  cortex routes\n  cortex routes --format json\n  cortex routes --audit\n  cortex routes --audit --deny-unguarded   # in CI: exit 1 when a route has no access policy"
    )]
    Routes(RoutesArgs),

    /// Show the app's dependency-injection graph as text, Mermaid, DOT or JSON.
    #[command(
        after_help = "Examples:\n  cortex graph\n  cortex graph --format mermaid > graph.mmd"
    )]
    Graph(GraphArgs),

    /// List the app's plugins: order, name, version, state, configuration section, dependencies.
    #[command(after_help = "Examples:\n  cortex plugins\n  cortex plugins --format json")]
    Plugins(PluginsArgs),
    /// Run one of the app's tasks (`App::task`) in its binary; without a name, list them.
    #[command(
        after_help = "Examples:\n  cortex run                  (lists the tasks)\n  cortex run db:migrate\n  cortex run db:rollback -- --steps 2\n  CORTEX_PROFILE=prod cortex run db:seed --release\n\nThe task runs in the app's folder with its configuration; its error is printed by the app,\nand the exit status is the app's."
    )]
    Run(RunArgs),

    /// The app's database: migrations and seeds, run as the app's `db:*` tasks in its binary.
    #[command(
        subcommand,
        after_help = "Examples:\n  cortex db create create_posts     write migrations/<timestamp>_create_posts.{up,down}.sql\n  cortex db migrate\n  cortex db rollback --steps 2\n  cortex db status\n  cortex db reset --yes\n  cortex db seed\n\nThe commands build the app and run its task (`cortex run db:migrate`) with its configuration\n(`[database] url`, DATABASE_URL, CORTEX_PROFILE); the app embeds its migrations with\n`cortex::data::app_migrations!(\"migrations\")`."
    )]
    Db(DbCommand),

    /// The app's API keys: create, list, revoke (the auth plugin's `auth:key:*` tasks).
    #[command(
        subcommand,
        after_help = "Examples:\n  cortex auth key create --owner 42 --name ci --scope posts:read --ttl 90d\n  cortex auth key list --owner 42\n  cortex auth key revoke 3fJ9aQ2LmZ7x\n\nThe commands build the app and run its task (`cortex run auth:key:list`) with its configuration;\nuse `[auth.api_keys] store = \"database\"` or `\"redis\"`, or the keys vanish with the task."
    )]
    Auth(AuthCommand),

    /// The app's event bus: list and replay its dead letters (the events plugin's
    /// `events:dead-letters:*` tasks).
    #[command(
        subcommand,
        after_help = "Examples:\n  cortex events dead-letters list\n  cortex events dead-letters list --handler welcome --topic 'user.*' --limit 20\n  cortex events dead-letters list --json\n  cortex events dead-letters replay --handler welcome --id 01937f5e-7c00-7000-8000-000000000000\n  cortex events dead-letters replay --all --topic 'order.#'\n\nThe commands build the app and run its task (`cortex run events:dead-letters:list`) with its\nconfiguration; use `[events] dead_letters = \"database\"`: letters kept in memory belong to the\nprocess that failed them."
    )]
    Events(EventsCommand),

    /// Build the app (cargo build), showing progress and the compiler's errors.
    #[command(after_help = "Examples:\n  cortex build\n  cortex build --release")]
    Build(BuildArgs),

    /// Run the app's tests (cargo nextest when installed, cargo test otherwise).
    #[command(
        after_help = "Examples:\n  cortex test\n  cortex test --watch\n  cortex test -- users::"
    )]
    Test(TestArgs),

    /// Check the toolchain, the app's configuration and the services the configuration names.
    #[command(after_help = "Examples:\n  cortex doctor\n  cortex doctor --profile prod")]
    Doctor(DoctorArgs),

    /// Show the app's configuration.
    #[command(subcommand)]
    Config(ConfigCommand),

    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  cortex completions bash > ~/.local/share/bash-completion/completions/cortex\n  cortex completions zsh > ~/.zfunc/_cortex\n  cortex completions fish > ~/.config/fish/completions/cortex.fish"
    )]
    Completions(CompletionsArgs),
}

/// `cortex new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The app's name: a crate name (letters, digits, `-` or `_`, starting with a letter).
    /// Asked for interactively when omitted on a terminal.
    pub name: Option<String>,

    /// What to start from (default: api).
    #[arg(long, short, value_enum)]
    pub template: Option<Template>,

    /// The database of an `api` or `full` app (a `minimal` app has none).
    #[arg(long, value_enum)]
    pub db: Option<Database>,

    /// Where to create the app (default: ./NAME).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// Do not run `git init`.
    #[arg(long)]
    pub no_git: bool,

    /// Serve the app once it is created (as `cortex serve` in its folder).
    #[arg(long)]
    pub serve: bool,

    /// With --serve: the port (default: the app's `[server] port`, 3000).
    #[arg(long, requires = "serve")]
    pub port: Option<u16>,
}

/// `cortex new --template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// One controller, one service, one test.
    Minimal,
    /// A JSON API: CRUD with validation, problem details, OpenAPI, tests.
    Api,
    /// The API plus a guard, a health check, lifecycle hooks, middleware settings and profiles.
    Full,
}

/// `cortex new --db`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Database {
    /// An SQLite file under `data/`: nothing to install.
    Sqlite,
    /// PostgreSQL (`[database] url`, or `DATABASE_URL`); the tests run on in-memory SQLite.
    Postgres,
}

/// `cortex generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to generate.
    #[arg(value_enum)]
    pub kind: GenerateKind,

    /// Its name, in any case (`blog_post`, `BlogPost`, `blog-post`); `auth` takes none.
    pub name: Option<String>,

    /// Fields, as `name:type` (`title:string body:text views:int published:bool?`).
    pub fields: Vec<String>,

    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,

    /// Print what would be written, write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// For a plugin: generate a plugin crate in `crates/NAME/` (its own Cargo.toml, tests, and a
    /// `discover` feature) instead of a module of the app.
    #[arg(long = "crate")]
    pub as_crate: bool,

    /// For an event handler: the event type it takes (`UserCreated`; default: from --topic,
    /// else the handler's name), in `src/events/`.
    #[arg(long, value_name = "TYPE")]
    pub event: Option<String>,

    /// For an event handler: the event's topic when the event is new (`user.created`; default:
    /// from the event's name).
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex generate KIND`: only kinds whose generated code works in this version.
///
/// A kind that needs a capability Cortex does not have yet (actors, queues) is added here
/// when that capability lands, with its templates in `templates/generate/` and its arm in
/// `commands::generate::plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenerateKind {
    /// A `#[controller]` with its routes and a test.
    Controller,
    /// An `#[injectable]` service.
    Service,
    /// A middleware layer.
    Middleware,
    /// A plugin.
    Plugin,
    /// A migration: migrations/<timestamp>_<name>.up.sql and .down.sql (as `cortex db create`).
    Migration,
    /// A database model (`#[derive(Model)]`) and the migration creating its table.
    Model,
    /// A model, its migration, a controller on `Repo` (list with filters, sort and pagination;
    /// create, show, update, delete) and its test.
    Resource,
    /// Accounts: a `users` table and model, `/auth` register, login, refresh, logout, me and
    /// password routes on `cortex::auth`, and their tests (needs the data layer).
    Auth,
    /// An `#[event_handler]` with its test, and the event it takes (`#[derive(Event)]`) when the
    /// app has none of that name; turns on the `events` feature of `cortex`.
    EventHandler,
}

/// `cortex serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port to listen on (sets CORTEX_PORT for the app).
    #[arg(long, short)]
    pub port: Option<u16>,

    /// The address to listen on (sets CORTEX_HOST for the app).
    #[arg(long)]
    pub host: Option<String>,

    /// The configuration profile (sets CORTEX_PROFILE; default dev).
    #[arg(long)]
    pub profile: Option<String>,

    /// Build with optimisations.
    #[arg(long)]
    pub release: bool,

    /// Run once, without watching for changes.
    #[arg(long)]
    pub no_watch: bool,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex routes`.
#[derive(Debug, Args)]
pub struct RoutesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = RoutesFormat::Table)]
    pub format: RoutesFormat,

    /// Show each route's access policy (public, authenticated, roles, permissions, custom) and
    /// input types, flagging the routes that have none.
    #[arg(long)]
    pub audit: bool,

    /// With --audit (implied): exit with status 1 when a route has no access policy.
    #[arg(long)]
    pub deny_unguarded: bool,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex routes --format` and `cortex plugins --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoutesFormat {
    /// An aligned table.
    Table,
    /// JSON, one object per route.
    Json,
}

/// `cortex plugins`.
#[derive(Debug, Args)]
pub struct PluginsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = RoutesFormat::Table)]
    pub format: RoutesFormat,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The task's name, as given to `App::task`; omitted, the tasks are listed.
    pub task: Option<String>,

    /// The task's arguments (after `--`), passed as CORTEX_TASK_ARGS.
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,

    /// Build and run with the release profile.
    #[arg(long)]
    pub release: bool,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex graph --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// An indented list: each provider, its scope and its dependencies.
    Text,
    /// A Mermaid flowchart.
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// JSON.
    Json,
}

/// `cortex db`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply the pending migrations (the app's `db:migrate` task).
    Migrate(DbTaskArgs),
    /// Revert the latest migration, or the latest N, or back to a version (`db:rollback`).
    #[command(
        after_help = "Examples:\n  cortex db rollback\n  cortex db rollback --steps 3\n  cortex db rollback --to 20261207120000   (that one stays applied; --to 0 reverts all)"
    )]
    Rollback(DbRollbackArgs),
    /// List the migrations: applied, pending, changed since applied, missing, failed (`db:status`).
    Status(DbTaskArgs),
    /// Revert every migration, then apply them all: the tables' rows are lost (`db:reset`).
    Reset(DbResetArgs),
    /// Run the seed files, `seeds/*.sql` in name order (`db:seed`).
    Seed(DbTaskArgs),
    /// Write a new migration: migrations/<timestamp>_<name>.up.sql and .down.sql.
    #[command(
        after_help = "Examples:\n  cortex db create create_posts\n  cortex db create AddTitleToPosts   (written add_title_to_posts)"
    )]
    Create(DbCreateArgs),
}

/// What every `cortex db` task command takes.
#[derive(Debug, Args)]
pub struct DbTaskArgs {
    /// Build and run with the release profile.
    #[arg(long)]
    pub release: bool,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex db rollback`.
#[derive(Debug, Args)]
pub struct DbRollbackArgs {
    /// How many of the latest migrations to revert (default 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "to")]
    pub steps: Option<u32>,

    /// Revert every migration newer than this version (which stays applied); 0 reverts them all.
    #[arg(long, value_name = "VERSION", value_parser = clap::value_parser!(u64))]
    pub to: Option<u64>,

    /// --release and --path.
    #[command(flatten)]
    pub task: DbTaskArgs,
}

/// `cortex db reset`.
#[derive(Debug, Args)]
pub struct DbResetArgs {
    /// Do not ask for confirmation (needed when not on a terminal).
    #[arg(long, short)]
    pub yes: bool,

    /// --release and --path.
    #[command(flatten)]
    pub task: DbTaskArgs,
}

/// `cortex db create`.
#[derive(Debug, Args)]
pub struct DbCreateArgs {
    /// The migration's name, snake_case (`create_posts`); another case is converted.
    pub name: String,

    /// Print what would be written, write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex auth`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// API keys: create, list, revoke.
    #[command(subcommand)]
    Key(AuthKeyCommand),
}

/// `cortex auth key`.
#[derive(Debug, Subcommand)]
pub enum AuthKeyCommand {
    /// Make a key and print it, once (`auth:key:create`).
    Create(AuthKeyCreateArgs),
    /// List the keys, never their secrets (`auth:key:list`).
    List(AuthKeyListArgs),
    /// Revoke a key by its id (`auth:key:revoke`).
    Revoke(AuthKeyRevokeArgs),
}

/// `cortex auth key create`.
#[derive(Debug, Args)]
pub struct AuthKeyCreateArgs {
    /// The user the key acts for (the `CurrentUser`'s id).
    #[arg(long)]
    pub owner: String,
    /// What the key is for (`ci`, `billing-sync`), without spaces.
    #[arg(long)]
    pub name: String,
    /// A permission the key grants (`posts:read`, `posts:*`); repeat for several.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// How long the key lives (`90d`, `12h`; default: `[auth.api_keys] default_ttl`, else forever).
    #[arg(long)]
    pub ttl: Option<String>,
    /// --release and --path.
    #[command(flatten)]
    pub task: DbTaskArgs,
}

/// `cortex auth key list`.
#[derive(Debug, Args)]
pub struct AuthKeyListArgs {
    /// Only this user's keys.
    #[arg(long)]
    pub owner: Option<String>,
    /// --release and --path.
    #[command(flatten)]
    pub task: DbTaskArgs,
}

/// `cortex auth key revoke`.
#[derive(Debug, Args)]
pub struct AuthKeyRevokeArgs {
    /// The key's id (the middle part of the key, as `cortex auth key list` shows it).
    pub id: String,
    /// --release and --path.
    #[command(flatten)]
    pub task: DbTaskArgs,
}

/// `cortex events`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Dead letters: the events a handler still failed on after its last retry.
    #[command(subcommand)]
    DeadLetters(DeadLettersCommand),
}

/// `cortex events dead-letters`.
#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// List them, oldest first: a table, or JSON (`events:dead-letters:list`).
    List(DeadLettersListArgs),
    /// Hand them to their handler again; a letter handled is removed; the exit status is 1 when
    /// any fails again (`events:dead-letters:replay`).
    Replay(DeadLettersReplayArgs),
}

/// `cortex events dead-letters list`.
#[derive(Debug, Args)]
pub struct DeadLettersListArgs {
    /// Only this handler's letters (its name: the function's, or `Type::method`).
    #[arg(long, value_name = "NAME")]
    pub handler: Option<String>,
    /// Only letters of events whose topic matches this pattern (`user.*`, `order.#`).
    #[arg(long, value_name = "PATTERN")]
    pub topic: Option<String>,
    /// At most this many (default 100).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Print JSON (the letters with their events) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// --release and --path.
    #[command(flatten)]
    pub task: DbTaskArgs,
}

/// `cortex events dead-letters replay`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["id", "all"])))]
pub struct DeadLettersReplayArgs {
    /// The handler of the letter to replay (with --id), or only this handler's (with --all).
    #[arg(long, value_name = "NAME")]
    pub handler: Option<String>,
    /// The event id of the letter to replay (as `list` shows it).
    #[arg(long, value_name = "EVENT_ID", requires = "handler")]
    pub id: Option<String>,
    /// Replay every letter (or those --handler and --topic select).
    #[arg(long, conflicts_with = "id")]
    pub all: bool,
    /// With --all: only letters of events whose topic matches this pattern.
    #[arg(long, value_name = "PATTERN", conflicts_with = "id")]
    pub topic: Option<String>,
    /// --release and --path.
    #[command(flatten)]
    pub task: DbTaskArgs,
}

/// `cortex build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Build with optimisations.
    #[arg(long)]
    pub release: bool,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Run again on every change to `src/`, `tests/`, templates or config.
    #[arg(long)]
    pub watch: bool,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// Passed on to the test runner (after `--`).
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// `cortex doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The configuration profile to check (default: CORTEX_PROFILE, else dev).
    #[arg(long)]
    pub profile: Option<String>,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the resolved configuration (files, profile, environment), secrets masked.
    #[command(
        after_help = "Examples:\n  cortex config show\n  cortex config show --profile prod\n  cortex config show --format json"
    )]
    Show(ConfigShowArgs),
}

/// `cortex config show`.
#[derive(Debug, Args)]
pub struct ConfigShowArgs {
    /// The profile (default: CORTEX_PROFILE, else dev).
    #[arg(long)]
    pub profile: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ConfigFormat::Toml)]
    pub format: ConfigFormat,

    /// The app's folder (default: the nearest folder upwards with a Cargo.toml).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
}

/// `cortex config show --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    /// TOML.
    Toml,
    /// JSON.
    Json,
}

/// `cortex completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
