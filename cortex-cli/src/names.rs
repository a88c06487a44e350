//! Names: app (crate) names for `cortex new`, and the identifiers `cortex generate` derives from
//! a name given in any case (`blog_post`, `BlogPost`, `blog-post`).
//!
//! Case conversion is [`heck`]'s (the crate clap's derive uses); plurals follow a few English rules
//! ([`plural`]), enough for resource paths.

use heck::{ToKebabCase, ToPascalCase, ToSnakeCase};

use crate::error::{CliError, Result};

/// Rust's keywords, strict and reserved (2024 edition): none can be a module or crate name.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names an app cannot take: the standard crates, the crates the app depends on (a package named
/// like its dependency cannot use it), and names cargo keeps for its own folders.
const RESERVED_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "cortex",
    "serde",
    "serde_json",
    "validator",
    "tokio",
    "tracing",
    "build",
    "deps",
    "examples",
    "incremental",
    // Windows device names: such a folder cannot exist there.
    "con",
    "prn",
    "aux",
    "nul",
    "com1",
    "lpt1",
];

/// Whether `word` is a Rust keyword.
pub fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

/// Checks an app name for `cortex new`: lowercase ASCII letters, digits, `-` and `_`, starting
/// with a letter, not a keyword or a reserved crate name. The error's hint proposes a name that
/// passes.
///
/// ```
/// use cortex_cli::names::check_app_name;
///
/// assert!(check_app_name("blog").is_ok());
/// assert!(check_app_name("my-shop_2").is_ok());
/// let e = check_app_name("9lives").unwrap_err();
/// assert_eq!(e.to_string(), "`9lives` is not a valid app name: it must start with a letter");
/// assert_eq!(e.hint_text(), Some("try `app-9lives`"));
/// ```
pub fn check_app_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        Some("it must start with a letter")
    } else if name.chars().any(|c| c.is_ascii_uppercase()) {
        Some("it must be lowercase")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Some("only letters, digits, `-` and `_` are allowed")
    } else if is_keyword(&name.replace('-', "_")) {
        Some("it is a Rust keyword")
    } else if RESERVED_CRATES.contains(&name.replace('-', "_").as_str()) {
        Some("the name is taken by a crate the app uses or by cargo")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => {
            let error =
                CliError::new(format!("`{name}` is not a valid app name: {problem}")).with_code(2);
            Err(match suggest_app_name(name) {
                Some(fixed) => error.hint(format!("try `{fixed}`")),
                None => error.hint("use lowercase letters, digits and `-`, starting with a letter"),
            })
        }
    }
}

/// A valid app name close to `name`: kebab-case, a leading digit prefixed with `app-`, a keyword
/// or reserved name suffixed with `-app`. `None` when nothing of `name` is usable.
fn suggest_app_name(name: &str) -> Option<String> {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut fixed = cleaned.to_kebab_case();
    if fixed.is_empty() {
        return None;
    }
    if fixed.starts_with(|c: char| c.is_ascii_digit()) {
        fixed = format!("app-{fixed}");
    }
    let snake = fixed.replace('-', "_");
    if is_keyword(&snake) || RESERVED_CRATES.contains(&snake.as_str()) {
        fixed.push_str("-app");
    }
    check_app_name(&fixed).is_ok().then_some(fixed)
}

/// A name for `cortex generate`, in the forms generated code needs.
///
/// ```
/// use cortex_cli::names::Name;
///
/// let name = Name::parse("blog-post").unwrap();
/// assert_eq!(name.pascal(), "BlogPost");
/// assert_eq!(name.snake(), "blog_post");
/// assert_eq!(name.kebab(), "blog-post");
/// assert_eq!(name.path(), "blog-posts");
/// assert_eq!(Name::parse("BlogPosts").unwrap().snake(), "blog_posts");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    snake: String,
}

impl Name {
    /// Reads a name given in any case: `blog_post`, `BlogPost`, `blog-post`, `blogPost`. It must
    /// start with a letter and hold only ASCII letters, digits, `-` and `_`; its snake_case form
    /// must not be a Rust keyword.
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(CliError::new("the name is empty")
                .hint("give a name such as `posts` or `BlogPost`")
                .with_code(2));
        }
        if !raw.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(CliError::new(format!(
                "`{raw}` is not a valid name: it must start with a letter"
            ))
            .hint("give a name such as `posts` or `BlogPost`")
            .with_code(2));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(CliError::new(format!(
                "`{raw}` is not a valid name: `{bad}` is not allowed"
            ))
            .hint("use letters, digits, `-` and `_`, e.g. `blog-post` or `BlogPost`")
            .with_code(2));
        }
        let snake = raw.to_snake_case();
        if is_keyword(&snake) || snake == "mod" || snake == "lib" || snake == "main" {
            return Err(CliError::new(format!(
                "`{raw}` is not a valid name: `{snake}` is a Rust keyword or a reserved module name"
            ))
            .hint(format!("choose another name, e.g. `{snake}_item`"))
            .with_code(2));
        }
        Ok(Self { snake })
    }

    /// `blog_post`: modules and files.
    pub fn snake(&self) -> &str {
        &self.snake
    }

    /// `BlogPost`: types.
    pub fn pascal(&self) -> String {
        self.snake.to_pascal_case()
    }

    /// `blog-post`.
    pub fn kebab(&self) -> String {
        self.snake.to_kebab_case()
    }

    /// `blog-posts`: the URL path segment of a resource, kebab-case and plural.
    pub fn path(&self) -> String {
        plural(&self.kebab())
    }

    /// The name without a plural ending: `posts` → `post`, `categories` → `category`; a name that
    /// is not plural is returned as it is.
    pub fn singular(&self) -> Name {
        Name {
            snake: singular(&self.snake),
        }
    }
}

