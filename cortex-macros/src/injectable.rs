//! `#[injectable]`: a struct whose fields the container fills.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Fields, GenericParam, Item, ItemStruct};

use crate::attrs::{self, MacroKind, Options};
use crate::crate_path;
use crate::errors::Errors;
use crate::registration::{self, Locals};
use crate::slot::{self, Slot};

/// Expands `#[injectable(attr)] item`. On errors the item is still emitted (without its
/// `#[inject]` attributes) next to the errors, so that uses of the struct do not add spurious
/// "cannot find type" errors.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    crate::errors::expand_with("injectable", generate, attr, item)
}

/// The same, as a `Result`, for tests.
#[cfg(test)]
pub(crate) fn try_expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    crate::errors::try_expand_with(generate, attr, item)
}

/// Returns the item to emit and the code generated for it.
fn generate(
    attr: TokenStream,
    item: TokenStream,
    errors: &mut Errors,
) -> (TokenStream, TokenStream) {
    let options = attrs::parse_options(attr, MacroKind::Injectable, errors);
    let item: Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(error) => {
            errors.push(error);
            return (item, TokenStream::new());
        }
    };
    let mut item = match item {
        Item::Struct(item) => item,
        other => {
            not_a_struct(&other, errors);
            return (other.into_token_stream(), TokenStream::new());
        }
    };
    let slots = analyze(&mut item, errors);
    // Nothing is generated once something is wrong: the errors say it all.
    let generated = match slots {
        Some(slots) if errors.is_empty() => expansion(&item, &slots, &options),
        _ => TokenStream::new(),
    };
    (item.into_token_stream(), generated)
}

fn not_a_struct(item: &Item, errors: &mut Errors) {
    match item {
        Item::Enum(e) => errors.at(
            keyword_and_name(&e.enum_token, &e.ident),
            "#[injectable] applies to structs; hint: to provide an enum, write a #[provider] fn that returns it",
        ),
        Item::Union(u) => errors.at(
            keyword_and_name(&u.union_token, &u.ident),
            "#[injectable] applies to structs; hint: to provide a union, write a #[provider] fn that returns it",
        ),
        Item::Fn(f) => errors.at(
            &f.sig.ident,
            "#[injectable] applies to structs; hint: to provide what a function returns, annotate it with #[provider]",
        ),
        other => errors.at_span(
            item_keyword_span(other),
            "#[injectable] applies to structs with named fields, such as `struct Service { repo: Inject<Repo> }`",
        ),
    }
}

fn keyword_and_name(keyword: &impl ToTokens, name: &syn::Ident) -> TokenStream {
    quote!(#keyword #name)
}

pub(crate) fn item_keyword_span(item: &Item) -> proc_macro2::Span {
    // The first token after the attributes and visibility is the keyword (`impl`, `trait`, ...).
    let tokens: Vec<_> = item.to_token_stream().into_iter().collect();
    tokens
        .iter()
        .position(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if !matches!(i.to_string().as_str(), "pub" | "unsafe")))
        .map_or_else(|| item.span(), |i| tokens[i].span())
}

