//! `#[event_handler]` on an `async fn`, and `#[event_handlers]` on an `impl` block whose methods
//! carry `#[event_handler]`: each becomes a `cortex_events::HandlerDescriptor` submitted to the
//! link-time registry the `EventsPlugin` reads, its `Inject<T>` arguments resolved from the
//! event's own scope and declared as dependencies so the container checks them at startup.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{
    Expr, ExprLit, ExprUnary, FnArg, Ident, ImplItem, Item, ItemImpl, Lit, LitInt, LitStr, Pat,
    Path, ReturnType, Signature, Token, Type, UnOp,
};

use crate::errors::Errors;
use crate::registration;
use crate::slot::{self, Slot, Source};
use crate::{attrs, crate_path, topic, types};

/// The options of `#[event_handler(..)]`, besides the leading pattern.
const KEYS: [&str; 7] = [
    "pattern", "priority", "retries", "capacity", "overflow", "filter", "name",
];

/// The values of `overflow`, as `cortex_events::Overflow`'s variants.
const OVERFLOWS: [(&str, &str); 3] = [
    ("wait", "Wait"),
    ("drop_oldest", "DropOldest"),
    ("fail", "Fail"),
];

/// Expands `#[event_handler(..)] async fn ..`.
pub(crate) fn expand_fn(attr: TokenStream, item: TokenStream) -> TokenStream {
    crate::errors::expand_with("event_handler", generate_fn, attr, item)
}

/// Expands `#[event_handlers] impl Type { .. }`.
pub(crate) fn expand_impl(attr: TokenStream, item: TokenStream) -> TokenStream {
    crate::errors::expand_with("event_handlers", generate_impl, attr, item)
}

/// [`expand_fn`], as a `Result`, for tests.
#[cfg(test)]
pub(crate) fn try_expand_fn(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    crate::errors::try_expand_with(generate_fn, attr, item)
}

/// [`expand_impl`], as a `Result`, for tests.
#[cfg(test)]
pub(crate) fn try_expand_impl(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    crate::errors::try_expand_with(generate_impl, attr, item)
}

/// What `#[event_handler(..)]` says.
#[derive(Default)]
struct Options {
    pattern: Option<LitStr>,
    priority: Option<TokenStream>,
    retries: Option<LitInt>,
    capacity: Option<LitInt>,
    /// The `Overflow` variant, spanned at the value.
    overflow: Option<Ident>,
    filter: Option<Expr>,
    name: Option<LitStr>,
}

/// One `#[event_handler(..)]` argument as written.
enum Raw {
    /// `"user.*"`.
    Pattern(LitStr),
    /// `key = value`.
    Value(Ident, Expr),
    /// `key` alone.
    Flag(Ident),
}

