//! `#[provider]`: a function (sync or `async`) whose return value the container provides.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, Item, ItemFn, Pat, ReturnType, Type};

use crate::attrs::{self, MacroKind, Options};
use crate::errors::Errors;
use crate::registration::{self, Locals};
use crate::slot::{self, Slot};
use crate::{crate_path, types};

/// Expands `#[provider(attr)] item`. On errors the function is still emitted (without its
/// `#[inject]` attributes) next to the errors.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    crate::errors::expand_with("provider", generate, attr, item)
}

/// The same, as a `Result`, for tests.
#[cfg(test)]
pub(crate) fn try_expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    crate::errors::try_expand_with(generate, attr, item)
}

/// How the function's return value becomes the provided instance.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wrapper {
    /// `T`: a value, wrapped by the container.
    Value,
    /// `Arc<T>`: shared as is (`T` may be `dyn Trait`).
    Arc,
    /// `Inject<T>`: its `Arc`.
    Inject,
    /// `Box<T>`: moved into an `Arc`.
    Box,
}

/// What the function returns.
struct Returns {
    /// The type the container binds.
    provided: Type,
    wrapper: Wrapper,
    /// `Result<_, E>` rather than the value.
    fallible: bool,
    /// The declared return type, where conversion errors are reported.
    declared: Type,
}

fn generate(
    attr: TokenStream,
    item: TokenStream,
    errors: &mut Errors,
) -> (TokenStream, TokenStream) {
    let options = attrs::parse_options(attr, MacroKind::Provider, errors);
    let item: Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(error) => {
            errors.push(error);
            return (item, TokenStream::new());
        }
    };
    let mut function = match item {
        Item::Fn(function) => function,
        other => {
            not_a_function(&other, errors);
            return (other.into_token_stream(), TokenStream::new());
        }
    };
    let checked = check_signature(&function, errors);
    let slots = arguments(&mut function, errors);
    let generated = match (checked, slots) {
        (Some(returns), Some(slots)) if errors.is_empty() => {
            expansion(&function, &returns, &slots, &options)
        }
        _ => TokenStream::new(),
    };
    (function.into_token_stream(), generated)
}

