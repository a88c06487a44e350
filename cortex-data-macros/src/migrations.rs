//! `migrations!("dir")` and `app_migrations!("dir", seeds = "dir")`: a folder of SQL files
//! embedded into the binary at compile time.
//!
//! Migration files are `<version>_<name>.up.sql` and `<version>_<name>.down.sql` (the version is
//! digits, e.g. a `YYYYMMDDHHMMSS` timestamp; the name is snake_case), with optional per-dialect
//! variants `<version>_<name>.<dialect>.up.sql` (`postgres`, `mysql`, `sqlite`) that replace the
//! plain file on that backend. Seed files are `<name>.sql` and `<name>.<dialect>.sql`, run in
//! name order.
//!
//! [`parse_migrations`] and [`parse_seeds`] work on file names alone (unit-tested here); the
//! expansion embeds each file with `include_str!`, so editing a file rebuilds the crate. A file
//! *added* to the folder is seen at the crate's next compilation (see `cortex_data::migrate`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// The dialects a file can be written for.
const DIALECTS: [&str; 3] = ["postgres", "mysql", "sqlite"];

/// The SQL of one direction of a migration (or of one seed): the plain file and the per-dialect
/// ones, as file names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Variants {
    pub(crate) any: Option<String>,
    pub(crate) postgres: Option<String>,
    pub(crate) mysql: Option<String>,
    pub(crate) sqlite: Option<String>,
}

impl Variants {
    fn slot(&mut self, dialect: Option<&str>) -> &mut Option<String> {
        match dialect {
            None => &mut self.any,
            Some("postgres") => &mut self.postgres,
            Some("mysql") => &mut self.mysql,
            Some(_) => &mut self.sqlite,
        }
    }

    fn is_empty(&self) -> bool {
        self.any.is_none()
            && self.postgres.is_none()
            && self.mysql.is_none()
            && self.sqlite.is_none()
    }

    /// The dialects with no file: none when there is a plain file.
    fn uncovered(&self) -> Vec<&'static str> {
        if self.any.is_some() {
            return Vec::new();
        }
        let mut missing = Vec::new();
        if self.postgres.is_none() {
            missing.push("postgres");
        }
        if self.mysql.is_none() {
            missing.push("mysql");
        }
        if self.sqlite.is_none() {
            missing.push("sqlite");
        }
        missing
    }

    /// Any one of the file names, for messages.
    fn first(&self) -> &str {
        [&self.any, &self.postgres, &self.mysql, &self.sqlite]
            .into_iter()
            .flatten()
            .next()
            .map_or("", String::as_str)
    }
}

/// One migration as found in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) version: i64,
    pub(crate) name: String,
    pub(crate) up: Variants,
    pub(crate) down: Variants,
}

/// One seed file (and its dialect variants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seed {
    pub(crate) name: String,
    pub(crate) sql: Variants,
}

/// Whether a file of the folder is not SQL at all and is left out: hidden files and Markdown
/// notes (`README.md`).
fn skipped(file: &str) -> bool {
    file.starts_with('.') || file.ends_with(".md")
}