/// The plural of the last word of `word` (`post` → `posts`, `category` → `categories`, `box` →
/// `boxes`); a word that already ends in `s` stays as it is.
///
/// ```
/// assert_eq!(cortex_cli::names::plural("blog-post"), "blog-posts");
/// assert_eq!(cortex_cli::names::plural("category"), "categories");
/// assert_eq!(cortex_cli::names::plural("posts"), "posts");
/// ```
pub fn plural(word: &str) -> String {
    let vowel_before = |w: &str| w.chars().rev().nth(1).is_some_and(|c| "aeiou".contains(c));
    if word.ends_with('s') {
        word.to_string()
    } else if word.ends_with('y') && !vowel_before(word) {
        format!("{}ies", &word[..word.len() - 1])
    } else if word.ends_with('x')
        || word.ends_with("ch")
        || word.ends_with("sh")
        || word.ends_with('z')
    {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// The singular of the last word of `word` (`posts` → `post`, `categories` → `category`,
/// `boxes` → `box`); a word that does not end in `s` (or ends in `ss`) stays as it is.
///
/// ```
/// assert_eq!(cortex_cli::names::singular("blog_posts"), "blog_post");
/// assert_eq!(cortex_cli::names::singular("categories"), "category");
/// assert_eq!(cortex_cli::names::singular("address"), "address");
/// ```
pub fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies")
        && !stem.is_empty()
    {
        format!("{stem}y")
    } else if let Some(stem) = word.strip_suffix("es")
        && (stem.ends_with('x')
            || stem.ends_with("ch")
            || stem.ends_with("sh")
            || stem.ends_with("ss")
            || stem.ends_with('z'))
    {
        stem.to_string()
    } else if let Some(stem) = word.strip_suffix('s')
        && !stem.is_empty()
        && !stem.ends_with('s')
        && !stem.ends_with('u')
    {
        stem.to_string()
    } else {
        word.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app_error(name: &str) -> (String, Option<String>) {
        let e = check_app_name(name).unwrap_err();
        (e.to_string(), e.hint_text().map(str::to_string))
    }

    #[test]
    fn bad_app_names_are_refused_with_a_fixed_name() {
        assert_eq!(
            app_error("my app"),
            (
                "`my app` is not a valid app name: only letters, digits, `-` and `_` are allowed"
                    .into(),
                Some("try `my-app`".into())
            )
        );
        assert_eq!(app_error("fn").1.as_deref(), Some("try `fn-app`"));
        assert_eq!(app_error("self").1.as_deref(), Some("try `self-app`"));
        assert_eq!(app_error("test").1.as_deref(), Some("try `test-app`"));
        assert_eq!(app_error("cortex").1.as_deref(), Some("try `cortex-app`"));
        assert_eq!(app_error("std").1.as_deref(), Some("try `std-app`"));
        assert_eq!(app_error("MyApp").1.as_deref(), Some("try `my-app`"));
        assert_eq!(app_error("9lives").1.as_deref(), Some("try `app-9lives`"));
        assert_eq!(
            app_error(""),
            (
                "`` is not a valid app name: it is empty".into(),
                Some("use lowercase letters, digits and `-`, starting with a letter".into())
            )
        );
        assert_eq!(
            app_error("!!").1.as_deref(),
            Some("use lowercase letters, digits and `-`, starting with a letter")
        );
    }

    #[test]
    fn good_app_names_pass() {
        for name in ["blog", "my-app", "shop_2", "a"] {
            check_app_name(name).unwrap();
        }
    }

    #[test]
    fn names_in_any_case_give_the_same_identifiers() {
        for raw in ["blog_post", "BlogPost", "blog-post", "blogPost"] {
            let name = Name::parse(raw).unwrap();
            assert_eq!(
                (name.snake(), name.pascal().as_str()),
                ("blog_post", "BlogPost")
            );
            assert_eq!(name.path(), "blog-posts");
        }
        assert_eq!(
            Name::parse("categories").unwrap().singular().pascal(),
            "Category"
        );
        assert_eq!(Name::parse("tax").unwrap().path(), "taxes");
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(
            Name::parse("9lives").unwrap_err().to_string(),
            "`9lives` is not a valid name: it must start with a letter"
        );
        assert_eq!(
            Name::parse("fn").unwrap_err().to_string(),
            "`fn` is not a valid name: `fn` is a Rust keyword or a reserved module name"
        );
        assert_eq!(
            Name::parse("  ").unwrap_err().to_string(),
            "the name is empty"
        );
        assert_eq!(
            Name::parse("a.b").unwrap_err().to_string(),
            "`a.b` is not a valid name: `.` is not allowed"
        );
    }
}