fn parse_raw(input: ParseStream<'_>) -> syn::Result<Vec<Raw>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        if input.peek(LitStr) {
            out.push(Raw::Pattern(input.parse()?));
        } else if input.peek(Ident::peek_any) {
            let key = input.call(Ident::parse_any)?;
            if input.peek(Token![=]) {
                input.parse::<Token![=]>()?;
                out.push(Raw::Value(key, input.parse()?));
            } else {
                out.push(Raw::Flag(key));
            }
        } else {
            return Err(input.error(format!(
                "expected a topic pattern, as `#[event_handler(\"user.*\")]`, or an option, as `retries = 5`; valid options: {}",
                list(&KEYS)
            )));
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(out)
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads and checks the options; problems go to `errors`.
fn parse_options(attr: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let Some(raw) = errors.take(parse_raw.parse2(attr)) else {
        return options;
    };
    let mut seen: Vec<String> = Vec::new();
    for (index, arg) in raw.into_iter().enumerate() {
        let (key, value) = match arg {
            Raw::Pattern(lit) => {
                if index > 0 {
                    errors.at(&lit, "the topic pattern comes first: `#[event_handler(\"user.*\", retries = 5)]`");
                    continue;
                }
                seen.push("pattern".into());
                options.pattern = check_pattern(lit, errors);
                continue;
            }
            Raw::Value(key, value) => (key, Some(value)),
            Raw::Flag(key) => (key, None),
        };
        let name = key.unraw().to_string();
        if !KEYS.contains(&name.as_str()) {
            let mut message = format!(
                "unknown option `{name}` for #[event_handler]; valid options: a topic pattern first (`\"user.*\"`), then {}",
                list(&KEYS)
            );
            if let Some(close) = attrs::suggest(&name, &KEYS) {
                message.push_str(&format!("; hint: did you mean `{close}`?"));
            }
            errors.at(&key, message);
            continue;
        }
        if seen.contains(&name) {
            let message = if name == "pattern" {
                "duplicate option `pattern`: the topic pattern is given already (the first argument); remove one".to_string()
            } else {
                format!(
                    "duplicate option `{name}`: it is given earlier in this attribute; remove one"
                )
            };
            errors.at(&key, message);
            continue;
        }
        seen.push(name.clone());
        let Some(value) = value else {
            errors.at(
                &key,
                format!("`{name}` needs a value: `{}`", example(&name)),
            );
            continue;
        };
        match name.as_str() {
            "pattern" => {
                if let Some(lit) = string(&name, &value, errors) {
                    options.pattern = check_pattern(lit, errors);
                }
            }
            "name" => {
                if let Some(lit) = string(&name, &value, errors) {
                    let text = lit.value();
                    if text.trim().is_empty() {
                        errors.at(&lit, "a handler's name cannot be empty; hint: `name = \"send_welcome\"`");
                    } else if text.contains(char::is_whitespace) {
                        errors.at(&lit, format!("a handler's name cannot contain whitespace: it names its dead letters, which `cortex events dead-letters list --handler NAME` selects by one word; hint: `name = \"{}\"`", text.split_whitespace().collect::<Vec<_>>().join("_")));
                    } else {
                        options.name = Some(lit);
                    }
                }
            }
            "priority" => options.priority = priority(&value, errors),
            "retries" => {
                options.retries = integer(&value, errors, "retries", |_: u32| None)
            }
            "capacity" => {
                options.capacity = integer(&value, errors, "capacity", |n: usize| {
                    (n == 0).then_some("a queue holds at least one event; hint: `capacity = 100`")
                })
            }
            "overflow" => options.overflow = overflow(&value, errors),
            "filter" => match value {
                Expr::Path(_) | Expr::Closure(_) => options.filter = Some(value),
                Expr::Call(_) => errors.at(
                    &value,
                    "`filter` takes a predicate, `filter = path::to::check` with `fn check(event: &Envelope<E>) -> bool`; hint: name the function without calling it",
                ),
                other => errors.at(
                    &other,
                    "`filter` takes a predicate: `filter = path::to::check` with `fn check(event: &Envelope<E>) -> bool`, or a closure `filter = |event| event.total > 100`",
                ),
            },
            _ => unreachable!("every key is handled"),
        }
    }
    options
}

fn example(key: &str) -> &'static str {
    match key {
        "pattern" => "pattern = \"user.*\"",
        "priority" => "priority = 10",
        "retries" => "retries = 5",
        "capacity" => "capacity = 100",
        "overflow" => "overflow = \"drop_oldest\"",
        "filter" => "filter = path::to::check",
        _ => "name = \"send_welcome\"",
    }
}

fn string(key: &str, value: &Expr, errors: &mut Errors) -> Option<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit.clone()),
        other => {
            errors.at(other, format!("`{key}` takes a string: `{}`", example(key)));
            None
        }
    }
}

fn check_pattern(lit: LitStr, errors: &mut Errors) -> Option<LitStr> {
    match topic::problem(&lit.value(), true) {
        Some(problem) => {
            errors.at(&lit, format!("invalid topic pattern: {problem}"));
            None
        }
        None => Some(lit),
    }
}

/// An integer literal of type `T` (no suffix but `T`'s), with `check` for its range.
fn integer<T>(
    value: &Expr,
    errors: &mut Errors,
    key: &str,
    check: impl Fn(T) -> Option<&'static str>,
) -> Option<LitInt>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = value
    else {
        errors.at(
            value,
            format!("`{key}` takes a whole number: `{}`", example(key)),
        );
        return None;
    };
    match lit.base10_parse::<T>() {
        Ok(n) => match check(n) {
            Some(problem) => {
                errors.at(lit, problem);
                None
            }
            None => Some(LitInt::new(lit.base10_digits(), lit.span())),
        },
        Err(e) => {
            errors.at(
                lit,
                format!("`{key}` = {lit}: {e}", lit = lit.base10_digits()),
            );
            None
        }
    }
}