/// Whether `name` is snake_case: lowercase ASCII letters, digits and `_`, starting with a letter.
pub(crate) fn is_snake(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Splits an optional dialect off the end of `stem` (`x.postgres` → (`x`, Some(`postgres`))).
fn dialect_of(file: &str, stem: &str) -> Result<(String, Option<&'static str>), String> {
    match stem.rsplit_once('.') {
        None => Ok((stem.to_string(), None)),
        Some((rest, dialect)) => match DIALECTS.iter().find(|d| **d == dialect) {
            Some(d) => Ok((rest.to_string(), Some(*d))),
            None => Err(format!(
                "`{file}`: `{dialect}` is not a dialect; hint: write `postgres`, `mysql` or `sqlite` before the extension, or none for SQL that runs on every backend"
            )),
        },
    }
}

/// The migrations in a folder holding the files `files` (names only).
///
/// # Errors
/// A message naming the file and the fix: a name that does not parse, an unknown dialect, a
/// `.down.sql` without its `.up.sql`, two migrations with one version, a migration with SQL for
/// some dialects only.
pub(crate) fn parse_migrations(files: &[String]) -> Result<Vec<Found>, String> {
    const SHAPE: &str = "hint: name migrations `<version>_<name>.up.sql` and `<version>_<name>.down.sql` (e.g. `20261207120000_create_posts.up.sql`), optionally `<version>_<name>.<postgres|mysql|sqlite>.up.sql`";
    let mut by_version: BTreeMap<i64, Found> = BTreeMap::new();
    let mut files: Vec<&String> = files.iter().filter(|f| !skipped(f)).collect();
    files.sort();
    for file in files {
        let (stem, up) = if let Some(stem) = file.strip_suffix(".up.sql") {
            (stem, true)
        } else if let Some(stem) = file.strip_suffix(".down.sql") {
            (stem, false)
        } else {
            return Err(format!(
                "`{file}` is not a migration file name: it ends neither in `.up.sql` nor `.down.sql`; {SHAPE}"
            ));
        };
        let (stem, dialect) = dialect_of(file, stem)?;
        let Some((version, name)) = stem.split_once('_') else {
            return Err(format!(
                "`{file}` is not a migration file name: no `_` between its version and its name; {SHAPE}"
            ));
        };
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "`{file}` is not a migration file name: its version `{version}` is not digits; {SHAPE}"
            ));
        }
        let version: i64 = version.parse().map_err(|_| {
            format!(
                "`{file}`: the version `{version}` is too large (at most {}); hint: use a `YYYYMMDDHHMMSS` timestamp",
                i64::MAX
            )
        })?;
        if !is_snake(name) {
            return Err(format!(
                "`{file}`: the name `{name}` is not snake_case; hint: use lowercase letters, digits and `_`, starting with a letter, e.g. `{version}_create_posts.up.sql`"
            ));
        }
        let entry = by_version.entry(version).or_insert_with(|| Found {
            version,
            name: name.to_string(),
            up: Variants::default(),
            down: Variants::default(),
        });
        if entry.name != name {
            let other = if entry.up.is_empty() {
                entry.down.first()
            } else {
                entry.up.first()
            };
            return Err(format!(
                "two migrations have the version {version}: `{other}` and `{file}`; hint: give one of them another version (a later timestamp)"
            ));
        }
        let slot = if up { &mut entry.up } else { &mut entry.down }.slot(dialect);
        *slot = Some(file.clone());
    }
    for found in by_version.values() {
        if found.up.is_empty() {
            return Err(format!(
                "`{}` has no up migration; hint: add `{}_{}.up.sql`, or delete the down file",
                found.down.first(),
                found.version,
                found.name
            ));
        }
        for (direction, variants) in [("up", &found.up), ("down", &found.down)] {
            let missing = variants.uncovered();
            if !variants.is_empty() && !missing.is_empty() {
                return Err(format!(
                    "migration {}_{} has {direction} SQL for some dialects only (no file for {}); hint: add `{}_{}.{direction}.sql` for the other backends, or a `.{}.{direction}.sql` file each",
                    found.version,
                    found.name,
                    missing.join(", "),
                    found.version,
                    found.name,
                    missing.join("/"),
                ));
            }
        }
    }
    Ok(by_version.into_values().collect())
}

