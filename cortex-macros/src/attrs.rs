//! The options of `#[injectable(..)]` and `#[provider(..)]`, and the `#[inject(..)]` attribute on
//! fields and arguments.
//!
//! Parsing is tolerant: an unknown or malformed option is recorded and parsing goes on, so the
//! user sees every problem in one build.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitBool, LitStr, Meta, Path, Token, Type};

use crate::errors::Errors;
use crate::types;

/// Which macro the options belong to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MacroKind {
    Injectable,
    Provider,
}

impl MacroKind {
    fn attr(self) -> &'static str {
        match self {
            MacroKind::Injectable => "#[injectable]",
            MacroKind::Provider => "#[provider]",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            MacroKind::Injectable => &[
                "scope", "lazy", "name", "provides", "profile", "when", "discover", "crate",
            ],
            MacroKind::Provider => &[
                "scope", "lazy", "name", "profile", "when", "discover", "crate",
            ],
        }
    }
}

/// How long instances live; mirrors `cortex_di::Scope`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum Scope {
    #[default]
    Singleton,
    Transient,
    Request,
}

impl Scope {
    const NAMES: [&'static str; 3] = ["singleton", "transient", "request"];

    fn parse(name: &str) -> Option<Scope> {
        match name {
            "singleton" => Some(Scope::Singleton),
            "transient" => Some(Scope::Transient),
            "request" => Some(Scope::Request),
            _ => None,
        }
    }

    /// The variant's path under `krate`.
    pub(crate) fn path(self, krate: &Path) -> TokenStream {
        match self {
            Scope::Singleton => quote!(#krate::Scope::Singleton),
            Scope::Transient => quote!(#krate::Scope::Transient),
            Scope::Request => quote!(#krate::Scope::Request),
        }
    }
}

/// The options of one macro invocation, validated.
#[derive(Default)]
pub(crate) struct Options {
    /// `crate = "path"`: where the runtime is, when the manifest cannot tell.
    pub(crate) krate: Option<Path>,
    pub(crate) scope: Scope,
    /// `lazy` (or `lazy = true`).
    pub(crate) lazy: bool,
    pub(crate) name: Option<LitStr>,
    /// `provides = dyn Trait` (`#[injectable]` only).
    pub(crate) provides: Option<Type>,
    pub(crate) profiles: Vec<LitStr>,
    pub(crate) when: Option<Expr>,
    /// `discover = false`: not submitted to the registry `discover()` reads; registered by hand
    /// (a plugin's `app.register::<T>()`).
    pub(crate) undiscovered: bool,
}

/// One `key` or `key = value` as written.
struct RawOption {
    key: Ident,
    value: RawValue,
}

enum RawValue {
    /// `key` alone.
    Flag,
    Expr(Expr),
    Type(Type),
    /// The value of an unknown key, skipped.
    Skipped,
}

impl RawValue {
    fn span_or(&self, key: &Ident) -> TokenStream {
        match self {
            RawValue::Expr(e) => e.to_token_stream(),
            RawValue::Type(t) => t.to_token_stream(),
            RawValue::Flag | RawValue::Skipped => key.to_token_stream(),
        }
    }
}

/// Parses and validates the options of `kind`; problems go to `errors`.
pub(crate) fn parse_options(attr: TokenStream, kind: MacroKind, errors: &mut Errors) -> Options {
    let parser = |input: ParseStream<'_>| parse_raw(input, kind);
    let Some(raw) = errors.take(parser.parse2(attr)) else {
        return Options::default();
    };
    let mut options = Options::default();
    let mut seen: Vec<Ident> = Vec::new();
    let mut lazy_key: Option<Ident> = None;
    for RawOption { key, value } in raw {
        let name = key.unraw().to_string();
        if !kind.keys().contains(&name.as_str()) {
            errors.at(&key, unknown_option(kind, &name));
            continue;
        }
        if name != "profile" {
            if seen.iter().any(|k| *k == name) {
                errors.at(&key, format!("duplicate option `{name}`: it is already given earlier in this attribute; remove one"));
                continue;
            }
            seen.push(key.clone());
        }
        match name.as_str() {
            "scope" => {
                if let Some(lit) = string_value(&key, &value, "scope = \"request\"", errors) {
                    match Scope::parse(&lit.value()) {
                        Some(scope) => options.scope = scope,
                        None => errors.at(&lit, unknown_scope(&lit.value())),
                    }
                }
            }
            "lazy" => match &value {
                RawValue::Flag => {
                    options.lazy = true;
                    lazy_key = Some(key);
                }
                RawValue::Expr(Expr::Lit(ExprLit { lit: Lit::Bool(LitBool { value: on, .. }), .. })) => {
                    options.lazy = *on;
                    lazy_key = Some(key);
                }
                other => errors.at(
                    other.span_or(&key),
                    "`lazy` takes no value, or `true` or `false`: `#[injectable(lazy)]` creates the singleton on first use",
                ),
            },
            "name" => {
                if let Some(lit) = string_value(&key, &value, "name = \"primary\"", errors) {
                    if lit.value().trim().is_empty() {
                        errors.at(&lit, "the binding name cannot be empty; hint: `name = \"primary\"`");
                    } else {
                        options.name = Some(lit);
                    }
                }
            }
            "discover" => match &value {
                RawValue::Expr(Expr::Lit(ExprLit { lit: Lit::Bool(LitBool { value: on, .. }), .. })) => {
                    options.undiscovered = !*on;
                }
                other => errors.at(
                    other.span_or(&key),
                    format!("`discover` takes `true` or `false`: `{}(discover = false)]` keeps the item out of `discover()`, for a crate whose plugin registers it with `app.register::<T>()`", kind.attr().trim_end_matches(']')),
                ),
            },
            "provides" => options.provides = provides_value(&key, value, errors),
            "profile" => options.profiles.extend(profile_values(&key, &value, errors)),
            "when" => options.when = when_value(&key, value, errors),
            "crate" => options.krate = crate_value(&key, &value, errors),
            _ => unreachable!("every key of {kind:?} is handled"),
        }
    }
    if options.lazy && options.scope != Scope::Singleton {
        let key = lazy_key.expect("lazy was set by the `lazy` option");
        errors.at(
            &key,
            "`lazy` applies to singletons only: a transient or request-scoped value is already created when it is first resolved; hint: remove `lazy`, or make it a singleton",
        );
    }
    options
}

fn parse_raw(input: ParseStream<'_>, kind: MacroKind) -> syn::Result<Vec<RawOption>> {
    let mut options = Vec::new();
    while !input.is_empty() {
        if !input.peek(Ident::peek_any) {
            let valid = list(kind.keys());
            return Err(input.error(format!(
                "expected an option of {}, such as `scope = \"request\"`; valid options: {valid}",
                kind.attr()
            )));
        }
        let key = input.call(Ident::parse_any)?;
        let name = key.unraw().to_string();
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            if !kind.keys().contains(&name.as_str()) {
                skip_value(input)?;
                RawValue::Skipped
            } else if name == "provides" && !input.peek(LitStr) {
                RawValue::Type(input.parse()?)
            } else {
                RawValue::Expr(input.parse()?)
            }
        } else {
            RawValue::Flag
        };
        options.push(RawOption { key, value });
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(options)
}

/// Skips the value of an unknown option: everything up to the next `,` outside `<...>`.
fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        let mut depth = 0usize;
        let mut prev: Option<char> = None;
        while let Some((tt, next)) = rest.token_tree() {
            if let TokenTree::Punct(p) = &tt {
                match p.as_char() {
                    ',' if depth == 0 => break,
                    '<' => depth += 1,
                    '>' if !matches!(prev, Some('-' | '=')) => depth = depth.saturating_sub(1),
                    _ => {}
                }
                prev = Some(p.as_char());
            } else {
                prev = None;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

/// The string literal of `key = "..."`, or an error showing `example`.
fn string_value(
    key: &Ident,
    value: &RawValue,
    example: &str,
    errors: &mut Errors,
) -> Option<LitStr> {
    match value {
        RawValue::Expr(Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        })) => Some(lit.clone()),
        RawValue::Expr(Expr::Path(p)) if p.path.get_ident().is_some() => {
            let word = p.path.get_ident().expect("checked above");
            errors.at(
                p,
                format!("`{key}` takes a string; hint: write `{key} = \"{word}\"`"),
            );
            None
        }
        RawValue::Flag => {
            errors.at(key, format!("`{key}` needs a value: `{example}`"));
            None
        }
        other => {
            errors.at(
                other.span_or(key),
                format!("`{key}` takes a string: `{example}`"),
            );
            None
        }
    }
}

fn provides_value(key: &Ident, value: RawValue, errors: &mut Errors) -> Option<Type> {
    match value {
        RawValue::Type(ty) if types::is_trait_object(&ty) => Some(ty),
        RawValue::Type(ty) => {
            let shown = types::shown(&ty);
            let hint = match &ty {
                Type::Path(p) if p.qself.is_none() => {
                    format!("; if `{shown}` is a trait, write `provides = dyn {shown}`")
                }
                _ => String::new(),
            };
            errors.at(
                &ty,
                format!(
                    "`provides` takes a trait object type, such as `provides = dyn Mailer`; found `{shown}`{hint} (the struct itself is always provided)"
                ),
            );
            None
        }
        RawValue::Expr(expr) => {
            let hint = match &expr {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => format!(": `provides = {}`", s.value()),
                _ => String::new(),
            };
            errors.at(
                &expr,
                format!("`provides` takes a type, written without quotes{hint}"),
            );
            None
        }
        RawValue::Flag | RawValue::Skipped => {
            errors.at(
                key,
                "`provides` needs a trait object type: `provides = dyn Mailer`",
            );
            None
        }
    }
}

fn profile_values(key: &Ident, value: &RawValue, errors: &mut Errors) -> Vec<LitStr> {
    let mut out = Vec::new();
    let mut check = |lit: &LitStr, errors: &mut Errors| {
        let text = lit.value();
        let bare = text.strip_prefix('!').unwrap_or(&text);
        if bare.trim().is_empty() {
            errors.at(lit, "a profile name cannot be empty; hint: `profile = \"test\"` or `profile = \"!prod\"`");
        } else if bare.contains([',', ' ', '|']) {
            errors.at(
                lit,
                format!(
                    "one profile per string; hint: `profile = [{}]`",
                    split_profiles(&text)
                ),
            );
        } else {
            out.push(lit.clone());
        }
    };
    match value {
        RawValue::Expr(Expr::Lit(ExprLit { lit: Lit::Str(lit), .. })) => check(lit, errors),
        RawValue::Expr(Expr::Array(array)) if !array.elems.is_empty() => {
            for elem in &array.elems {
                match elem {
                    Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }) => check(lit, errors),
                    other => errors.at(other, "profiles are strings: `profile = [\"dev\", \"!prod\"]`"),
                }
            }
        }
        RawValue::Flag => errors.at(key, "`profile` needs a value: `profile = \"test\"` or `profile = [\"dev\", \"!prod\"]`"),
        other => errors.at(
            other.span_or(key),
            "`profile` takes a string or a list of strings: `profile = \"test\"` or `profile = [\"dev\", \"!prod\"]`",
        ),
    }
    out
}

fn split_profiles(text: &str) -> String {
    text.split([',', ' ', '|'])
        .filter(|p| !p.is_empty())
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn when_value(key: &Ident, value: RawValue, errors: &mut Errors) -> Option<Expr> {
    const USAGE: &str = "`when` takes a predicate function: `when = path::to::check` with `fn check(env: &Env) -> bool`, or a closure `when = |env| ...`";
    match value {
        RawValue::Expr(expr @ (Expr::Path(_) | Expr::Closure(_))) => Some(expr),
        RawValue::Expr(Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        })) => {
            errors.at(
                &lit,
                format!(
                    "{USAGE}; hint: to register only under a profile, write `profile = {}`",
                    lit.to_token_stream()
                ),
            );
            None
        }
        RawValue::Expr(expr @ Expr::Call(_)) => {
            errors.at(
                &expr,
                format!("{USAGE}; hint: name the function without calling it"),
            );
            None
        }
        other => {
            errors.at(other.span_or(key), USAGE);
            None
        }
    }
}

fn crate_value(key: &Ident, value: &RawValue, errors: &mut Errors) -> Option<Path> {
    match value {
        RawValue::Expr(Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        })) => match lit.parse::<Path>() {
            Ok(path) => Some(path),
            Err(_) => {
                errors.at(lit, format!("`crate` takes the path of the runtime crate, such as `crate = \"::cortex::di\"`; `{}` is not a path", lit.value()));
                None
            }
        },
        RawValue::Expr(Expr::Path(p)) if p.qself.is_none() => Some(p.path.clone()),
        other => {
            errors.at(
                other.span_or(key),
                "`crate` takes the path of the runtime crate: `crate = \"::cortex::di\"`",
            );
            None
        }
    }
}

