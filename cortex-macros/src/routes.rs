//! `#[routes]`: the route methods of a controller's `impl` block, each turned into an axum handler
//! that calls the method on the controller's singleton.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, Item, ItemImpl, LitStr, ReturnType, Type};

use crate::controller::{self, Decorator};
use crate::errors::Errors;
use crate::{crate_path, types};

const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// Expands `#[routes] impl Controller { .. }`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    crate::errors::expand_with("routes", generate, attr, item)
}

/// The same, as a `Result`, for tests.
#[cfg(test)]
pub(crate) fn try_expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    crate::errors::try_expand_with(generate, attr, item)
}

/// One route method, read from its attributes and signature.
struct RouteMethod {
    method: String,
    method_span: Span,
    path: LitStr,
    decorators: Vec<Decorator>,
    /// `#[public]`.
    public: bool,
    ident: syn::Ident,
    receiver: bool,
    asyncness: bool,
    args: Vec<Type>,
    arg_names: Vec<String>,
    output: Option<Type>,
    docs: Vec<String>,
}

fn generate(
    attr: TokenStream,
    item: TokenStream,
    errors: &mut Errors,
) -> (TokenStream, TokenStream) {
    if !attr.is_empty() {
        errors.at(
            &attr,
            "#[routes] takes no arguments; put the path prefix on #[controller(\"/prefix\")]",
        );
    }
    let mut block = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Impl(block)) => block,
        Ok(other) => {
            errors.at_span(
                crate::injectable::item_keyword_span(&other),
                "#[routes] applies to the `impl` block of a #[controller] struct",
            );
            return (item, TokenStream::new());
        }
        Err(e) => {
            errors.push(e);
            return (item, TokenStream::new());
        }
    };
    check_block(&block, errors);
    let mut routes = Vec::new();
    for impl_item in &mut block.items {
        if let ImplItem::Fn(f) = impl_item
            && let Some(route) = read_method(f, errors)
        {
            routes.push(route);
        }
    }
    check_duplicates(&routes, errors);
    if !errors.is_empty() {
        return (block.into_token_stream(), TokenStream::new());
    }
    let generated = expansion(&block, &routes);
    (block.into_token_stream(), generated)
}

fn check_block(block: &ItemImpl, errors: &mut Errors) {
    if let Some((_, path, _)) = &block.trait_ {
        errors.at(
            path,
            "#[routes] applies to an inherent `impl Controller { .. }` block, not a trait impl",
        );
    }
    if !block.generics.params.is_empty() {
        errors.at(
            &block.generics,
            "#[routes] cannot apply to a generic impl: a controller is one concrete type",
        );
    }
    if !matches!(&*block.self_ty, Type::Path(_)) {
        errors.at(
            &block.self_ty,
            "#[routes] applies to the impl block of a #[controller] struct",
        );
    }
}

fn route_attr_name(attr: &syn::Attribute) -> Option<String> {
    let ident = attr.path().get_ident()?.to_string();
    (METHODS.contains(&ident.as_str()) || ident == "route").then_some(ident)
}

/// The attributes `#[routes]` reads on a method.
const ROUTE_ATTRIBUTES: [&str; 12] = [
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "trace",
    "route",
    "guard",
    "middleware",
    "public",
];

/// Rust's own attributes that may sit on a method, never taken for a misspelled route attribute.
const BUILTIN_ATTRIBUTES: [&str; 20] = [
    "allow",
    "cfg",
    "cfg_attr",
    "cold",
    "deny",
    "deprecated",
    "doc",
    "expect",
    "forbid",
    "ignore",
    "inline",
    "must_use",
    "no_mangle",
    "path",
    "should_panic",
    "target_feature",
    "test",
    "track_caller",
    "unsafe",
    "warn",
];