/// The seeds in a folder holding the files `files` (names only), in name order.
///
/// # Errors
/// A message naming the file: not `.sql`, an unknown dialect, a name that is not snake_case, SQL
/// for some dialects only.
pub(crate) fn parse_seeds(files: &[String]) -> Result<Vec<Seed>, String> {
    let mut by_name: BTreeMap<String, Seed> = BTreeMap::new();
    for file in files.iter().filter(|f| !skipped(f)) {
        let Some(stem) = file.strip_suffix(".sql") else {
            return Err(format!(
                "`{file}` is not a seed file: it does not end in `.sql`; hint: name seeds `<name>.sql` (e.g. `01_users.sql`), optionally `<name>.<postgres|mysql|sqlite>.sql`"
            ));
        };
        let (name, dialect) = dialect_of(file, stem)?;
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(format!(
                "`{file}`: the seed name `{name}` is not snake_case; hint: use lowercase letters, digits and `_` (e.g. `01_users.sql`)"
            ));
        }
        let entry = by_name.entry(name.clone()).or_insert_with(|| Seed {
            name,
            sql: Variants::default(),
        });
        *entry.sql.slot(dialect) = Some(file.clone());
    }
    for seed in by_name.values() {
        let missing = seed.sql.uncovered();
        if !missing.is_empty() {
            return Err(format!(
                "seed `{}` has SQL for some dialects only (no file for {}); hint: add `{}.sql` for the other backends",
                seed.name,
                missing.join(", "),
                seed.name
            ));
        }
    }
    Ok(by_name.into_values().collect())
}

/// `migrations!("dir")`'s argument.
struct Folder {
    dir: LitStr,
}

impl Parse for Folder {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "the macro needs a folder; hint: `migrations!(\"migrations\")` or `seeds!(\"seeds\")` (relative to the crate's Cargo.toml)",
            ));
        }
        let dir: LitStr = input.parse()?;
        if !input.is_empty() {
            let _: Token![,] = input.parse()?;
        }
        if !input.is_empty() {
            return Err(input
                .error("the macro takes one argument, the folder: `migrations!(\"migrations\")`"));
        }
        Ok(Folder { dir })
    }
}

/// `app_migrations!("dir", seeds = "dir")`'s arguments.
struct AppFolders {
    migrations: LitStr,
    seeds: Option<LitStr>,
}

impl Parse for AppFolders {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "app_migrations!() needs the folder of the migrations; hint: `app_migrations!(\"migrations\")` or `app_migrations!(\"migrations\", seeds = \"seeds\")`",
            ));
        }
        let migrations: LitStr = input.parse()?;
        let mut seeds = None;
        while !input.is_empty() {
            let _: Token![,] = input.parse()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            if key != "seeds" || seeds.is_some() {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unexpected `{key}`; hint: the only option is `seeds = \"seeds\"`, once"
                    ),
                ));
            }
            let _: Token![=] = input.parse()?;
            seeds = Some(input.parse::<LitStr>()?);
        }
        Ok(AppFolders { migrations, seeds })
    }
}

/// Where the generated code finds `cortex-data`: `::cortex_data` when the crate depends on it
/// (or is it), `::cortex::data` when it depends on the facade only.
fn runtime() -> TokenStream {
    match (crate_name("cortex-data"), crate_name("cortex")) {
        (Ok(FoundCrate::Name(name)), _) => {
            let name = Ident::new(&name, Span::call_site());
            quote!(::#name)
        }
        (Ok(FoundCrate::Itself), _) | (Err(_), Err(_)) => quote!(::cortex_data),
        (Err(_), Ok(FoundCrate::Name(name))) => {
            let name = Ident::new(&name, Span::call_site());
            quote!(::#name::data)
        }
        (Err(_), Ok(FoundCrate::Itself)) => quote!(::cortex::data),
    }
}

/// The folder `lit` names, relative to the crate's `Cargo.toml`, and its file names.
fn read_folder(lit: &LitStr, what: &str) -> syn::Result<(PathBuf, Vec<String>)> {
    let relative = lit.value();
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or_else(|| {
            syn::Error::new(
                lit.span(),
                "CARGO_MANIFEST_DIR is not set: build with cargo",
            )
        })?;
    let dir = root.join(&relative);
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "there is no such folder".to_string()
        } else {
            e.to_string()
        };
        syn::Error::new(
            lit.span(),
            format!(
                "cannot read the {what} folder `{relative}`: {why}; hint: the path is relative to the crate's Cargo.toml (CARGO_MANIFEST_DIR); create the folder (`cortex db create NAME` does) or fix the path"
            ),
        )
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            syn::Error::new(
                lit.span(),
                format!("cannot read the folder `{relative}`: {e}"),
            )
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            if skipped(&name) {
                continue;
            }
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "`{relative}/{name}` is a folder; hint: the {what} are the files directly in `{relative}`: move them up"
                ),
            ));
        }
        files.push(name);
    }
    files.sort();
    Ok((dir, files))
}