fn unknown_option(kind: MacroKind, name: &str) -> String {
    let mut message = format!("unknown option `{name}` for {}", kind.attr());
    message.push_str(&format!("; valid options: {}", list(kind.keys())));
    if kind == MacroKind::Provider && name == "provides" {
        message.push_str("; hint: a #[provider] provides what it returns: return `Arc<dyn Trait>` to provide a trait object");
    } else if let Some(close) = suggest(name, kind.keys()) {
        message.push_str(&format!("; hint: did you mean `{close}`?"));
    }
    message
}

fn unknown_scope(name: &str) -> String {
    let mut message = format!(
        "unknown scope `{name}`; valid scopes: \"singleton\" (the default: one instance for the container), \"transient\" (a new instance on every resolve), \"request\" (one instance per request)"
    );
    if let Some(close) = suggest(name, &Scope::NAMES) {
        message.push_str(&format!("; hint: did you mean \"{close}\"?"));
    }
    message
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The name in `candidates` closest to `word`, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A stricter [`suggest`], for names that may belong to someone else (attributes of other
/// crates): only one edit away from a short candidate (`gte` for `get`), two from a candidate of
/// five letters or more (`midleware`), never an exact match.
pub(crate) fn suggest_typo<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .filter(|c| **c != word)
        .map(|c| (distance(&lower, c), *c))
        .filter(|(d, c)| *d <= if c.len() < 5 { 1 } else { 2 })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance where swapping two neighbouring letters counts as one edit (optimal string
/// alignment), so `gte` is one edit from `get`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: two back (for swaps), the previous one and the current one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut row: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        row[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (prev[j - 1] + cost).min(prev[j] + 1).min(row[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            row[j] = best;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut row);
    }
    prev[b.len()]
}

/// How a field or argument is filled when it is not a dependency.
pub(crate) enum Fill {
    /// `#[inject(default)]`.
    Default,
    /// `#[inject(value = <expr>)]`.
    Value(Expr),
    /// `#[inject(config = "dotted.key")]`.
    Config(LitStr),
}

/// The `#[inject(..)]` attributes of one field or argument, merged.
#[derive(Default)]
pub(crate) struct InjectAttr {
    /// `name = "..."`: the named binding to inject.
    pub(crate) name: Option<LitStr>,
    pub(crate) fill: Option<Fill>,
    /// The attributes had errors (already reported): what the user meant is unknown.
    pub(crate) broken: bool,
}

const INJECT_KEYS: [&str; 4] = ["name", "default", "value", "config"];

/// Removes the `#[inject(..)]` attributes from `attrs` and reads them; `what` names the field or
/// argument in messages.
pub(crate) fn take_inject_attrs(
    attrs: &mut Vec<Attribute>,
    what: &str,
    errors: &mut Errors,
) -> InjectAttr {
    let mut out = InjectAttr::default();
    let errors_before = errors.count();
    // The options seen so far, to report duplicates and conflicts at the later one.
    let mut seen: Vec<Ident> = Vec::new();
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !attr.path().is_ident("inject") {
            kept.push(attr);
            continue;
        }
        let list = match &attr.meta {
            Meta::List(list) => list,
            _ => {
                errors.at(
                    &attr,
                    format!(
                        "`#[inject]` needs an option: `#[inject(name = \"...\")]`, `#[inject(default)]`, `#[inject(value = <expr>)]` or `#[inject(config = \"some.key\")]`{}",
                        if what.is_empty() { String::new() } else { format!(" (on {what})") }
                    ),
                );
                continue;
            }
        };
        let parsed = list.parse_args_with(|input: ParseStream<'_>| {
            let mut items = Vec::new();
            while !input.is_empty() {
                let key = input.call(Ident::parse_any)?;
                let value = if input.peek(Token![=]) {
                    input.parse::<Token![=]>()?;
                    if INJECT_KEYS.contains(&key.unraw().to_string().as_str()) {
                        Some(input.parse::<Expr>()?)
                    } else {
                        skip_value(input)?;
                        None
                    }
                } else {
                    None
                };
                items.push((key, value));
                if input.is_empty() {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            Ok(items)
        });
        let Some(items) = errors.take(parsed) else {
            continue;
        };
        if items.is_empty() {
            errors.at(
                &attr,
                "`#[inject()]` is empty; valid options: `name`, `default`, `value`, `config`",
            );
        }
        for (key, value) in items {
            let name = key.unraw().to_string();
            if !INJECT_KEYS.contains(&name.as_str()) {
                let mut message = format!(
                    "unknown #[inject] option `{name}`; valid options: `name = \"...\"`, `default`, `value = <expr>`, `config = \"some.key\"`"
                );
                if let Some(close) = suggest(&name, &INJECT_KEYS) {
                    message.push_str(&format!("; hint: did you mean `{close}`?"));
                }
                errors.at(&key, message);
                continue;
            }
            if seen.iter().any(|k| *k == name) {
                errors.at(
                    &key,
                    format!("duplicate #[inject] option `{name}`; remove one"),
                );
                continue;
            }
            if let Some(first) = seen.first() {
                // Any two of name/default/value/config conflict: each says how to fill the slot.
                errors.at(&key, conflict(first, &name, what));
                seen.push(key);
                continue;
            }
            seen.push(key.clone());
            match (name.as_str(), value) {
                ("default", None) => out.fill = Some(Fill::Default),
                ("default", Some(v)) => errors.at(&v, "`default` takes no value: `#[inject(default)]` fills the field with `Default::default()`"),
                ("value", Some(v)) => out.fill = Some(Fill::Value(v)),
                ("value", None) => errors.at(&key, "`value` needs an expression: `#[inject(value = 8080)]`"),
                ("name", Some(Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }))) => {
                    if lit.value().trim().is_empty() {
                        errors.at(&lit, "the binding name cannot be empty; hint: `#[inject(name = \"primary\")]`");
                    } else {
                        out.name = Some(lit);
                    }
                }
                ("name", other) => errors.at(
                    other.map_or_else(|| key.to_token_stream(), |v| v.to_token_stream()),
                    "`name` takes a string: `#[inject(name = \"primary\")]`",
                ),
                ("config", Some(Expr::Lit(ExprLit { lit: Lit::Str(lit), .. }))) => {
                    match config_key_problem(&lit.value()) {
                        Some(problem) => errors.at(&lit, problem),
                        None => out.fill = Some(Fill::Config(lit)),
                    }
                }
                ("config", other) => errors.at(
                    other.map_or_else(|| key.to_token_stream(), |v| v.to_token_stream()),
                    "`config` takes a dotted key: `#[inject(config = \"server.port\")]`",
                ),
                _ => unreachable!("every #[inject] option is handled"),
            }
        }
    }
    *attrs = kept;
    out.broken = errors.count() > errors_before;
    out
}