/// The route attribute that `attr` misspells (`#[gte("/")]`, `#[GET("/")]`, `#[gaurd(..)]`), if
/// it is a one-word attribute that is a small edit away from one. Other attributes (`#[doc]`,
/// `#[tracing::instrument]`, `#[instrument]`) pass through to rustc.
fn misspelled_route_attr(attr: &syn::Attribute) -> Option<&'static str> {
    if matches!(attr.meta, syn::Meta::NameValue(_)) {
        return None;
    }
    let name = attr.path().get_ident()?.to_string();
    if BUILTIN_ATTRIBUTES.contains(&name.as_str()) {
        return None;
    }
    crate::attrs::suggest_typo(&name, &ROUTE_ATTRIBUTES)
}

/// Reports and removes the misspelled route attributes of a method (so rustc does not add
/// "cannot find attribute" to the error that names the attribute meant).
fn take_misspelled_attrs(f: &mut ImplItemFn, errors: &mut Errors) {
    f.attrs.retain(|attr| {
        let Some(meant) = misspelled_route_attr(attr) else {
            return true;
        };
        let written = attr.path().get_ident().expect("a one-word attribute");
        let args = match &attr.meta {
            syn::Meta::List(list) => format!("({})", types::shown(&list.tokens)),
            _ => String::new(),
        };
        errors.at(
            attr.path(),
            format!(
                "unknown attribute `#[{written}]` on a route method; hint: did you mean `#[{meant}{args}]`? (#[routes] reads {})",
                ROUTE_ATTRIBUTES.map(|a| format!("#[{a}]")).join(", ")
            ),
        );
        false
    });
}

/// Reads a method's route attribute (and removes it, with its guards and middleware).
fn read_method(f: &mut ImplItemFn, errors: &mut Errors) -> Option<RouteMethod> {
    take_misspelled_attrs(f, errors);
    let route_attrs: Vec<syn::Attribute> = f
        .attrs
        .iter()
        .filter(|a| route_attr_name(a).is_some())
        .cloned()
        .collect();
    f.attrs.retain(|a| route_attr_name(a).is_none());
    if route_attrs.is_empty() {
        for attr in f.attrs.iter().filter(|a| controller::is_decorator(a)) {
            errors.at(attr, "#[guard]/#[middleware] on a method without a route attribute (#[get(\"/\")], #[post(..)], ...)");
        }
        for attr in f.attrs.iter().filter(|a| a.path().is_ident("public")) {
            errors.at(
                attr,
                "#[public] on a method without a route attribute (#[get(\"/\")], #[post(..)], ...)",
            );
        }
        // Removed either way, so rustc does not add "cannot find attribute `guard`".
        f.attrs
            .retain(|a| !controller::is_decorator(a) && !a.path().is_ident("public"));
        return None;
    }
    let decorators = controller::take_decorators(&mut f.attrs, errors);
    let public = controller::take_public(&mut f.attrs, &decorators, "route", errors).is_some();
    if route_attrs.len() > 1 {
        errors.at(
            &route_attrs[1],
            "a method serves one route; add another method for the second one",
        );
    }
    let (method, method_span, path) = parse_route_attr(&route_attrs[0], errors)?;
    check_path(&path, errors);

    let sig = &f.sig;
    if !sig.generics.params.is_empty() {
        errors.at(&sig.generics, "a route handler cannot be generic");
    }
    let mut receiver = false;
    let mut args = Vec::new();
    let mut arg_names = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                if r.reference.is_none() || r.mutability.is_some() {
                    errors.at(
                        r,
                        "a route handler takes `&self`: the controller is shared by every request",
                    );
                }
                receiver = true;
            }
            FnArg::Typed(pat) => {
                if let Type::Reference(_) = &*pat.ty {
                    errors.at(&pat.ty, "handler arguments are extractors, taken by value (`Json<T>`, `Path<T>`, `Inject<T>`, ...)");
                } else if unnameable(&pat.ty) {
                    errors.at(&pat.ty, "a handler argument names its extractor type (`Json<T>`, `Path<T>`, `Inject<T>`, ...), not `impl Trait`");
                }
                args.push((*pat.ty).clone());
                arg_names.push(match &*pat.pat {
                    syn::Pat::Ident(id) => id.ident.to_string(),
                    _ => format!("argument {i}"),
                });
            }
        }
    }
    if args.len() > 16 {
        errors.at(&sig.inputs, "a route handler takes at most 16 extractors");
    }
    check_body_last(sig, errors);
    let output = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    let docs = f.attrs.iter().filter_map(doc_line).collect();
    Some(RouteMethod {
        method,
        method_span,
        path,
        decorators,
        public,
        ident: sig.ident.clone(),
        receiver,
        asyncness: sig.asyncness.is_some(),
        args,
        arg_names,
        output,
        docs,
    })
}