/// Checks the struct and reads its fields, removing their `#[inject]` attributes.
fn analyze(item: &mut ItemStruct, errors: &mut Errors) -> Option<Vec<Slot>> {
    let mut ok = true;
    if !item.generics.params.is_empty() {
        ok = false;
        let only_lifetimes = item
            .generics
            .params
            .iter()
            .all(|p| matches!(p, GenericParam::Lifetime(_)));
        let message = if only_lifetimes {
            "structs with lifetime parameters cannot be #[injectable]: the container keeps its instances alive as long as it lives, so they must own their data; hint: hold `Inject<T>` or owned values instead of references"
        } else {
            "generic structs cannot be #[injectable]: the container binds one concrete type per key; hint: use concrete field types (or `Inject<dyn Trait>`), or register each instantiation by hand with `Provider::factory`"
        };
        errors.at(&item.generics, message);
    }
    let mut slots = Vec::new();
    match &mut item.fields {
        Fields::Named(fields) => {
            for field in &mut fields.named {
                let ident = field.ident.as_ref().expect("named fields have names");
                let label = ident.unraw().to_string();
                let what = format!("field `{label}`");
                let attr = attrs::take_inject_attrs(&mut field.attrs, &what, errors);
                match slot::classify(label, &what, &field.ty, attr, errors) {
                    Some(slot) => slots.push(slot),
                    None => ok = false,
                }
            }
        }
        Fields::Unit => {}
        Fields::Unnamed(fields) => {
            ok = false;
            let named: Vec<String> = fields
                .unnamed
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    format!(
                        "{}: {}",
                        field_name_for(&f.ty, i),
                        crate::types::shown(&f.ty)
                    )
                })
                .collect();
            errors.at(
                &*fields,
                format!(
                    "tuple structs cannot be #[injectable]: each dependency is recorded by its field name; hint: name the fields: `struct {} {{ {} }}`",
                    item.ident,
                    named.join(", ")
                ),
            );
            for field in &mut fields.unnamed {
                field.attrs.retain(|a| !a.path().is_ident("inject"));
            }
        }
    }
    ok.then_some(slots)
}

/// The span of the trait's name in `dyn path::Trait + Send`, else of the whole type.
fn trait_name_span(ty: &syn::Type) -> proc_macro2::Span {
    if let syn::Type::TraitObject(object) = crate::types::unwrap(ty) {
        for bound in &object.bounds {
            if let syn::TypeParamBound::Trait(t) = bound
                && let Some(last) = t.path.segments.last()
            {
                return last.ident.span();
            }
        }
    }
    ty.span()
}