/// The `Sql` value of one set of variants: each file's text embedded with `include_str!`.
fn sql(rt: &TokenStream, dir: &Path, variants: &Variants) -> TokenStream {
    let file = |name: &Option<String>| match name {
        Some(name) => {
            let path = dir.join(name).to_string_lossy().into_owned();
            quote!(::core::option::Option::Some(::core::include_str!(#path)))
        }
        None => quote!(::core::option::Option::None),
    };
    let (any, postgres, mysql, sqlite) = (
        file(&variants.any),
        file(&variants.postgres),
        file(&variants.mysql),
        file(&variants.sqlite),
    );
    quote!(#rt::migrate::Sql::__embedded(#any, #postgres, #mysql, #sqlite))
}

/// The `Migrations` value of the folder `lit`.
fn migrations_value(rt: &TokenStream, lit: &LitStr) -> syn::Result<TokenStream> {
    let (dir, files) = read_folder(lit, "migrations")?;
    let found = parse_migrations(&files).map_err(|m| syn::Error::new(lit.span(), m))?;
    let items = found.iter().map(|m| {
        let version = m.version;
        let name = &m.name;
        let up = sql(rt, &dir, &m.up);
        let down = if m.down.is_empty() {
            quote!(::core::option::Option::None)
        } else {
            let down = sql(rt, &dir, &m.down);
            quote!(::core::option::Option::Some(#down))
        };
        quote!(#rt::migrate::EmbeddedMigration::__embedded(#version, #name, #up, #down))
    });
    Ok(quote!(#rt::migrate::Migrations::__embedded(&[#(#items),*])))
}

/// The `Seeds` value of the folder `lit`.
fn seeds_value(rt: &TokenStream, lit: &LitStr) -> syn::Result<TokenStream> {
    let (dir, files) = read_folder(lit, "seeds")?;
    let seeds = parse_seeds(&files).map_err(|m| syn::Error::new(lit.span(), m))?;
    let items = seeds.iter().map(|s| {
        let name = &s.name;
        let sql = sql(rt, &dir, &s.sql);
        quote!(#rt::migrate::Seed::__embedded(#name, #sql))
    });
    Ok(quote!(#rt::migrate::Seeds::__embedded(&[#(#items),*])))
}

/// `migrations!("dir")`: a `Migrations` expression.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let folder: Folder = syn::parse2(input)?;
    let rt = runtime();
    migrations_value(&rt, &folder.dir)
}

/// `seeds!("dir")`: a `Seeds` expression.
pub(crate) fn expand_seeds(input: TokenStream) -> syn::Result<TokenStream> {
    let folder: Folder = syn::parse2(input)?;
    let rt = runtime();
    seeds_value(&rt, &folder.dir)
}

/// `app_migrations!("dir", seeds = "dir")`: the app's migrations (and seeds), submitted for the
/// data plugin to find.
pub(crate) fn expand_app(input: TokenStream) -> syn::Result<TokenStream> {
    let folders: AppFolders = syn::parse2(input)?;
    let rt = runtime();
    let migrations = migrations_value(&rt, &folders.migrations)?;
    let seeds = match &folders.seeds {
        Some(lit) => seeds_value(&rt, lit)?,
        None => quote!(#rt::migrate::Seeds::__embedded(&[])),
    };
    Ok(quote! {
        const _: () = {
            static MIGRATIONS: #rt::migrate::Migrations = #migrations;
            static SEEDS: #rt::migrate::Seeds = #seeds;
            #rt::migrate::__private::inventory::submit! {
                #rt::migrate::__private::AppMigrations::new(
                    &MIGRATIONS,
                    &SEEDS,
                    ::core::concat!(::core::file!(), ":", ::core::line!()),
                )
            }
        };
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn variants(any: Option<&str>) -> Variants {
        Variants {
            any: any.map(str::to_string),
            ..Variants::default()
        }
    }

    #[test]
    fn up_and_down_pair_by_version_in_version_order() {
        let found = parse_migrations(&files(&[
            "20261207120000_create_posts.up.sql",
            "2_add_index.up.sql",
            "20261207120000_create_posts.down.sql",
            "README.md",
            ".gitkeep",
        ]))
        .unwrap();
        assert_eq!(
            found,
            [
                Found {
                    version: 2,
                    name: "add_index".into(),
                    up: variants(Some("2_add_index.up.sql")),
                    down: Variants::default(),
                },
                Found {
                    version: 20261207120000,
                    name: "create_posts".into(),
                    up: variants(Some("20261207120000_create_posts.up.sql")),
                    down: variants(Some("20261207120000_create_posts.down.sql")),
                },
            ]
        );
    }

    #[test]
    fn dialect_files_fill_their_slot() {
        let found = parse_migrations(&files(&[
            "1_ids.up.sql",
            "1_ids.postgres.up.sql",
            "1_ids.down.sql",
            "1_ids.mysql.down.sql",
            "1_ids.sqlite.down.sql",
        ]))
        .unwrap();
        assert_eq!(found[0].up.any.as_deref(), Some("1_ids.up.sql"));
        assert_eq!(
            found[0].up.postgres.as_deref(),
            Some("1_ids.postgres.up.sql")
        );
        assert_eq!(found[0].up.mysql, None);
        assert_eq!(found[0].down.mysql.as_deref(), Some("1_ids.mysql.down.sql"));
        assert_eq!(
            found[0].down.sqlite.as_deref(),
            Some("1_ids.sqlite.down.sql")
        );
    }

    #[test]
    fn one_file_per_dialect_needs_no_plain_file() {
        let found = parse_migrations(&files(&[
            "1_ids.postgres.up.sql",
            "1_ids.mysql.up.sql",
            "1_ids.sqlite.up.sql",
        ]))
        .unwrap();
        assert_eq!(found[0].up.any, None);
        assert_eq!(found[0].up.uncovered(), Vec::<&str>::new());
    }

    #[test]
    fn sql_for_some_dialects_only_is_refused() {
        let err = parse_migrations(&files(&["1_ids.postgres.up.sql"])).unwrap_err();
        assert!(
            err.starts_with(
                "migration 1_ids has up SQL for some dialects only (no file for mysql, sqlite)"
            ),
            "{err}"
        );
        let err = parse_migrations(&files(&["1_ids.up.sql", "1_ids.sqlite.down.sql"])).unwrap_err();
        assert!(
            err.contains("has down SQL for some dialects only (no file for postgres, mysql)"),
            "{err}"
        );
    }

    #[test]
    fn a_down_without_its_up_is_refused() {
        let err = parse_migrations(&files(&["3_drop.down.sql"])).unwrap_err();
        assert_eq!(
            err,
            "`3_drop.down.sql` has no up migration; hint: add `3_drop.up.sql`, or delete the down file"
        );
    }

    #[test]
    fn two_migrations_with_one_version_are_refused() {
        let err = parse_migrations(&files(&["7_a.up.sql", "7_b.up.sql"])).unwrap_err();
        assert!(
            err.starts_with("two migrations have the version 7: `7_a.up.sql` and `7_b.up.sql`"),
            "{err}"
        );
        let err = parse_migrations(&files(&["7_a.down.sql", "7_b.up.sql"])).unwrap_err();
        assert!(err.contains("`7_a.down.sql` and `7_b.up.sql`"), "{err}");
    }

    #[test]
    fn an_unknown_dialect_is_refused() {
        let err = parse_migrations(&files(&["1_x.oracle.up.sql"])).unwrap_err();
        assert!(err.starts_with("`1_x.oracle.up.sql`: `oracle` is not a dialect; hint: write `postgres`, `mysql` or `sqlite`"), "{err}");
    }

    #[test]
    fn malformed_names_are_refused_with_the_shape() {
        for (file, why) in [
            (
                "create_posts.sql",
                "it ends neither in `.up.sql` nor `.down.sql`",
            ),
            ("1_x.up.sq", "it ends neither"),
            ("12.up.sql", "no `_` between its version and its name"),
            ("v1_posts.up.sql", "its version `v1` is not digits"),
            ("_posts.up.sql", "its version `` is not digits"),
        ] {
            let err = parse_migrations(&files(&[file])).unwrap_err();
            assert!(
                err.starts_with(&format!("`{file}` is not a migration file name: {why}")),
                "{err}"
            );
            assert!(
                err.contains("hint: name migrations `<version>_<name>.up.sql`"),
                "{err}"
            );
        }
        let err = parse_migrations(&files(&["1_Create-Posts.up.sql"])).unwrap_err();
        assert!(
            err.contains("the name `Create-Posts` is not snake_case"),
            "{err}"
        );
        let err = parse_migrations(&files(&["1_.up.sql"])).unwrap_err();
        assert!(err.contains("the name `` is not snake_case"), "{err}");
        let err = parse_migrations(&files(&["99999999999999999999_x.up.sql"])).unwrap_err();
        assert!(err.contains("is too large"), "{err}");
    }

    #[test]
    fn an_empty_folder_has_no_migrations() {
        assert_eq!(parse_migrations(&[]).unwrap(), []);
    }

    #[test]
    fn seeds_in_name_order_with_dialects() {
        let seeds = parse_seeds(&files(&[
            "02_posts.sql",
            "01_users.sql",
            "01_users.postgres.sql",
            "notes.md",
        ]))
        .unwrap();
        assert_eq!(seeds.len(), 2);
        assert_eq!(seeds[0].name, "01_users");
        assert_eq!(
            seeds[0].sql.postgres.as_deref(),
            Some("01_users.postgres.sql")
        );
        assert_eq!(seeds[1].name, "02_posts");
        let err = parse_seeds(&files(&["users.txt"])).unwrap_err();
        assert!(err.starts_with("`users.txt` is not a seed file"), "{err}");
        let err = parse_seeds(&files(&["users.pg.sql"])).unwrap_err();
        assert!(err.contains("`pg` is not a dialect"), "{err}");
        let err = parse_seeds(&files(&["users.mysql.sql"])).unwrap_err();
        assert!(
            err.contains("seed `users` has SQL for some dialects only"),
            "{err}"
        );
        let err = parse_seeds(&files(&["Users.sql"])).unwrap_err();
        assert!(
            err.contains("the seed name `Users` is not snake_case"),
            "{err}"
        );
    }

    #[test]
    fn snake_names() {
        assert!(is_snake("create_posts2"));
        assert!(!is_snake("2posts"));
        assert!(!is_snake("Posts"));
        assert!(!is_snake(""));
    }

    #[test]
    fn the_argument_is_one_string() {
        let err = expand(quote!()).unwrap_err();
        assert!(err.to_string().starts_with("the macro needs a folder"));
        let err = expand(quote!(migrations)).unwrap_err();
        assert_eq!(err.to_string(), "expected string literal");
        let err = expand(quote!("a", "b")).unwrap_err();
        assert!(err.to_string().starts_with("the macro takes one argument"));
        let err = expand_app(quote!("a", seed = "s")).unwrap_err();
        assert!(err.to_string().starts_with("unexpected `seed`"));
    }
}