/// Reports a known body extractor (`Json<T>`, `Form<T>`, `String`, ..., see
/// [`types::BODY_EXTRACTORS`]) that is not the last argument, or two of them: the body can be read
/// once, after every other argument is extracted from the request head.
fn check_body_last(sig: &syn::Signature, errors: &mut Errors) {
    let typed: Vec<&syn::PatType> = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(pat) => Some(pat),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let body: Vec<usize> = (0..typed.len())
        .filter(|i| types::is_body_extractor(&typed[*i].ty))
        .collect();
    let Some((&last_body, earlier)) = body.split_last() else {
        return;
    };
    let shown_arg =
        |pat: &syn::PatType| format!("{}: {}", types::shown(&pat.pat), types::shown(&pat.ty));
    for &i in earlier {
        errors.at(
            typed[i],
            format!(
                "`{}` and `{}` both read the request body, which can be read only once; hint: keep one of them, as the last argument",
                types::shown(&typed[i].ty),
                types::shown(&typed[last_body].ty),
            ),
        );
    }
    if earlier.is_empty() && last_body + 1 != typed.len() {
        let mut order: Vec<String> = sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Receiver(r) => Some(types::shown(r)),
                FnArg::Typed(_) => None,
            })
            .collect();
        order.extend(
            typed
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != last_body)
                .map(|(_, pat)| shown_arg(pat)),
        );
        order.push(shown_arg(typed[last_body]));
        errors.at(
            typed[last_body],
            format!(
                "`{}` reads the request body, so it must be the last argument: the arguments before it are extracted from the request head first; hint: move it to the end: `fn {}({})`",
                types::shown(&typed[last_body].ty),
                sig.ident,
                order.join(", "),
            ),
        );
    }
}

/// The text of a `/// line` (`#[doc = "..."]`).
fn doc_line(attr: &syn::Attribute) -> Option<String> {
    let syn::Meta::NameValue(nv) = &attr.meta else {
        return None;
    };
    if !nv.path.is_ident("doc") {
        return None;
    }
    match &nv.value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

/// A doc comment as OpenAPI's `summary` (the first paragraph, on one line) and `description`
/// (the rest).
fn summary_and_description(lines: &[String]) -> (Option<String>, Option<String>) {
    let text: Vec<&str> = lines
        .iter()
        .flat_map(|l| l.split('\n'))
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .collect();
    let text = text.join("\n");
    let text = text.trim();
    if text.is_empty() {
        return (None, None);
    }
    let (first, rest) = match text.find("\n\n") {
        Some(at) => (&text[..at], text[at..].trim()),
        None => (text, ""),
    };
    let summary = first
        .split('\n')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    (Some(summary), (!rest.is_empty()).then(|| rest.to_string()))
}

/// Whether `ty` mentions `impl Trait` or `!`, which cannot be named in a turbofish.
fn unnameable(ty: &Type) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tt| match tt {
            proc_macro2::TokenTree::Ident(i) => i == "impl",
            proc_macro2::TokenTree::Punct(p) => p.as_char() == '!',
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            proc_macro2::TokenTree::Literal(_) => false,
        })
    }
    walk(ty.to_token_stream())
}