fn priority(value: &Expr, errors: &mut Errors) -> Option<TokenStream> {
    let (negative, inner) = match value {
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => (true, &**expr),
        other => (false, other),
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = inner
    else {
        errors.at(
            value,
            "`priority` takes a whole number, higher first: `priority = 10` (the default is 0)",
        );
        return None;
    };
    let digits = lit.base10_digits();
    let text = if negative {
        format!("-{digits}")
    } else {
        digits.to_string()
    };
    match text.parse::<i32>() {
        Ok(_) => {
            let lit = LitInt::new(digits, lit.span());
            Some(if negative {
                quote!(-#lit)
            } else {
                quote!(#lit)
            })
        }
        Err(e) => {
            errors.at(value, format!("`priority` = {text}: {e} (it is an i32)"));
            None
        }
    }
}

fn overflow(value: &Expr, errors: &mut Errors) -> Option<Ident> {
    let valid = "\"wait\" (the publisher waits for room, the default), \"drop_oldest\" (the oldest queued event is dropped), \"fail\" (the publish fails for this handler)";
    let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = value
    else {
        errors.at(value, format!("`overflow` takes a string: one of {valid}"));
        return None;
    };
    let text = lit.value();
    if let Some((_, variant)) = OVERFLOWS.iter().find(|(name, _)| *name == text) {
        return Some(Ident::new(variant, lit.span()));
    }
    let mut message = format!("unknown overflow policy `{text}`; valid policies: {valid}");
    let names: Vec<&str> = OVERFLOWS.iter().map(|(n, _)| *n).collect();
    if let Some(close) = attrs::suggest(&text.replace('-', "_"), &names) {
        message.push_str(&format!("; hint: did you mean \"{close}\"?"));
    }
    errors.at(lit, message);
    None
}

/// One handler, read from its attribute and signature.
struct Handler {
    ident: Ident,
    /// Its name in the app: the option, else the fn's name (`Type::method` for a method).
    name: String,
    /// Takes `&self`: resolved from the event's scope.
    receiver: bool,
    /// `Envelope<E>`, as written.
    envelope: Type,
    slots: Vec<Slot>,
    output: Option<Type>,
    options: Options,
}

const USAGE: &str = "`#[event_handler] async fn welcome(event: Envelope<UserCreated>, mailer: Inject<Mailer>) -> anyhow::Result<()>`";

/// Checks a handler's signature and reads its arguments (removing their `#[inject]`
/// attributes). `in_impl`: a method of an `#[event_handlers]` block.
fn read_signature(
    sig: &mut Signature,
    in_impl: bool,
    errors: &mut Errors,
) -> Option<(bool, Type, Vec<Slot>)> {
    let mut ok = true;
    if sig.asyncness.is_none() {
        ok = false;
        errors.at(
            sig.fn_token,
            format!(
                "an #[event_handler] is an `async fn`: the bus awaits it for each event; hint: write `async fn {}(..)`",
                sig.ident.unraw()
            ),
        );
    }
    if !sig.generics.params.is_empty() {
        ok = false;
        errors.at(
            &sig.generics,
            "an #[event_handler] cannot be generic: the bus must know the event type and the container the types it passes in; hint: write one handler per event type, or take `Envelope<Json>` with a pattern",
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        ok = false;
        errors.at(unsafety, "an `unsafe fn` cannot be an #[event_handler]: the bus would call it without the caller's guarantees");
    }
    if let Some(variadic) = &sig.variadic {
        ok = false;
        errors.at(variadic, "a variadic fn cannot be an #[event_handler]");
    }
    let mut receiver = false;
    let mut envelope: Option<Type> = None;
    let mut slots = Vec::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                if !in_impl {
                    ok = false;
                    errors.at(
                        r.self_token,
                        "an #[event_handler] with `self` is a method: put #[event_handlers] on its `impl` block, as `#[event_handlers] impl OrderService { #[event_handler] async fn on_placed(&self, event: Envelope<OrderPlaced>) { .. } }`; the type must be injectable (it is resolved from the event's scope)",
                    );
                } else if r.reference.is_none() || r.mutability.is_some() {
                    ok = false;
                    errors.at(
                        &*r,
                        "an event handler method takes `&self`: the instance is shared, resolved from the container",
                    );
                }
                receiver = true;
            }
            FnArg::Typed(arg) if envelope.is_none() => {
                match types::single_arg(&arg.ty, "Envelope") {
                    Some(_) => envelope = Some((*arg.ty).clone()),
                    None => {
                        errors.at(&arg.ty, not_an_envelope(&arg.ty));
                        // The rest would be reported against the wrong position.
                        return None;
                    }
                }
            }
            FnArg::Typed(arg) => {
                let label = match &*arg.pat {
                    Pat::Ident(p) => p.ident.unraw().to_string(),
                    _ => format!("argument {index}"),
                };
                let what = format!("argument `{label}`");
                let attr = attrs::take_inject_attrs(&mut arg.attrs, &what, errors);
                match slot::classify(label, &what, &arg.ty, attr, errors) {
                    Some(slot) if matches!(slot.source, Source::Config(_)) => {
                        ok = false;
                        errors.at(
                            &arg.ty,
                            format!("{what}: `#[inject(config = ..)]` is not available on an event handler; hint: inject a service that reads the configuration (`Inject<MailSettings>`)"),
                        );
                    }
                    Some(slot) => slots.push(slot),
                    None => ok = false,
                }
            }
        }
    }
    let Some(envelope) = envelope else {
        errors.at_span(
            sig.paren_token.span.join(),
            format!(
                "an #[event_handler] takes the event as its first argument, `Envelope<E>`: {USAGE}"
            ),
        );
        return None;
    };
    ok.then_some((receiver, envelope, slots))
}

fn not_an_envelope(ty: &Type) -> String {
    let shown = types::shown(ty);
    let hint = if types::inject_inner(ty).is_some()
        || types::option_inner(ty).is_some_and(|t| types::inject_inner(t).is_some())
    {
        "the event comes first, then the dependencies: `async fn welcome(event: Envelope<UserCreated>, mailer: Inject<Mailer>)`".to_string()
    } else if matches!(types::unwrap(ty), Type::Path(_)) {
        format!("write `Envelope<{shown}>`")
    } else {
        format!("write `Envelope<E>` for a #[derive(Event)] type E: {USAGE}")
    };
    format!(
        "the first argument of an #[event_handler] is the event, `Envelope<E>` (E an event type, or `Json` with a topic pattern); found `{shown}`; hint: {hint}"
    )
}

/// Whether `envelope` is `Envelope<Json>`.
fn takes_json(envelope: &Type) -> Option<&Type> {
    let inner = types::single_arg(envelope, "Envelope")?;
    matches!(types::args_of(inner, "Json").as_deref(), Some([])).then_some(inner)
}

/// Reads one handler; `type_name` is the impl block's type for a method.
fn read_handler(
    sig: &mut Signature,
    options: Options,
    type_name: Option<&str>,
    errors: &mut Errors,
) -> Option<Handler> {
    let (receiver, envelope, slots) = read_signature(sig, type_name.is_some(), errors)?;
    if options.pattern.is_none()
        && let Some(json) = takes_json(&envelope)
    {
        errors.at(
            json,
            "`Envelope<Json>` takes any event, so the handler names the topics it listens to; hint: give a pattern: `#[event_handler(\"user.*\")]` (`*` one segment, `#` any depth)",
        );
        return None;
    }
    let method = sig.ident.unraw().to_string();
    let name = match (&options.name, type_name) {
        (Some(name), _) => name.value(),
        (None, Some(ty)) => format!("{ty}::{method}"),
        (None, None) => method,
    };
    Some(Handler {
        ident: sig.ident.clone(),
        name,
        receiver,
        envelope,
        slots,
        output: match &sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        },
        options,
    })
}