fn not_a_function(item: &Item, errors: &mut Errors) {
    let message = "#[provider] applies to functions, such as `#[provider] async fn pool(config: Inject<DbConfig>) -> Result<PgPool, sqlx::Error>`";
    match item {
        Item::Struct(s) => {
            let (keyword, name) = (&s.struct_token, &s.ident);
            errors.at(
                quote!(#keyword #name),
                format!("{message}; hint: for a struct, use #[injectable]"),
            );
        }
        other => {
            let first = other
                .to_token_stream()
                .into_iter()
                .find(|t| matches!(t, TokenTree::Ident(_)));
            errors.at_span(first.map_or_else(|| other.span(), |t| t.span()), message);
        }
    }
}

/// Checks everything but the arguments, and reads the return type.
fn check_signature(function: &ItemFn, errors: &mut Errors) -> Option<Returns> {
    let sig = &function.sig;
    let mut ok = true;
    if !sig.generics.params.is_empty() {
        ok = false;
        errors.at(
            &sig.generics,
            "generic functions cannot be #[provider]s: the container must know the concrete type it provides and the types it passes in; hint: use concrete types (or `Inject<dyn Trait>`), or write one #[provider] per type",
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        ok = false;
        errors.at(unsafety, "an `unsafe fn` cannot be a #[provider]: the container would call it without the caller's guarantees; hint: make it a safe fn that upholds them itself");
    }
    if let Some(variadic) = &sig.variadic {
        ok = false;
        errors.at(variadic, "a variadic fn cannot be a #[provider]");
    }
    for input in &sig.inputs {
        if let FnArg::Receiver(receiver) = input {
            ok = false;
            errors.at(
                receiver.self_token,
                "#[provider] applies to free functions, not methods: the container has no `self` to call it on; hint: move the function out of the `impl` block and take what it needs as `Inject<T>` arguments",
            );
        }
    }
    let returns = match &sig.output {
        ReturnType::Default => {
            errors.at(
                &sig.ident,
                format!(
                    "#[provider] fn `{}` returns nothing: a provider returns what it provides; hint: add a return type, such as `-> Config` or `-> Result<Config, Error>`",
                    sig.ident.unraw()
                ),
            );
            None
        }
        ReturnType::Type(_, declared) => read_return(declared, errors),
    };
    if ok { returns } else { None }
}

fn read_return(declared: &Type, errors: &mut Errors) -> Option<Returns> {
    if let Some(self_token) = find_self(declared.to_token_stream()) {
        errors.at_span(
            self_token.span(),
            "#[provider] applies to free functions, and `Self` only exists inside an `impl` block; hint: move the function out of the `impl` block and name the type",
        );
        return None;
    }
    let (value, fallible) = match types::args_of(declared, "Result") {
        Some(args) => match args.first() {
            Some(ok) => (*ok, true),
            None => {
                errors.at(declared, "cannot tell what this `Result` provides; hint: write `Result<T, E>` (or `anyhow::Result<T>`)");
                return None;
            }
        },
        None => (declared, false),
    };
    let (provided, wrapper) = if let Some(inner) = types::single_arg(value, "Arc") {
        (inner, Wrapper::Arc)
    } else if let Some(inner) = types::inject_inner(value) {
        (inner, Wrapper::Inject)
    } else if let Some(inner) = types::single_arg(value, "Box") {
        (inner, Wrapper::Box)
    } else {
        (value, Wrapper::Value)
    };
    match types::unwrap(provided) {
        Type::Tuple(t) if t.elems.is_empty() => {
            errors.at(declared, "a #[provider] returns what it provides, not `()`; hint: return the value, such as `-> Config` or `-> Result<Config, Error>`");
            None
        }
        Type::ImplTrait(_) => {
            errors.at(
                provided,
                "a #[provider] cannot return `impl Trait`: the container binds a type it can name; hint: return `Arc<dyn Trait>` (or `Box<dyn Trait>`) to provide a trait object, or the concrete type",
            );
            None
        }
        _ => Some(Returns {
            provided: provided.clone(),
            wrapper,
            fallible,
            declared: declared.clone(),
        }),
    }
}

fn find_self(tokens: TokenStream) -> Option<proc_macro2::Ident> {
    tokens.into_iter().find_map(|t| match t {
        TokenTree::Ident(i) if i == "Self" => Some(i),
        TokenTree::Group(g) => find_self(g.stream()),
        _ => None,
    })
}

/// Reads the arguments, removing their `#[inject]` attributes.
fn arguments(function: &mut ItemFn, errors: &mut Errors) -> Option<Vec<Slot>> {
    let mut slots = Vec::new();
    let mut ok = true;
    for (index, input) in function.sig.inputs.iter_mut().enumerate() {
        let FnArg::Typed(arg) = input else { continue };
        let label = match &*arg.pat {
            Pat::Ident(p) => p.ident.unraw().to_string(),
            _ => format!("argument {index}"),
        };
        let what = format!("argument `{label}`");
        let attr = attrs::take_inject_attrs(&mut arg.attrs, &what, errors);
        match slot::classify(label, &what, &arg.ty, attr, errors) {
            Some(slot) => slots.push(slot),
            None => ok = false,
        }
    }
    ok.then_some(slots)
}

fn expansion(
    function: &ItemFn,
    returns: &Returns,
    slots: &[Slot],
    options: &Options,
) -> TokenStream {
    let krate = options.krate.clone().unwrap_or_else(crate_path::runtime);
    let Locals {
        resolver,
        builder,
        provider,
    } = Locals::new();
    let ident = &function.sig.ident;
    let is_async = function.sig.asyncness.is_some();
    let Returns {
        provided,
        wrapper,
        fallible,
        declared,
    } = returns;

    let args: Vec<TokenStream> = if is_async {
        slots.iter().map(|s| s.async_value(&resolver)).collect()
    } else {
        crate::slot::sync_values(slots, &resolver)
    };
    let call = if is_async {
        quote!(#ident(#(#args),*).await)
    } else {
        quote!(#ident(#(#args),*))
    };
    // Spanned at the error type: "`E: Into<BoxError>` is not satisfied" points there.
    let error_type = types::args_of(declared, "Result").and_then(|args| args.get(1).copied());
    let span = error_type.map_or_else(|| declared.span(), Spanned::span);
    let result = if *fallible {
        // The function's result is the argument whose type fails the bound: report it there too.
        let convert = registration::respan(quote!(#krate::__private::from_result), span);
        let call = registration::parenthesized(registration::respan_shallow(call, span), span);
        quote!(#convert #call)
    } else {
        quote!(#krate::__private::ok(#call))
    };
    let result = match wrapper {
        Wrapper::Value | Wrapper::Arc => result,
        Wrapper::Inject => quote!(#result.map(#krate::Inject::into_arc)),
        Wrapper::Box => quote!(#result.map(::std::sync::Arc::from)),
    };
    let constructor = match (is_async, wrapper) {
        (false, Wrapper::Value) => quote!(factory),
        (false, _) => quote!(arc_factory),
        (true, Wrapper::Value) => quote!(async_factory),
        (true, _) => quote!(async_arc_factory),
    };
    // A provided type that is not `Send + Sync + 'static` is reported on the type.
    let constructor = registration::respan(
        quote!(#krate::Provider::<#provided>::#constructor),
        provided.span(),
    );
    let param = if slots.iter().any(Slot::uses_resolver) {
        quote!(#resolver)
    } else {
        quote!(_)
    };
    let factory = if is_async {
        quote!(|#param| async move { #result })
    } else {
        quote!(|#param| #result)
    };

    let dependencies = slots.iter().filter_map(|s| s.depends_on(&krate));
    let scope = options.scope.path(&krate);
    let lazy = options.lazy.then(|| quote!(.lazy(true)));
    let named = options.name.as_ref().map(|n| quote!(.named(#n)));
    let conditions = registration::conditions(options);
    let origin = registration::origin(&krate, ident);
    let hooks = registration::attach_lifecycle(&krate, &provider, provided);
    let submit = (!options.undiscovered).then(|| registration::submit(&krate, ident));
    let checks = registration::shareable_checks(slots);

    let vis = &function.vis;
    let doc = format!(
        "Registers what the `#[provider]` fn `{name}` returns: `builder.register::<{name}>()`.",
        name = ident.unraw()
    );
    quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #ident {}

        const _: () = {
            #[automatically_derived]
            impl #krate::Injectable for #ident {
                fn register(#builder: &mut #krate::ContainerBuilder) {
                    #checks
                    let #provider = #constructor(#factory)
                        .scope(#scope)
                        #lazy
                        #named
                        #(#dependencies)*
                        #conditions
                        #origin;
                    #hooks
                    #builder.add(#provider);
                }
            }
            #submit
        };
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn errors(attr: TokenStream, item: TokenStream) -> Vec<String> {
        try_expand(attr, item)
            .expect_err("an error")
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn methods_and_functions_without_a_type_are_refused() {
        let m = errors(
            quote!(),
            quote!(
                fn pool(&self) -> Pool {
                    todo!()
                }
            ),
        );
        assert!(
            m[0].starts_with("#[provider] applies to free functions, not methods"),
            "{m:?}"
        );
        let m = errors(
            quote!(),
            quote!(
                fn start() {}
            ),
        );
        assert!(
            m[0].starts_with("#[provider] fn `start` returns nothing"),
            "{m:?}"
        );
        let m = errors(
            quote!(),
            quote!(
                fn start() -> () {}
            ),
        );
        assert!(m[0].contains("not `()`"), "{m:?}");
        let m = errors(
            quote!(),
            quote!(
                fn new() -> Self {
                    todo!()
                }
            ),
        );
        assert!(
            m[0].contains("`Self` only exists inside an `impl` block"),
            "{m:?}"
        );
        let m = errors(
            quote!(),
            quote!(
                fn make() -> impl Mailer {
                    todo!()
                }
            ),
        );
        assert!(
            m[0].starts_with("a #[provider] cannot return `impl Trait`"),
            "{m:?}"
        );
        let m = errors(
            quote!(),
            quote!(
                fn make() -> io::Result {
                    todo!()
                }
            ),
        );
        assert!(
            m[0].starts_with("cannot tell what this `Result` provides"),
            "{m:?}"
        );
    }

    #[test]
    fn generic_and_unsafe_functions_are_refused() {
        let m = errors(
            quote!(),
            quote!(
                fn make<T: Default>() -> T {
                    todo!()
                }
            ),
        );
        assert!(
            m[0].starts_with("generic functions cannot be #[provider]s"),
            "{m:?}"
        );
        let m = errors(
            quote!(),
            quote!(
                unsafe fn make() -> u8 {
                    1
                }
            ),
        );
        assert!(
            m[0].starts_with("an `unsafe fn` cannot be a #[provider]"),
            "{m:?}"
        );
    }

    #[test]
    fn every_bad_argument_and_option_is_reported() {
        let m = errors(
            quote!(provides = dyn X),
            quote!(
                fn make(a: &Config, b: Inject<B>, c: Arc<C>) -> u8 {
                    1
                }
            ),
        );
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m[0].starts_with("unknown option `provides` for #[provider]"));
        assert!(m[1].starts_with("argument `a` of type `&Config` cannot be injected"));
        assert!(m[2].starts_with("argument `c` of type `Arc<C>` cannot be injected"));
    }

    #[test]
    fn only_functions_are_providers() {
        let m = errors(
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(
            m[0].ends_with("hint: for a struct, use #[injectable]"),
            "{m:?}"
        );
    }
}