/// The closure that describes a route's OpenAPI operation: its doc comment, then what each
/// argument and the return type say about themselves (see `cortex_core::openapi::__private`).
fn describe_operation(core: &syn::Path, r: &RouteMethod) -> TokenStream {
    let op = syn::Ident::new("__cortex_op", Span::mixed_site());
    let private = quote!(#core::openapi::__private);
    let (summary, description) = summary_and_description(&r.docs);
    let summary = summary.map(|s| quote! { #op.set_summary(#s); });
    let description = description.map(|d| quote! { #op.set_description(#d); });
    let args = r.args.iter().filter(|ty| !unnameable(ty)).map(|ty| {
        quote! { (&&&&#private::Arg::<#ty>::new()).describe_arg(#op); }
    });
    let output = |ty: &Type| {
        (!unnameable(ty))
            .then(|| quote! { (&&&&#private::Ret::<#ty>::new()).describe_output(#op); })
    };
    let outputs: Vec<TokenStream> = match &r.output {
        None => vec![quote! { (&&&&#private::Ret::<()>::new()).describe_output(#op); }],
        // `Result<T, E>` is described side by side, so each side gets its richest description.
        Some(ty) => match types::args_of(ty, "Result").as_deref() {
            Some([ok, err]) => [output(ok), output(err)].into_iter().flatten().collect(),
            Some([ok]) => output(ok).into_iter().collect(),
            _ => output(ty).into_iter().collect(),
        },
    };
    quote! {
        .with_openapi(|#op: &mut #core::openapi::OperationDoc| {
            #[allow(unused_imports)]
            use #private::{
                ArgList as _, ArgNone as _, ArgParams as _, ArgPlain as _, ArgRich as _, RetList as _, RetNone as _,
                RetPlain as _, RetRich as _,
            };
            #summary
            #description
            #(#args)*
            #(#outputs)*
        })
    }
}

fn parse_route_attr(attr: &syn::Attribute, errors: &mut Errors) -> Option<(String, Span, LitStr)> {
    let name = route_attr_name(attr)?;
    if name == "route" {
        let parsed = attr.parse_args_with(|input: syn::parse::ParseStream<'_>| {
            let method: syn::Ident = input.parse()?;
            input.parse::<syn::Token![,]>()?;
            let path: LitStr = input.parse()?;
            Ok((method, path))
        });
        return match parsed {
            Ok((method, path)) => {
                let upper = method.to_string().to_ascii_uppercase();
                if !METHODS.iter().any(|m| m.eq_ignore_ascii_case(&upper)) {
                    errors.at(&method, format!("unknown HTTP method `{method}`; expected one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, TRACE"));
                    return None;
                }
                Some((upper, method.span(), path))
            }
            Err(_) => {
                errors.at(
                    attr,
                    "#[route] takes a method and a path: #[route(GET, \"/users/{id}\")]",
                );
                None
            }
        };
    }
    let span = attr.path().span();
    let path = match &attr.meta {
        syn::Meta::Path(_) => LitStr::new("/", span),
        _ => match attr.parse_args::<LitStr>() {
            Ok(path) => path,
            Err(_) => {
                errors.at(
                    attr,
                    format!("#[{name}] takes a path string: #[{name}(\"/users/{{id}}\")]"),
                );
                return None;
            }
        },
    };
    Some((name.to_ascii_uppercase(), span, path))
}

/// Checks a route path against axum's syntax, so a mistake is a compile error, not a panic at
/// startup.
fn check_path(path: &LitStr, errors: &mut Errors) {
    let value = path.value();
    if !value.starts_with('/') {
        errors.at(
            path,
            format!("a route path starts with `/`: write \"/{value}\""),
        );
        return;
    }
    let mut depth = 0;
    for segment in value.split('/') {
        if segment.starts_with(':') || (segment.starts_with('*') && segment.len() > 1) {
            errors.at(
                path,
                format!(
                    "`{segment}`: parameters are written in braces: `{{{}}}`",
                    segment.trim_start_matches([':', '*'])
                ),
            );
        }
    }
    for c in value.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            break;
        }
    }
    if depth != 0 {
        errors.at(
            path,
            "unbalanced braces in the route path: parameters look like `{id}` or `{*rest}`",
        );
    }
}

fn check_duplicates(routes: &[RouteMethod], errors: &mut Errors) {
    for (i, a) in routes.iter().enumerate() {
        for b in &routes[..i] {
            if a.method == b.method && a.path.value() == b.path.value() {
                errors.at(
                    &a.path,
                    format!(
                        "{} {} is already served by `{}`",
                        a.method,
                        a.path.value(),
                        b.ident
                    ),
                );
            }
        }
    }
}

/// The axum handler of a route: a closure over the request that extracts each argument in order
/// (the last one may read the body), calls the method and turns its value into a response.
///
/// Each argument's type is named once, spanned at the argument, through Cortex's `HeadArg` /
/// `LastArg` traits, and the value through `Respond`, spanned at the return type: a type that is
/// not an extractor or a response is one error at that type, worded for people.
fn handler(core: &syn::Path, self_ty: &Type, this: &syn::Ident, r: &RouteMethod) -> TokenStream {
    let private = quote!(#core::routing::__private);
    let axum = quote!(#core::__private::axum);
    let request = syn::Ident::new("__cortex_request", Span::mixed_site());
    let parts = syn::Ident::new("__cortex_parts", Span::mixed_site());
    let body = syn::Ident::new("__cortex_body", Span::mixed_site());
    let rejection = syn::Ident::new("__cortex_rejection", Span::mixed_site());
    let names: Vec<syn::Ident> = (0..r.args.len())
        .map(|i| format_ident!("__cortex_arg{}", i, span = Span::mixed_site()))
        .collect();
    let extract = |name: &syn::Ident, ty: &Type, last: bool| {
        // The check is the one error for a type that is no extractor, at the argument; the
        // extraction itself falls back to a stub then (see `Extract`), adding none.
        let (check, call) = if last {
            (
                quote_spanned!(ty.span()=> #private::check_last_arg::<#ty, _>();),
                quote!((&&#private::Extract::<#ty>::new()).last(#request)),
            )
        } else {
            (
                quote_spanned!(ty.span()=> #private::check_head_arg::<#ty>();),
                quote!((&&#private::Extract::<#ty>::new()).head(&mut #parts)),
            )
        };
        quote! {
            #check
            let #name = match #call.await {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(#rejection) => return #rejection,
            };
        }
    };
    let extractions = match r.args.split_last() {
        None => quote! {},
        Some((last_ty, [])) => extract(&names[0], last_ty, true),
        Some((last_ty, head)) => {
            let head = head
                .iter()
                .zip(&names)
                .map(|(ty, name)| extract(name, ty, false));
            let last = extract(&names[r.args.len() - 1], last_ty, true);
            quote! {
                let (mut #parts, #body) = #request.into_parts();
                #(#head)*
                let #request = #axum::extract::Request::from_parts(#parts, #body);
                #last
            }
        }
    };
    let method_ident = &r.ident;
    let call = if r.receiver {
        quote!(#self_ty::#method_ident(&*#this, #(#names),*))
    } else {
        quote!(#self_ty::#method_ident(#(#names),*))
    };
    let call = if r.asyncness {
        // Spanned at the method's name, so "future cannot be sent between threads safely"
        // points at the handler.
        let future = syn::Ident::new(
            "__cortex_future",
            method_ident.span().resolved_at(Span::mixed_site()),
        );
        quote_spanned!(method_ident.span()=> { let #future = #call; #private::send(#future).await })
    } else {
        call
    };
    // Named in a turbofish, so an error lands on the return type (`impl Trait` cannot be named).
    let respond = match &r.output {
        Some(ty) if !unnameable(ty) => quote_spanned!(ty.span()=> #private::respond::<#ty>(#call)),
        _ => quote!(#private::respond(#call)),
    };
    // Each request gets its own handle on the controller, moved into its future.
    let clone_this = r
        .receiver
        .then(|| quote! { let #this = ::core::clone::Clone::clone(&#this); });
    // Without arguments the closure takes none: axum then drops the request before creating the
    // handler's future, which it boxes, instead of moving the whole request into it.
    let param = (!r.args.is_empty()).then(|| quote!(#request: #axum::extract::Request));
    let closure = quote! {
        move |#param| {
            #[allow(unused_imports)]
            use #private::{ExtractHead as _, ExtractLast as _, ExtractNone as _};
            #clone_this
            async move {
                #extractions
                #respond
            }
        }
    };
    match clone_this {
        Some(clone_this) => quote! {{ #clone_this #closure }},
        None => closure,
    }
}

fn expansion(block: &ItemImpl, routes: &[RouteMethod]) -> TokenStream {
    let core = crate_path::core_runtime();
    let di = crate_path::runtime();
    let self_ty = &block.self_ty;
    let type_name = match &**self_ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let container = syn::Ident::new("__cortex_container", Span::mixed_site());
    let this = syn::Ident::new("__cortex_this", Span::mixed_site());
    let list = syn::Ident::new("__cortex_routes", Span::mixed_site());
    let route_var = syn::Ident::new("__cortex_route", Span::mixed_site());
    let handler_var = syn::Ident::new("__cortex_handler", Span::mixed_site());
    let doc_var = syn::Ident::new("__cortex_guard_doc", Span::mixed_site());
    let controller_doc_var = syn::Ident::new("__cortex_controller_guard_doc", Span::mixed_site());
    let any_receiver = routes.iter().any(|r| r.receiver);
    let resolve_this = any_receiver
        .then(|| quote! { let #this = #core::routing::controller::<Self>(#container)?; });
    let route_blocks = routes.iter().map(|r| {
        let handler = handler(&core, self_ty, &this, r);
        let filter = format_ident!("{}", r.method, span = r.method_span);
        let path = &r.path;
        let decorate = controller::decorate(&core, &route_var, &container, &doc_var, &r.decorators);
        let guard_names = controller::guard_names(&r.decorators);
        let handler_name = format!("{type_name}::{}", r.ident);
        let describe = describe_operation(&core, r);
        let dependencies = r.args.iter().zip(&r.arg_names).filter_map(|(ty, name)| {
            types::inject_inner(ty).map(|inner| quote! { .with_dependency(#di::Dependency::on::<#inner>().field(#name)) })
        });
        // Without guards or middleware of the route's or its controller's own, the handler goes
        // to the app unboxed (`Route::from_handler`), which wraps it in its stack before axum
        // boxes it: one boxed service per request instead of two.
        // The controller's guards describe themselves first, as they run first.
        let route_new = quote_spanned! {r.method_span=>
            {
                let #doc_var = &mut #core::openapi::GuardDoc::new();
                let #route_var = #core::__private::axum::routing::on(
                    #core::__private::axum::routing::MethodFilter::#filter,
                    #handler_var,
                );
                #decorate
                let #controller_doc_var = &mut #core::openapi::GuardDoc::new();
                let #route_var = <#self_ty as #core::routing::Controller>::decorate_documented(#route_var, #container, #controller_doc_var)?;
                #core::routing::Route::new(
                    #core::__private::http::Method::#filter,
                    #core::routing::join_path(<#self_ty as #core::routing::Controller>::PREFIX, #path),
                    #handler_name,
                    #route_var,
                )
                .with_guard_doc(::core::mem::take(#controller_doc_var))
                .with_guard_doc(::core::mem::take(#doc_var))
            }
        };
        let route = if r.decorators.is_empty() {
            quote_spanned! {r.method_span=>
                if <#self_ty as #core::routing::Controller>::DECORATES {
                    #route_new
                } else {
                    #core::routing::Route::from_handler(
                        #core::__private::http::Method::#filter,
                        #core::__private::axum::routing::MethodFilter::#filter,
                        #core::routing::join_path(<#self_ty as #core::routing::Controller>::PREFIX, #path),
                        #handler_name,
                        #handler_var,
                    )
                }
            }
        } else {
            route_new
        };
        // The request's inputs, for `cortex routes --audit`: not what the container provides.
        let inputs: Vec<String> = r
            .args
            .iter()
            .filter(|ty| types::inject_inner(ty).is_none())
            .map(types::shown)
            .collect();
        let inputs = (!inputs.is_empty()).then(|| quote! { .with_inputs(&[#(#inputs),*]) });
        let public = if r.public {
            quote! { .public() }
        } else {
            quote! {}
        };
        let controller_public = (!r.public).then(|| {
            quote! {
                let #route_var = if <#self_ty as #core::routing::Controller>::PUBLIC {
                    #route_var.public()
                } else {
                    #route_var
                };
            }
        });
        quote_spanned! {r.method_span=>
            {
                let #handler_var = #handler;
                let #route_var = #route;
                #controller_public
                #list.push(
                    #route_var
                    .with_guards(<#self_ty as #core::routing::Controller>::guard_names())
                    .with_guards(&[#(#guard_names),*])
                    #public
                    #inputs
                    #(#dependencies)*
                    #describe
                );
            }
        }
    });
    quote! {
        impl #core::routing::Routes for #self_ty {
            fn routes(
                #container: &#di::Container,
            ) -> ::core::result::Result<::std::vec::Vec<#core::routing::Route>, #di::Error> {
                #resolve_this
                let mut #list = ::std::vec::Vec::new();
                #(#route_blocks)*
                ::core::result::Result::Ok(#list)
            }
        }
        #di::__private::inventory::submit! {
            #core::routing::RoutesRegistration::of::<#self_ty>(::core::concat!(::core::module_path!(), "::", #type_name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(item: TokenStream) -> String {
        try_expand(TokenStream::new(), item).unwrap().to_string()
    }

    fn error_of(item: TokenStream) -> String {
        try_expand(TokenStream::new(), item)
            .expect_err("an error")
            .to_string()
    }

    #[test]
    fn doc_comments_split_into_summary_and_description() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(summary_and_description(&[]), (None, None));
        assert_eq!(
            summary_and_description(&lines(&[
                " List users,",
                " newest first.",
                "",
                " Pages with `page`.",
                " Max 100."
            ])),
            (
                Some("List users, newest first.".into()),
                Some("Pages with `page`.\nMax 100.".into())
            )
        );
        assert_eq!(
            summary_and_description(&lines(&["\n Block doc.\n\n More.\n"])),
            (Some("Block doc.".into()), Some("More.".into()))
        );
    }

    #[test]
    fn paths_use_braces_for_parameters() {
        assert!(
            error_of(quote! { impl U { #[get("/users/:id")] async fn f(&self) {} } })
                .contains("`{id}`")
        );
        assert!(
            error_of(quote! { impl U { #[get("users")] async fn f(&self) {} } })
                .contains("starts with `/`")
        );
        assert!(
            error_of(quote! { impl U { #[get("/users/{id")] async fn f(&self) {} } })
                .contains("unbalanced")
        );
    }

    #[test]
    fn the_same_method_and_path_twice_is_an_error() {
        let e = error_of(
            quote! { impl U { #[get("/")] async fn a(&self) {} #[get("/")] async fn b(&self) {} } },
        );
        assert!(e.contains("GET / is already served by `a`"), "{e}");
    }

    #[test]
    fn handlers_take_shared_self() {
        assert!(
            error_of(quote! { impl U { #[get("/")] async fn a(&mut self) {} } })
                .contains("`&self`")
        );
    }

    #[test]
    fn arguments_name_their_extractor_type() {
        let e = error_of(quote! { impl U { #[get("/")] async fn a(&self, x: impl Sized) {} } });
        assert!(e.contains("not `impl Trait`"), "{e}");
    }

    #[test]
    fn unknown_methods_are_rejected() {
        assert!(
            error_of(quote! { impl U { #[route(FETCH, "/")] async fn a(&self) {} } })
                .contains("unknown HTTP method `FETCH`")
        );
    }

    #[test]
    fn a_body_extractor_before_another_argument_is_an_error_naming_the_order() {
        let e = error_of(quote! { impl U {
            #[post("/{id}")]
            async fn create(&self, Json(user): Json<NewUser>, Path(id): Path<u32>) {}
        } });
        assert_eq!(
            e,
            "`Json<NewUser>` reads the request body, so it must be the last argument: the arguments before it are extracted from the request head first; hint: move it to the end: `fn create(&self, Path(id): Path<u32>, Json(user): Json<NewUser>)`"
        );
        let e = error_of(quote! { impl U {
            #[post("/")]
            async fn create(&self, body: String, form: Valid<Form<New>>) {}
        } });
        assert!(
            e.contains("`String` and `Valid<Form<New>>` both read the request body"),
            "{e}"
        );
        // Last, it is fine; an unknown type is left to rustc.
        expanded(quote! { impl U {
            #[post("/{id}")]
            async fn create(&self, Path(id): Path<u32>, body: Valid<Json<NewUser>>) {}
            #[post("/raw")]
            async fn raw(&self, body: MyBody, Path(id): Path<u32>) {}
        } });
    }

    #[test]
    fn a_misspelled_route_attribute_suggests_the_one_meant() {
        let e = error_of(quote! { impl U { #[gte("/json")] async fn json(&self) {} } });
        assert!(
            e.starts_with(
                "unknown attribute `#[gte]` on a route method; hint: did you mean `#[get(\"/json\")]`?"
            ),
            "{e}"
        );
        let e = error_of(quote! { impl U { #[get("/")] #[gaurd(Admin)] async fn a(&self) {} } });
        assert!(e.contains("did you mean `#[guard(Admin)]`?"), "{e}");
        let e = error_of(quote! { impl U { #[POST] async fn a(&self) {} } });
        assert!(e.contains("did you mean `#[post]`?"), "{e}");
    }

    #[test]
    fn foreign_attributes_pass_through() {
        let out = expanded(quote! { impl U {
            #[get("/")]
            #[doc = "Lists."]
            #[allow(unused)]
            #[cfg(all())]
            #[inline]
            #[tracing::instrument]
            #[instrument(skip(self))]
            #[test]
            async fn list(&self) {}
            #[deny(warnings)]
            #[path]
            fn helper(&self) {}
        } });
        for kept in [
            "# [allow (unused)]",
            "# [tracing :: instrument]",
            "# [instrument (skip (self))]",
            "# [test]",
            "# [path]",
        ] {
            assert!(out.contains(kept), "{kept} in {out}");
        }
    }

    #[test]
    fn trait_impls_are_rejected() {
        assert!(error_of(quote! { impl Foo for U {} }).contains("inherent"));
    }

    #[test]
    fn public_takes_no_arguments_and_contradicts_a_guard_on_the_same_route() {
        let e = error_of(quote! { impl U { #[get("/")] #[public(true)] async fn a(&self) {} } });
        assert!(e.starts_with("#[public] takes no arguments"), "{e}");
        let e = error_of(
            quote! { impl U { #[get("/")] #[guard(Authenticated)] #[public] async fn a(&self) {} } },
        );
        assert_eq!(
            e,
            "#[public] and #[guard(Authenticated)] on the same route contradict each other: a public route is open to anyone; hint: remove #[public] to keep the guard, or remove the guard to make the route public"
        );
        let e = error_of(
            quote! { impl U { #[get("/")] #[public] #[guard(inject = Keys)] async fn a(&self) {} } },
        );
        assert!(e.contains("#[guard(inject = Keys)]"), "{e}");
        let e = error_of(quote! { impl U { #[public] fn helper(&self) {} } });
        assert!(e.contains("#[public] on a method without a route"), "{e}");
        let e = error_of(quote! { impl U { #[get("/")] #[pubic] async fn a(&self) {} } });
        assert!(e.contains("did you mean `#[public]`?"), "{e}");
        // With middleware, it is fine.
        expanded(
            quote! { impl U { #[get("/")] #[public] #[middleware(layer())] async fn a(&self) {} } },
        );
    }

    #[test]
    fn a_guard_without_a_route_is_an_error() {
        assert!(
            error_of(quote! { impl U { #[guard(X)] fn helper(&self) {} } })
                .contains("without a route")
        );
    }
}