fn generate_fn(
    attr: TokenStream,
    item: TokenStream,
    errors: &mut Errors,
) -> (TokenStream, TokenStream) {
    let options = parse_options(attr, errors);
    let mut function = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(function)) => function,
        Ok(other) => {
            errors.at_span(
                crate::injectable::item_keyword_span(&other),
                format!("#[event_handler] applies to an `async fn`: {USAGE}; on the methods of a type, put #[event_handlers] on the `impl` block"),
            );
            return (item, TokenStream::new());
        }
        Err(error) => {
            errors.push(error);
            return (item, TokenStream::new());
        }
    };
    let handler = read_handler(&mut function.sig, options, None, errors);
    strip_inject_attrs(&mut function.sig);
    let generated = match handler {
        Some(handler) if errors.is_empty() => {
            let krate = crate_path::events_runtime();
            let (describe, submit) = describe(&krate, &handler, None);
            quote! {
                const _: () = {
                    #describe
                    #submit
                };
            }
        }
        _ => TokenStream::new(),
    };
    (function.into_token_stream(), generated)
}

fn generate_impl(
    attr: TokenStream,
    item: TokenStream,
    errors: &mut Errors,
) -> (TokenStream, TokenStream) {
    if !attr.is_empty() {
        errors.at(
            &attr,
            "#[event_handlers] takes no arguments; put the options on each method's #[event_handler(..)]",
        );
    }
    let mut block = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Impl(block)) => block,
        Ok(other) => {
            errors.at_span(
                crate::injectable::item_keyword_span(&other),
                "#[event_handlers] applies to the `impl` block of an injectable type whose methods carry #[event_handler]",
            );
            return (item, TokenStream::new());
        }
        Err(error) => {
            errors.push(error);
            return (item, TokenStream::new());
        }
    };
    check_block(&block, errors);
    let type_name = match &*block.self_ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.unraw().to_string())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let mut handlers = Vec::new();
    let mut any = false;
    for impl_item in &mut block.items {
        let ImplItem::Fn(f) = impl_item else { continue };
        let attrs: Vec<syn::Attribute> = f
            .attrs
            .iter()
            .filter(|a| is_handler_attr(a.path()))
            .cloned()
            .collect();
        // Removed either way, so the attribute does not expand again on the method.
        f.attrs.retain(|a| !is_handler_attr(a.path()));
        let Some(first) = attrs.first() else { continue };
        any = true;
        if let Some(second) = attrs.get(1) {
            errors.at(second, "a method is one event handler; for a second pattern, write another method (or one pattern that covers both, as `order.#`)");
        }
        let args = match &first.meta {
            syn::Meta::Path(_) => TokenStream::new(),
            syn::Meta::List(list) => list.tokens.clone(),
            syn::Meta::NameValue(nv) => {
                errors.at(
                    nv,
                    "write `#[event_handler]` or `#[event_handler(\"user.*\", retries = 5)]`",
                );
                continue;
            }
        };
        let options = parse_options(args, errors);
        if let Some(handler) = read_handler(&mut f.sig, options, Some(&type_name), errors) {
            handlers.push(handler);
        }
        strip_inject_attrs(&mut f.sig);
    }
    if !any && errors.is_empty() {
        errors.at(
            &block.self_ty,
            "#[event_handlers] found no #[event_handler] method in this `impl` block; hint: mark the handlers: `#[event_handler] async fn on_placed(&self, event: Envelope<OrderPlaced>)`",
        );
    }
    if !errors.is_empty() {
        return (block.into_token_stream(), TokenStream::new());
    }
    let krate = crate_path::events_runtime();
    let items = handlers
        .iter()
        .map(|h| describe(&krate, h, Some(&block.self_ty)));
    let (describes, submits): (Vec<_>, Vec<_>) = items.unzip();
    let generated = quote! {
        const _: () = {
            #(#describes)*
            #(#submits)*
        };
    };
    (block.into_token_stream(), generated)
}

