//! `#[controller("/prefix")]`: an injectable struct whose `#[routes]` serve under a prefix, with
//! controller-wide `#[guard(..)]` and `#[middleware(..)]`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Item, LitStr, Token, Type};

use crate::errors::Errors;
use crate::{crate_path, debug, injectable};

/// Expands `#[controller(attr)] item`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let generated = generate(attr, item.clone(), &mut errors);
    match errors.finish() {
        Ok(()) => debug::show("controller", generated),
        Err(error) => {
            let error = error.into_compile_error();
            // Keep the struct so its uses do not add secondary errors.
            let item = strip_for_fallback(item);
            quote!(#item #error)
        }
    }
}

/// The same, as a `Result`, for tests.
#[cfg(test)]
pub(crate) fn try_expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let generated = generate(attr, item, &mut errors);
    errors.finish().map(|()| generated)
}

fn strip_for_fallback(item: TokenStream) -> TokenStream {
    match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Struct(mut s)) => {
            s.attrs
                .retain(|a| !is_decorator(a) && !a.path().is_ident("public"));
            for field in &mut s.fields {
                field.attrs.retain(|a| !a.path().is_ident("inject"));
            }
            s.into_token_stream()
        }
        _ => item,
    }
}

/// The prefix and the options passed on to `#[injectable]`.
struct ControllerArgs {
    prefix: Option<LitStr>,
    rest: TokenStream,
}

impl Parse for ControllerArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let prefix = if input.peek(LitStr) {
            Some(input.parse::<LitStr>()?)
        } else {
            None
        };
        if prefix.is_some() && !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
        Ok(ControllerArgs {
            prefix,
            rest: input.parse()?,
        })
    }
}

/// `#[guard(..)]` and `#[middleware(..)]`, on a controller or a route.
pub(crate) enum Decorator {
    /// `#[guard(expr)]`: a guard value.
    Guard(Expr),
    /// `#[guard(inject = Type)]`: a guard resolved from the container.
    InjectedGuard(Type),
    /// `#[middleware(expr)]`: a tower layer.
    Middleware(Expr),
}

pub(crate) fn is_decorator(attr: &Attribute) -> bool {
    attr.path().is_ident("guard") || attr.path().is_ident("middleware")
}

/// Removes the `#[public]` attributes among `attrs`, reporting one with arguments, a second one,
/// and one next to a guard (`guarded`: whether `decorators` has one): the span of the first, if
/// any. `what` is `route` or `controller`, for the messages.
pub(crate) fn take_public(
    attrs: &mut Vec<Attribute>,
    decorators: &[Decorator],
    what: &str,
    errors: &mut Errors,
) -> Option<proc_macro2::Span> {
    let mut found: Option<proc_macro2::Span> = None;
    attrs.retain(|attr| {
        if !attr.path().is_ident("public") {
            return true;
        }
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            errors.at(
                attr,
                format!("#[public] takes no arguments: it marks the {what} open to anyone; hint: write `#[public]`"),
            );
        } else if found.is_some() {
            errors.at(attr, "#[public] is given twice; hint: remove one");
        }
        found.get_or_insert(attr.path().span());
        false
    });
    if let Some(span) = found {
        let guard = decorators.iter().find_map(|d| match d {
            Decorator::Guard(e) => Some(crate::types::shown(e)),
            Decorator::InjectedGuard(t) => Some(format!("inject = {}", crate::types::shown(t))),
            Decorator::Middleware(_) => None,
        });
        if let Some(guard) = guard {
            errors.at_span(
                span,
                format!(
                    "#[public] and #[guard({guard})] on the same {what} contradict each other: a public {what} is open to anyone; hint: remove #[public] to keep the guard, or remove the guard to make the {what} public"
                ),
            );
        }
    }
    found
}

/// Parses and removes the decorators among `attrs`, in order.
pub(crate) fn take_decorators(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Vec<Decorator> {
    let mut found = Vec::new();
    attrs.retain(|attr| {
        if attr.path().is_ident("guard") {
            match parse_guard(attr) {
                Ok(d) => found.push(d),
                Err(e) => errors.push(e),
            }
            false
        } else if attr.path().is_ident("middleware") {
            match attr.parse_args::<Expr>() {
                Ok(e) => found.push(Decorator::Middleware(e)),
                Err(_) => errors.at(
                    attr,
                    "#[middleware(..)] takes one expression: a tower layer, e.g. #[middleware(axum::middleware::from_fn(audit))]",
                ),
            }
            false
        } else {
            true
        }
    });
    found
}

fn parse_guard(attr: &Attribute) -> syn::Result<Decorator> {
    let hint = "#[guard(..)] takes a guard value, e.g. #[guard(RequireRole(\"admin\"))], or a guard the container provides: #[guard(inject = ApiKeyGuard)]";
    let Ok(list) = attr.meta.require_list() else {
        return Err(syn::Error::new_spanned(attr, hint));
    };
    if list.tokens.is_empty() {
        return Err(syn::Error::new_spanned(attr, hint));
    }
    attr.parse_args_with(|input: ParseStream<'_>| {
        if input.peek(syn::Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key: syn::Ident = input.parse()?;
            if key != "inject" {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown guard option `{key}`; {hint}"),
                ));
            }
            input.parse::<Token![=]>()?;
            let ty: Type = input.parse()?;
            return Ok(Decorator::InjectedGuard(ty));
        }
        Ok(Decorator::Guard(input.parse()?))
    })
    .map_err(|e| syn::Error::new(e.span(), format!("{e}; {hint}")))
}