fn conflict(first: &Ident, second: &str, what: &str) -> String {
    let on = if what.is_empty() {
        String::new()
    } else {
        format!(" for {what}")
    };
    if first == "name" || second == "name" {
        let other = if first == "name" {
            second.to_string()
        } else {
            first.to_string()
        };
        format!(
            "conflicting #[inject] options `{first}` and `{second}`{on}: `name` selects a named binding to inject, and `{other}` fills the value without the container; keep one"
        )
    } else {
        format!(
            "conflicting #[inject] options `{first}` and `{second}`{on}: both say how to fill it; keep one"
        )
    }
}

fn config_key_problem(key: &str) -> Option<String> {
    if key.trim().is_empty() {
        Some("the config key cannot be empty; hint: `#[inject(config = \"server.port\")]`".into())
    } else if key.split('.').any(|part| part.is_empty()) {
        Some(format!(
            "config key `{key}` has an empty segment; write dotted keys like `server.port`"
        ))
    } else if key.contains(char::is_whitespace) {
        Some(format!(
            "config key `{key}` contains whitespace; write dotted keys like `server.port`"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;
    use syn::parse_quote;

    use super::*;

    fn options(kind: MacroKind, attr: TokenStream) -> Result<Options, Vec<String>> {
        let mut errors = Errors::default();
        let options = parse_options(attr, kind, &mut errors);
        match errors.finish() {
            Ok(()) => Ok(options),
            Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    fn messages(kind: MacroKind, attr: TokenStream) -> Vec<String> {
        options(kind, attr).err().expect("expected errors")
    }

    #[test]
    fn no_options_means_an_eager_unnamed_singleton() {
        let o = options(MacroKind::Injectable, quote!()).unwrap();
        assert_eq!(o.scope, Scope::Singleton);
        assert!(
            !o.lazy
                && o.name.is_none()
                && o.provides.is_none()
                && o.profiles.is_empty()
                && o.when.is_none()
        );
    }

    #[test]
    fn every_option_is_read() {
        let o = options(
            MacroKind::Injectable,
            quote!(scope = "singleton", lazy, name = "primary", provides = dyn Mailer + Send, profile = "test",
                   profile = ["dev", "!prod"], when = checks::enabled, crate = "::cortex::di"),
        )
        .unwrap();
        assert!(o.lazy);
        assert_eq!(o.name.unwrap().value(), "primary");
        assert_eq!(types::shown(o.provides.unwrap()), "dyn Mailer + Send");
        let profiles: Vec<String> = o.profiles.iter().map(LitStr::value).collect();
        assert_eq!(profiles, ["test", "dev", "!prod"]);
        assert_eq!(types::shown(o.when.unwrap()), "checks::enabled");
        assert_eq!(types::shown(o.krate.unwrap()), "::cortex::di");
    }

    #[test]
    fn lazy_takes_an_optional_bool() {
        assert!(
            !options(MacroKind::Injectable, quote!(lazy = false))
                .unwrap()
                .lazy
        );
        assert!(
            options(MacroKind::Provider, quote!(lazy = true))
                .unwrap()
                .lazy
        );
        assert!(
            messages(MacroKind::Injectable, quote!(lazy = "yes"))[0]
                .contains("`lazy` takes no value")
        );
    }

    #[test]
    fn scopes_are_checked() {
        assert_eq!(
            options(MacroKind::Provider, quote!(scope = "request"))
                .unwrap()
                .scope,
            Scope::Request
        );
        let m = messages(MacroKind::Injectable, quote!(scope = "requets"));
        assert!(
            m[0].starts_with("unknown scope `requets`; valid scopes: \"singleton\""),
            "{m:?}"
        );
        assert!(m[0].ends_with("; hint: did you mean \"request\"?"), "{m:?}");
        let m = messages(MacroKind::Injectable, quote!(scope = transient));
        assert_eq!(
            m,
            ["`scope` takes a string; hint: write `scope = \"transient\"`"]
        );
    }

    #[test]
    fn unknown_options_list_the_valid_ones_and_parsing_goes_on() {
        let m = messages(
            MacroKind::Injectable,
            quote!(scop = "request", named = Foo<A, B>, lazy = 3),
        );
        assert_eq!(m.len(), 3, "{m:?}");
        assert_eq!(
            m[0],
            "unknown option `scop` for #[injectable]; valid options: `scope`, `lazy`, `name`, `provides`, `profile`, `when`, `discover`, `crate`; hint: did you mean `scope`?"
        );
        assert!(
            m[1].starts_with("unknown option `named` for #[injectable]; ")
                && m[1].ends_with("did you mean `name`?")
        );
        assert!(m[2].contains("`lazy` takes no value"));
    }

    #[test]
    fn provides_is_explained_on_provider() {
        let m = messages(MacroKind::Provider, quote!(provides = dyn Mailer));
        assert!(
            m[0].contains("a #[provider] provides what it returns"),
            "{m:?}"
        );
    }

    #[test]
    fn duplicates_are_errors_except_profile() {
        let m = messages(
            MacroKind::Injectable,
            quote!(scope = "request", scope = "transient"),
        );
        assert_eq!(m.len(), 1);
        assert!(m[0].starts_with("duplicate option `scope`"));
        assert_eq!(
            options(MacroKind::Injectable, quote!(profile = "a", profile = "b"))
                .unwrap()
                .profiles
                .len(),
            2
        );
    }

    #[test]
    fn lazy_needs_a_singleton() {
        let m = messages(MacroKind::Injectable, quote!(lazy, scope = "transient"));
        assert!(m[0].starts_with("`lazy` applies to singletons only"));
        assert!(
            options(
                MacroKind::Injectable,
                quote!(lazy = false, scope = "request")
            )
            .is_ok()
        );
    }

    #[test]
    fn provides_needs_a_trait_object() {
        let m = messages(MacroKind::Injectable, quote!(provides = Mailer));
        assert!(
            m[0].contains("if `Mailer` is a trait, write `provides = dyn Mailer`"),
            "{m:?}"
        );
        let m = messages(MacroKind::Injectable, quote!(provides = "dyn Mailer"));
        assert!(
            m[0].contains("written without quotes: `provides = dyn Mailer`"),
            "{m:?}"
        );
    }

    #[test]
    fn when_needs_a_function() {
        let m = messages(MacroKind::Injectable, quote!(when = "prod"));
        assert!(m[0].contains("write `profile = \"prod\"`"), "{m:?}");
        let m = messages(MacroKind::Injectable, quote!(when = enabled()));
        assert!(
            m[0].contains("name the function without calling it"),
            "{m:?}"
        );
        assert!(
            options(
                MacroKind::Injectable,
                quote!(when = |env| env.is_active("x"))
            )
            .is_ok()
        );
    }

    #[test]
    fn profiles_are_single_names() {
        let m = messages(MacroKind::Injectable, quote!(profile = "dev, test"));
        assert_eq!(
            m,
            ["one profile per string; hint: `profile = [\"dev\", \"test\"]`"]
        );
        let m = messages(MacroKind::Injectable, quote!(profile = ["!"]));
        assert!(m[0].starts_with("a profile name cannot be empty"));
    }

    #[test]
    fn a_bad_crate_path_is_reported() {
        let m = messages(MacroKind::Injectable, quote!(crate = "not a path"));
        assert!(m[0].contains("is not a path"));
        let o = options(MacroKind::Injectable, quote!(crate = ::my::di)).unwrap();
        assert_eq!(types::shown(o.krate.unwrap()), "::my::di");
    }

    #[test]
    fn a_literal_where_an_option_belongs_is_explained() {
        let m = messages(MacroKind::Injectable, quote!("request"));
        assert!(
            m[0].starts_with("expected an option of #[injectable], such as `scope = \"request\"`")
        );
    }

    fn inject(attrs: Vec<Attribute>) -> (Vec<Attribute>, Result<InjectAttr, Vec<String>>) {
        let mut attrs = attrs;
        let mut errors = Errors::default();
        let parsed = take_inject_attrs(&mut attrs, "field `x`", &mut errors);
        let result = match errors.finish() {
            Ok(()) => Ok(parsed),
            Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
        };
        (attrs, result)
    }

    #[test]
    fn inject_attributes_are_read_and_removed() {
        let (left, parsed) = inject(vec![
            parse_quote!(#[serde(skip)]),
            parse_quote!(#[inject(name = "primary")]),
        ]);
        assert_eq!(left.len(), 1);
        assert!(left[0].path().is_ident("serde"));
        assert_eq!(parsed.ok().unwrap().name.unwrap().value(), "primary");
        let (_, parsed) = inject(vec![parse_quote!(#[inject(config = "server.port")])]);
        assert!(matches!(parsed.ok().unwrap().fill, Some(Fill::Config(_))));
        let (_, parsed) = inject(vec![parse_quote!(#[inject(value = 1 + 2)])]);
        assert!(matches!(parsed.ok().unwrap().fill, Some(Fill::Value(_))));
    }

    #[test]
    fn conflicting_inject_options_are_errors() {
        let (_, parsed) = inject(vec![parse_quote!(#[inject(default, value = 3)])]);
        let m = parsed.err().unwrap();
        assert_eq!(
            m,
            [
                "conflicting #[inject] options `default` and `value` for field `x`: both say how to fill it; keep one"
            ]
        );
        let (_, parsed) = inject(vec![
            parse_quote!(#[inject(name = "a")]),
            parse_quote!(#[inject(config = "k")]),
        ]);
        assert!(parsed.err().unwrap()[0].contains("`name` selects a named binding"));
        let (_, parsed) = inject(vec![parse_quote!(#[inject(name = "a", name = "b")])]);
        assert_eq!(
            parsed.err().unwrap(),
            ["duplicate #[inject] option `name`; remove one"]
        );
    }

    #[test]
    fn bad_inject_attributes_are_explained() {
        let (_, parsed) = inject(vec![parse_quote!(#[inject])]);
        assert!(parsed.err().unwrap()[0].starts_with("`#[inject]` needs an option"));
        let (_, parsed) = inject(vec![parse_quote!(#[inject(defualt)])]);
        let m = parsed.err().unwrap();
        assert!(
            m[0].starts_with("unknown #[inject] option `defualt`; valid options:"),
            "{m:?}"
        );
        assert!(m[0].ends_with("; hint: did you mean `default`?"), "{m:?}");
        let (_, parsed) = inject(vec![parse_quote!(#[inject(config = "server..port")])]);
        assert!(parsed.err().unwrap()[0].contains("empty segment"));
        let (_, parsed) = inject(vec![parse_quote!(#[inject(config = port)])]);
        assert!(parsed.err().unwrap()[0].starts_with("`config` takes a dotted key"));
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(suggest("scop", &["scope", "lazy"]), Some("scope"));
        assert_eq!(suggest("Lazy", &["scope", "lazy"]), Some("lazy"));
        assert_eq!(suggest("frobnicate", &["scope", "lazy"]), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("gte", "get"), 1, "a swap is one edit");
        assert_eq!(distance("", "get"), 3);
    }

    #[test]
    fn typo_suggestions_are_stricter_for_short_names() {
        let verbs = ["get", "post", "put", "delete", "middleware"];
        assert_eq!(suggest_typo("gte", &verbs), Some("get"));
        assert_eq!(suggest_typo("GET", &verbs), Some("get"));
        assert_eq!(suggest_typo("pots", &verbs), Some("post"));
        assert_eq!(suggest_typo("delet", &verbs), Some("delete"));
        assert_eq!(suggest_typo("midleware", &verbs), Some("middleware"));
        // Two edits from a short name, or the name itself: not a typo.
        assert_eq!(suggest_typo("test", &verbs), None);
        assert_eq!(suggest_typo("get", &verbs), None);
        assert_eq!(suggest_typo("cfg", &verbs), None);
    }
}