/// A field name for a tuple field, for the hint: `Inject<UserRepo>` gives `user_repo`.
fn field_name_for(ty: &syn::Type, index: usize) -> String {
    use crate::types::{inject_inner, option_inner, unwrap};
    let inner = inject_inner(ty)
        .or_else(|| option_inner(ty).and_then(inject_inner))
        .unwrap_or(ty);
    let name = match unwrap(inner) {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.unraw().to_string()),
        syn::Type::TraitObject(_) => Some(
            crate::types::shown(inner)
                .trim_start_matches("dyn ")
                .split([' ', '<', '+'])
                .next()
                .unwrap_or("")
                .to_string(),
        ),
        _ => None,
    };
    // Type names give field names (`UserRepo` gives `user_repo`); primitives (`u8`) do not.
    match name.filter(|n| n.starts_with(|c: char| c.is_uppercase())) {
        Some(name) => snake_case(name.rsplit("::").next().unwrap_or(&name)),
        None => format!("field{index}"),
    }
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn expansion(item: &ItemStruct, slots: &[Slot], options: &Options) -> TokenStream {
    let krate = options.krate.clone().unwrap_or_else(crate_path::runtime);
    let Locals {
        resolver,
        builder,
        provider,
    } = Locals::new();
    let ident = &item.ident;

    let field_names = match &item.fields {
        Fields::Named(fields) => fields.named.iter().map(|f| f.ident.clone()).collect(),
        _ => Vec::new(),
    };
    let values = crate::slot::sync_values(slots, &resolver);
    let param = if slots.iter().any(Slot::uses_resolver) {
        quote!(#resolver)
    } else {
        quote!(_)
    };
    let dependencies = slots.iter().filter_map(|s| s.depends_on(&krate));
    let scope = options.scope.path(&krate);
    let lazy = options.lazy.then(|| quote!(.lazy(true)));
    let conditions = registration::conditions(options);
    let origin = registration::origin(&krate, ident);
    let hooks = registration::attach_lifecycle(&krate, &provider, ident);
    let submit = (!options.undiscovered).then(|| registration::submit(&krate, ident));
    let checks = registration::shareable_checks(slots);
    // "`factory` exists but its trait bounds were not satisfied" (a field that is not `Send`)
    // points at the struct's name rather than at the attribute.
    let factory = registration::respan(quote!(#krate::Provider::<#ident>::factory), ident.span());

    // With `provides`, the name goes on the trait binding: that is the one looked up by name.
    let (own_name, alias) = match &options.provides {
        None => (options.name.as_ref().map(|n| quote!(.named(#n))), None),
        Some(trait_object) => {
            let named = options.name.as_ref().map(|n| quote!(.named(#n)));
            // Spanned at the trait, so "`Smtp: Mailer` is not satisfied" points there.
            let span = trait_name_span(trait_object);
            let instance = registration::local("instance", span);
            let cast = quote_spanned!(span=> |#instance| #instance);
            let alias = quote! {
                #builder.add(
                    #krate::Provider::<#trait_object>::alias::<#ident>(#cast)
                        #named
                        #lazy
                        #conditions
                        #origin
                );
            };
            (None, Some(alias))
        }
    };

    let health_check = registration::attach_health_check(
        crate_path::core_runtime_if_linked(),
        &builder,
        ident,
        &quote!(#lazy #conditions #origin),
    );

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #krate::Injectable for #ident {
                fn register(#builder: &mut #krate::ContainerBuilder) {
                    #checks
                    let #provider = #factory(|#param| {
                        ::core::result::Result::Ok(#ident { #(#field_names: #values,)* })
                    })
                    .scope(#scope)
                    #lazy
                    #own_name
                    #(#dependencies)*
                    #conditions
                    #origin;
                    #hooks
                    #builder.add(#provider);
                    #alias
                    #health_check
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
    fn every_bad_field_is_reported() {
        let m = errors(
            quote!(),
            quote!(
                struct S {
                    a: Config,
                    b: Inject<B>,
                    c: Option<u8>,
                }
            ),
        );
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].starts_with("field `a` of type `Config` cannot be injected"));
        assert!(m[1].starts_with("field `c` of type `Option<u8>` cannot be injected"));
    }

    #[test]
    fn option_and_field_errors_are_reported_together() {
        let m = errors(
            quote!(scope = "session"),
            quote!(
                struct S {
                    #[inject(default, value = 1)]
                    a: u8,
                    b: String,
                }
            ),
        );
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m[0].starts_with("unknown scope `session`"));
        assert!(
            m[1].starts_with("conflicting #[inject] options `default` and `value` for field `a`")
        );
        assert!(m[2].starts_with("field `b` of type `String` cannot be injected"));
    }

    #[test]
    fn only_plain_structs_are_injectable() {
        let m = errors(
            quote!(),
            quote!(
                struct S<T> {
                    t: Inject<T>,
                }
            ),
        );
        assert!(
            m[0].starts_with("generic structs cannot be #[injectable]"),
            "{m:?}"
        );
        let m = errors(
            quote!(),
            quote!(
                struct S<'a> {
                    t: &'a str,
                }
            ),
        );
        assert!(
            m[0].starts_with("structs with lifetime parameters cannot be #[injectable]"),
            "{m:?}"
        );
        let m = errors(
            quote!(),
            quote!(
                struct S(Inject<UserRepo>, Option<Inject<dyn Mailer>>, u8);
            ),
        );
        assert!(
            m[0].starts_with("tuple structs cannot be #[injectable]"),
            "{m:?}"
        );
        assert!(m[0].ends_with("`struct S { user_repo: Inject<UserRepo>, mailer: Option<Inject<dyn Mailer>>, field2: u8 }`"), "{m:?}");
        let m = errors(
            quote!(),
            quote!(
                enum E {
                    A,
                }
            ),
        );
        assert_eq!(
            m,
            [
                "#[injectable] applies to structs; hint: to provide an enum, write a #[provider] fn that returns it"
            ]
        );
        let m = errors(
            quote!(),
            quote!(
                fn make() -> u8 {
                    1
                }
            ),
        );
        assert!(m[0].contains("annotate it with #[provider]"));
        let m = errors(quote!(), quote!(impl S {}));
        assert!(m[0].starts_with("#[injectable] applies to structs with named fields"));
    }
}