/// The guard names shown in the route table.
pub(crate) fn guard_names(decorators: &[Decorator]) -> Vec<String> {
    decorators
        .iter()
        .filter_map(|d| match d {
            Decorator::Guard(e) => Some(crate::types::shown(e)),
            Decorator::InjectedGuard(t) => Some(format!("inject {}", crate::types::shown(t))),
            Decorator::Middleware(_) => None,
        })
        .collect()
}

/// Applies `decorators` to the `MethodRouter` in `route`: guards innermost (they run last, just
/// before the handler), then middleware, the first listed outermost. The guards describe
/// themselves in `doc` (a `&mut GuardDoc`) for the OpenAPI document.
pub(crate) fn decorate(
    core: &syn::Path,
    route: &syn::Ident,
    container: &syn::Ident,
    doc: &syn::Ident,
    decorators: &[Decorator],
) -> TokenStream {
    let guards: Vec<TokenStream> = decorators
        .iter()
        .filter_map(|d| match d {
            Decorator::Guard(e) => Some(quote_spanned! {e.span()=>
                ::std::sync::Arc::new(#e) as ::std::sync::Arc<dyn #core::routing::ErasedGuard>
            }),
            Decorator::InjectedGuard(t) => Some(quote_spanned! {t.span()=>
                #core::routing::injected_guard::<#t>(#container)?
            }),
            Decorator::Middleware(_) => None,
        })
        .collect();
    let middleware: Vec<&Expr> = decorators
        .iter()
        .filter_map(|d| match d {
            Decorator::Middleware(e) => Some(e),
            _ => None,
        })
        .rev()
        .collect();
    let guards = if guards.is_empty() {
        TokenStream::new()
    } else {
        quote! { let #route = #core::routing::apply_described_guards(#route, ::std::vec![#(#guards),*], #doc); }
    };
    let layers = middleware
        .iter()
        .map(|e| quote_spanned! {e.span()=> let #route = #route.layer(#e); });
    quote! { #guards #(#layers)* }
}

/// The `#[injectable]` options a controller may take.
const CONTROLLER_OPTIONS: [&str; 5] = ["profile", "when", "lazy", "provides", "crate"];

/// Checks the options passed on to `#[injectable]`: a controller is one unnamed singleton, since
/// its routes are built from it once, at startup.
fn check_options(rest: &TokenStream, errors: &mut Errors) {
    let tokens: Vec<proc_macro2::TokenTree> = rest.clone().into_iter().collect();
    let options =
        tokens.split(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == ','));
    for option in options {
        let Some(proc_macro2::TokenTree::Ident(key)) = option.first() else {
            continue;
        };
        let value = option.get(2);
        match key.to_string().as_str() {
            "scope" => {
                let singleton = matches!(value, Some(proc_macro2::TokenTree::Literal(l)) if l.to_string() == "\"singleton\"");
                if !singleton {
                    let at: TokenStream = option.iter().cloned().collect();
                    errors.at(
                        at,
                        "a controller is a singleton: its routes are built from one instance at startup; hint: remove `scope`, and take request-scoped values as handler arguments (`Inject<T>`)",
                    );
                }
            }
            "name" => errors.at(
                key,
                "a controller cannot be named: its routes resolve it by type; hint: remove `name`",
            ),
            known if CONTROLLER_OPTIONS.contains(&known) => {}
            unknown => errors.at(
                key,
                format!(
                    "unknown option `{unknown}` for #[controller]; valid options: the path prefix first (\"/users\"), then {}",
                    CONTROLLER_OPTIONS.map(|o| format!("`{o}`")).join(", ")
                ),
            ),
        }
    }
}

fn generate(attr: TokenStream, item: TokenStream, errors: &mut Errors) -> TokenStream {
    let args = match syn::parse2::<ControllerArgs>(attr) {
        Ok(args) => args,
        Err(e) => {
            errors.push(e);
            return TokenStream::new();
        }
    };
    let mut item = match syn::parse2::<Item>(item) {
        Ok(Item::Struct(s)) => s,
        Ok(other) => {
            errors.at_span(
                injectable::item_keyword_span(&other),
                "#[controller] applies to structs: `#[controller(\"/users\")] struct UserController { .. }`",
            );
            return TokenStream::new();
        }
        Err(e) => {
            errors.push(e);
            return TokenStream::new();
        }
    };
    let prefix = match &args.prefix {
        Some(p) => {
            let value = p.value();
            if !(value.is_empty() || value.starts_with('/')) {
                errors.at(
                    p,
                    format!("a controller prefix starts with `/`: write \"/{value}\""),
                );
            }
            if value.contains('{') || value.contains('}') || value.contains(':') {
                errors.at(
                    p,
                    "a controller prefix is a fixed path; put parameters in the route paths",
                );
            }
            value
        }
        None => String::new(),
    };
    check_options(&args.rest, errors);
    let decorators = take_decorators(&mut item.attrs, errors);
    let public = take_public(&mut item.attrs, &decorators, "controller", errors)
        .is_some()
        .then(|| quote! { const PUBLIC: bool = true; });
    if !errors.is_empty() {
        return TokenStream::new();
    }
    let core = crate_path::core_runtime();
    let di = crate_path::runtime();
    let ident = &item.ident;
    let injectable = injectable::expand(args.rest, item.to_token_stream());
    let route = syn::Ident::new("__cortex_route", proc_macro2::Span::mixed_site());
    let container = syn::Ident::new("__cortex_container", proc_macro2::Span::mixed_site());
    let doc = syn::Ident::new("__cortex_guard_doc", proc_macro2::Span::mixed_site());
    let body = decorate(&core, &route, &container, &doc, &decorators);
    let names = guard_names(&decorators);
    let decorates = !decorators.is_empty();
    quote! {
        #injectable
        impl #core::routing::Controller for #ident {
            const PREFIX: &'static str = #prefix;
            const DECORATES: bool = #decorates;
            #public

            fn decorate(
                #route: #core::__private::axum::routing::MethodRouter,
                #container: &#di::Container,
            ) -> ::core::result::Result<#core::__private::axum::routing::MethodRouter, #di::Error> {
                Self::decorate_documented(#route, #container, &mut #core::openapi::GuardDoc::new())
            }

            fn decorate_documented(
                #route: #core::__private::axum::routing::MethodRouter,
                #container: &#di::Container,
                #doc: &mut #core::openapi::GuardDoc,
            ) -> ::core::result::Result<#core::__private::axum::routing::MethodRouter, #di::Error> {
                let _ = (#container, &#doc);
                #body
                ::core::result::Result::Ok(#route)
            }

            fn guard_names() -> &'static [&'static str] {
                &[#(#names),*]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(attr: TokenStream, item: TokenStream) -> String {
        try_expand(attr, item).expect_err("an error").to_string()
    }

    #[test]
    fn a_prefix_must_start_with_a_slash() {
        assert!(
            error_of(
                quote!("users"),
                quote!(
                    struct U;
                )
            )
            .contains("starts with `/`")
        );
    }

    #[test]
    fn a_prefix_has_no_parameters() {
        assert!(
            error_of(
                quote!("/users/{id}"),
                quote!(
                    struct U;
                )
            )
            .contains("fixed path")
        );
    }

    #[test]
    fn only_structs_can_be_controllers() {
        assert!(
            error_of(
                quote!("/x"),
                quote!(
                    enum E {
                        A,
                    }
                )
            )
            .contains("applies to structs")
        );
    }

    #[test]
    fn a_controller_is_an_unnamed_singleton() {
        assert!(
            error_of(
                quote!("/x", scope = "request"),
                quote!(
                    struct U;
                )
            )
            .contains("a controller is a singleton")
        );
        assert!(
            error_of(
                quote!("/x", name = "main"),
                quote!(
                    struct U;
                )
            )
            .contains("cannot be named")
        );
        assert!(
            error_of(
                quote!("/x", tag = "Users"),
                quote!(
                    struct U;
                )
            )
            .contains("unknown option `tag` for #[controller]")
        );
        assert!(
            try_expand(
                quote!("/x", scope = "singleton", profile = "test", lazy),
                quote!(
                    struct U;
                )
            )
            .is_ok()
        );
    }

    #[test]
    fn a_public_controller_has_no_guard_and_public_takes_no_arguments() {
        let e = error_of(
            quote!("/x"),
            quote!(
                #[guard(Authenticated)]
                #[public]
                struct U;
            ),
        );
        assert!(
            e.starts_with(
                "#[public] and #[guard(Authenticated)] on the same controller contradict each other"
            ),
            "{e}"
        );
        let e = error_of(
            quote!("/x"),
            quote!(
                #[public = "yes"]
                struct U;
            ),
        );
        assert!(e.starts_with("#[public] takes no arguments"), "{e}");
    }

    #[test]
    fn an_empty_guard_is_explained() {
        assert!(
            error_of(
                quote!("/x"),
                quote!(
                    #[guard()]
                    struct U;
                )
            )
            .contains("takes a guard value")
        );
    }
}