/// Removes the `#[inject]` attributes an error left unread, so rustc does not add "cannot find
/// attribute `inject`" to the error.
fn strip_inject_attrs(sig: &mut Signature) {
    for input in &mut sig.inputs {
        if let FnArg::Typed(arg) = input {
            arg.attrs.retain(|a| !a.path().is_ident("inject"));
        }
    }
}

fn is_handler_attr(path: &Path) -> bool {
    path.is_ident("event_handler")
        || path
            .segments
            .last()
            .is_some_and(|s| s.ident == "event_handler" && path.segments.len() > 1)
}

fn check_block(block: &ItemImpl, errors: &mut Errors) {
    if let Some((_, path, _)) = &block.trait_ {
        errors.at(
            path,
            "#[event_handlers] applies to an inherent `impl Type { .. }` block, not a trait impl",
        );
    }
    if !block.generics.params.is_empty() {
        errors.at(
            &block.generics,
            "#[event_handlers] cannot apply to a generic impl: the container resolves one concrete type",
        );
    }
    if !matches!(&*block.self_ty, Type::Path(_)) {
        errors.at(
            &block.self_ty,
            "#[event_handlers] applies to the impl block of an injectable type",
        );
    }
}

/// The function making the handler's descriptor, and its submission to the registry.
fn describe(krate: &Path, h: &Handler, self_ty: Option<&Type>) -> (TokenStream, TokenStream) {
    let private = quote!(#krate::__private);
    let scope = Ident::new("__cortex_scope", Span::mixed_site());
    let event = Ident::new("__cortex_event", Span::mixed_site());
    let this = Ident::new("__cortex_this", Span::mixed_site());
    let ident = &h.ident;
    let describe_fn = format_ident!("__cortex_describe_{}", ident.unraw());

    let resolve_this = match (h.receiver, self_ty) {
        (true, Some(ty)) => Some(quote! { let #this = #scope.resolve::<#ty>().await?; }),
        _ => None,
    };
    let mut args = Vec::new();
    let mut resolves = Vec::new();
    for (i, slot) in h.slots.iter().enumerate() {
        let arg = Ident::new(&format!("__cortex_arg{i}"), Span::mixed_site());
        let value = value(&private, &scope, slot);
        resolves.push(quote! { let #arg = #value; });
        args.push(arg);
    }
    let call = match self_ty {
        None => quote!(#ident(#event #(, #args)*)),
        Some(ty) if h.receiver => quote!(<#ty>::#ident(&*#this, #event #(, #args)*)),
        Some(ty) => quote!(<#ty>::#ident(#event #(, #args)*)),
    };
    // An output that is not a `HandlerResult` is reported on the return type; a future that is
    // not `Send`, on the handler's name.
    let result_span = h
        .output
        .as_ref()
        .map_or_else(|| ident.span(), Spanned::span);
    let into_result = registration::respan(quote!(#krate::HandlerResult::into_result), result_span);
    let future = Ident::new(
        "__cortex_future",
        ident.span().resolved_at(Span::mixed_site()),
    );
    let output = registration::parenthesized(
        registration::respan(quote!(#future.await), result_span),
        result_span,
    );
    let run = quote_spanned! {ident.span()=>
        let #future = #call;
        #into_result #output
    };
    let uses_scope = resolve_this.is_some()
        || h.slots
            .iter()
            .any(|s| matches!(s.source, Source::Dependency { .. }));
    let scope_param = if uses_scope {
        quote!(#scope)
    } else {
        quote!(_)
    };
    let envelope = &h.envelope;
    let closure = quote! {
        |#scope_param: #private::RequestScope, #event: #envelope| async move {
            #resolve_this
            #(#resolves)*
            #run
        }
    };
    let name = &h.name;
    // "`X` is not an event" (the `Receivable` bound) is reported on the event's type.
    let event_span =
        types::single_arg(envelope, "Envelope").map_or_else(|| envelope.span(), Spanned::span);
    let (constructor, args) = match &h.options.filter {
        None => (
            quote!(#krate::HandlerDescriptor::new),
            quote!(#name, #closure),
        ),
        Some(filter) => (
            quote!(#krate::HandlerDescriptor::filtered),
            quote!(#name, #filter, #closure),
        ),
    };
    let constructor = registration::respan(constructor, event_span);
    let args = registration::parenthesized(args, event_span);
    let descriptor = quote!(#constructor #args);
    let Options {
        pattern,
        priority,
        retries,
        capacity,
        overflow,
        ..
    } = &h.options;
    let pattern = pattern.as_ref().map(|p| quote!(.with_pattern(#p)));
    let priority = priority.as_ref().map(|p| quote!(.priority(#p)));
    let retries = retries.as_ref().map(|r| quote!(.retries(#r)));
    let capacity = capacity.as_ref().map(|c| quote!(.capacity(#c)));
    let overflow = overflow
        .as_ref()
        .map(|o| quote!(.overflow(#krate::Overflow::#o)));
    let receiver_dependency = match (h.receiver, self_ty) {
        (true, Some(ty)) => {
            Some(quote! { .dependency(#private::Dependency::on::<#ty>().field("self")) })
        }
        _ => None,
    };
    let dependencies = h.slots.iter().filter_map(|s| dependency(&private, s));
    let line = quote_spanned!(ident.span()=> ::core::line!());
    let describe = quote! {
        fn #describe_fn() -> #krate::HandlerDescriptor {
            #descriptor
                #pattern
                #priority
                #retries
                #capacity
                #overflow
                #receiver_dependency
                #(#dependencies)*
                .declared_at_location(::core::concat!(::core::file!(), ":", #line))
        }
    };
    let submit = quote! {
        #private::inventory::submit! {
            #krate::HandlerRegistration { describe: #describe_fn }
        }
    };
    (describe, submit)
}

/// The expression filling an argument, inside the handler's `async` block.
fn value(private: &TokenStream, scope: &Ident, slot: &Slot) -> TokenStream {
    let span = slot.ty.span();
    match &slot.source {
        Source::Dependency {
            inner,
            name,
            optional,
        } => match (name, optional) {
            (None, false) => quote_spanned!(span=> #scope.resolve::<#inner>().await?),
            (Some(name), false) => {
                quote_spanned!(span=> #scope.resolve_named::<#inner>(#name).await?)
            }
            (None, true) => {
                quote_spanned!(span=> #private::resolve_optional::<#inner>(&#scope, ::core::option::Option::None).await?)
            }
            (Some(name), true) => {
                quote_spanned!(span=> #private::resolve_optional::<#inner>(&#scope, ::core::option::Option::Some(#name)).await?)
            }
        },
        Source::Default => quote_spanned!(span=> ::core::default::Default::default()),
        Source::Value(expr) => quote!((#expr)),
        Source::Config(_) => unreachable!("refused when the arguments are read"),
    }
}

/// `.dependency(..)` declaring what an argument needs.
fn dependency(private: &TokenStream, slot: &Slot) -> Option<TokenStream> {
    let Source::Dependency {
        inner,
        name,
        optional,
    } = &slot.source
    else {
        return None;
    };
    let span = slot.ty.span();
    let label = &slot.label;
    let named = name.as_ref().map(|n| quote!(.named(#n)));
    let optional = optional.then(|| quote!(.optional()));
    Some(quote_spanned! {span=>
        .dependency(#private::Dependency::on::<#inner>() #named #optional .field(#label))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fn_errors(attr: TokenStream, item: TokenStream) -> Vec<String> {
        try_expand_fn(attr, item)
            .expect_err("an error")
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    fn impl_errors(item: TokenStream) -> Vec<String> {
        try_expand_impl(TokenStream::new(), item)
            .expect_err("an error")
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn every_option_is_read() {
        let mut errors = Errors::default();
        let o = parse_options(
            quote!(
                "user.*",
                priority = -3,
                retries = 5,
                capacity = 100,
                overflow = "drop_oldest",
                filter = checks::big,
                name = "audit"
            ),
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(o.pattern.unwrap().value(), "user.*");
        assert_eq!(o.priority.unwrap().to_string(), "- 3");
        assert_eq!(o.retries.unwrap().to_string(), "5");
        assert_eq!(o.capacity.unwrap().to_string(), "100");
        assert_eq!(o.overflow.unwrap().to_string(), "DropOldest");
        assert_eq!(types::shown(o.filter.unwrap()), "checks::big");
        assert_eq!(o.name.unwrap().value(), "audit");
        let o = parse_options(quote!(pattern = "order.#"), &mut errors);
        assert!(errors.is_empty());
        assert_eq!(o.pattern.unwrap().value(), "order.#");
    }

    fn option_errors(attr: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        parse_options(attr, &mut errors);
        errors
            .finish()
            .expect_err("errors")
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn bad_options_are_all_reported() {
        let m = option_errors(quote!(
            "user*",
            retrys = 5,
            capacity = 0,
            overflow = "drop-oldest",
            priority = "high",
            filter = check(),
            name = "send welcome",
            pattern = "x"
        ));
        assert_eq!(m.len(), 8, "{m:?}");
        assert!(
            m[0].starts_with("invalid topic pattern: `user*` has a wildcard inside a segment"),
            "{m:?}"
        );
        assert!(m[1].starts_with("unknown option `retrys` for #[event_handler]"));
        assert!(m[1].ends_with("hint: did you mean `retries`?"), "{m:?}");
        assert!(
            m[2].starts_with("a queue holds at least one event"),
            "{m:?}"
        );
        assert!(
            m[3].starts_with("unknown overflow policy `drop-oldest`"),
            "{m:?}"
        );
        assert!(
            m[3].ends_with("hint: did you mean \"drop_oldest\"?"),
            "{m:?}"
        );
        assert!(m[4].starts_with("`priority` takes a whole number"), "{m:?}");
        assert!(
            m[5].contains("name the function without calling it"),
            "{m:?}"
        );
        assert!(m[6].contains("hint: `name = \"send_welcome\"`"), "{m:?}");
        assert!(m[7].starts_with("duplicate option `pattern`"), "{m:?}");
        let m = option_errors(quote!(retries = 5, "user.*"));
        assert!(m[0].starts_with("the topic pattern comes first"), "{m:?}");
        let m = option_errors(quote!(retries));
        assert_eq!(m, ["`retries` needs a value: `retries = 5`"]);
        let m = option_errors(quote!(retries = 99999999999));
        assert!(m[0].starts_with("`retries` = 99999999999:"), "{m:?}");
        let m = option_errors(quote!(priority = -2147483649));
        assert!(m[0].contains("(it is an i32)"), "{m:?}");
        let m = option_errors(quote!(5));
        assert!(m[0].starts_with("expected a topic pattern"), "{m:?}");
    }

    #[test]
    fn the_signature_is_checked() {
        let m = fn_errors(
            quote!(),
            quote!(
                fn f(e: Envelope<E>) {}
            ),
        );
        assert!(
            m[0].starts_with("an #[event_handler] is an `async fn`"),
            "{m:?}"
        );
        let m = fn_errors(
            quote!(),
            quote!(
                async fn f<T>(e: Envelope<T>) {}
            ),
        );
        assert!(
            m[0].starts_with("an #[event_handler] cannot be generic"),
            "{m:?}"
        );
        let m = fn_errors(
            quote!(),
            quote!(
                async fn f(&self, e: Envelope<E>) {}
            ),
        );
        assert!(
            m[0].starts_with("an #[event_handler] with `self` is a method: put #[event_handlers]"),
            "{m:?}"
        );
        let m = fn_errors(
            quote!(),
            quote!(
                async fn f() {}
            ),
        );
        assert!(
            m[0].starts_with("an #[event_handler] takes the event as its first argument"),
            "{m:?}"
        );
        let m = fn_errors(
            quote!(),
            quote!(
                async fn f(e: UserCreated) {}
            ),
        );
        assert!(
            m[0].ends_with("hint: write `Envelope<UserCreated>`"),
            "{m:?}"
        );
        let m = fn_errors(
            quote!(),
            quote!(
                async fn f(m: Inject<Mailer>, e: Envelope<E>) {}
            ),
        );
        assert!(m[0].contains("the event comes first"), "{m:?}");
        let m = fn_errors(
            quote!(),
            quote!(
                async fn f(e: Envelope<Json>) {}
            ),
        );
        assert!(
            m[0].starts_with("`Envelope<Json>` takes any event"),
            "{m:?}"
        );
        let m = fn_errors(
            quote!(),
            quote!(
                async fn f(e: Envelope<E>, m: Mailer, #[inject(config = "a.b")] c: u8) {}
            ),
        );
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            m[0].starts_with("argument `m` of type `Mailer` cannot be injected"),
            "{m:?}"
        );
        assert!(
            m[1].contains("`#[inject(config = ..)]` is not available"),
            "{m:?}"
        );
        let m = fn_errors(
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(
            m[0].starts_with("#[event_handler] applies to an `async fn`"),
            "{m:?}"
        );
        // A Json handler with a pattern is fine.
        try_expand_fn(
            quote!("#"),
            quote!(
                async fn all(e: Envelope<Json>) {}
            ),
        )
        .unwrap();
    }

    #[test]
    fn impl_blocks_are_checked() {
        let m = impl_errors(quote!(impl S { async fn helper(&self) {} }));
        assert!(
            m[0].starts_with("#[event_handlers] found no #[event_handler] method"),
            "{m:?}"
        );
        let m = impl_errors(
            quote!(impl S { #[event_handler] async fn on(&mut self, e: Envelope<E>) {} }),
        );
        assert!(
            m[0].starts_with("an event handler method takes `&self`"),
            "{m:?}"
        );
        let m = impl_errors(
            quote!(impl T for S { #[event_handler] async fn on(&self, e: Envelope<E>) {} }),
        );
        assert!(m[0].contains("not a trait impl"), "{m:?}");
        let m = impl_errors(
            quote!(impl S { #[event_handler] #[event_handler("a")] async fn on(&self, e: Envelope<E>) {} }),
        );
        assert!(m[0].starts_with("a method is one event handler"), "{m:?}");
        let m = try_expand_impl(
            quote!(x),
            quote!(impl S { #[event_handler] async fn on(&self, e: Envelope<E>) {} }),
        )
        .unwrap_err()
        .to_string();
        assert!(m.starts_with("#[event_handlers] takes no arguments"), "{m}");
    }

    #[test]
    fn names_are_the_function_or_type_and_method() {
        let out = try_expand_fn(
            quote!(),
            quote!(
                async fn r#welcome(e: Envelope<E>) {}
            ),
        )
        .unwrap()
        .to_string();
        assert!(
            out.contains("HandlerDescriptor :: new (\"welcome\""),
            "{out}"
        );
        let out = try_expand_impl(
            quote!(),
            quote!(impl Orders { #[event_handler(name = "reserve")] async fn a(&self, e: Envelope<E>) {} #[event_handler] async fn b(e: Envelope<E>) {} }),
        )
        .unwrap()
        .to_string();
        assert!(
            out.contains("HandlerDescriptor :: new (\"reserve\""),
            "{out}"
        );
        assert!(
            out.contains("HandlerDescriptor :: new (\"Orders::b\""),
            "{out}"
        );
    }
}
