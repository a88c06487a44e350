//! `#[derive(Event)]` with `#[event(topic = "user.created")]`: implements `cortex_events::Event`,
//! the topic checked here by the runtime's rules.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{DeriveInput, Expr, ExprLit, Lit, LitStr, Meta, Token};

use crate::errors::Errors;
use crate::{crate_path, topic};

/// The options `#[event(..)]` takes.
const KEYS: [&str; 1] = ["topic"];

/// Expands `#[derive(Event)]`. On errors the impl is still emitted (with an empty topic) next to
/// them, so that uses of the type add no spurious errors.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let generated = generate(input, &mut errors);
    match errors.finish() {
        Ok(()) => crate::debug::show("derive(Event)", generated),
        Err(error) => {
            let error = error.into_compile_error();
            quote!(#generated #error)
        }
    }
}

/// The same, as a `Result`, for tests.
#[cfg(test)]
pub(crate) fn try_expand(input: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let generated = generate(input, &mut errors);
    errors.finish().map(|()| generated)
}

fn generate(input: TokenStream, errors: &mut Errors) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => {
            errors.push(error);
            return TokenStream::new();
        }
    };
    let topic = read_topic(&input, errors).map_or_else(String::new, |t| t.value());
    let krate = crate_path::events_runtime();
    let ident = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Event for #ident #type_generics #where_clause {
            const TOPIC: &'static str = #topic;
        }
    }
}

/// The topic of the `#[event(..)]` attributes, checked; every problem goes to `errors`.
fn read_topic(input: &DeriveInput, errors: &mut Errors) -> Option<LitStr> {
    let before = errors.count();
    let mut topic: Option<LitStr> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("event")) {
        let list = match &attr.meta {
            Meta::List(list) => list,
            _ => {
                errors.at(
                    attr,
                    "`#[event]` needs the event's topic: `#[event(topic = \"user.created\")]`",
                );
                continue;
            }
        };
        let parsed = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated);
        let Some(metas) = errors.take(parsed) else {
            continue;
        };
        for meta in metas {
            let key = meta.path();
            let Some(name) = key.get_ident().map(|i| i.unraw().to_string()) else {
                errors.at(key, unknown_option(&crate::types::shown(key)));
                continue;
            };
            if !KEYS.contains(&name.as_str()) {
                errors.at(key, unknown_option(&name));
                continue;
            }
            let value = match &meta {
                Meta::NameValue(nv) => match &nv.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(lit), ..
                    }) => lit.clone(),
                    other => {
                        errors.at(
                            other,
                            "`topic` takes a string: `#[event(topic = \"user.created\")]`",
                        );
                        continue;
                    }
                },
                _ => {
                    errors.at(
                        &meta,
                        "`topic` needs a value: `#[event(topic = \"user.created\")]`",
                    );
                    continue;
                }
            };
            if topic.is_some() {
                errors.at(
                    key,
                    "duplicate option `topic`: an event is published on one topic; remove one",
                );
                continue;
            }
            match topic::problem(&value.value(), false) {
                Some(problem) => errors.at(&value, format!("invalid event topic: {problem}")),
                None => topic = Some(value),
            }
        }
    }
    if topic.is_none() && errors.count() == before {
        errors.at(
            &input.ident,
            format!(
                "#[derive(Event)] needs the event's topic; hint: add `#[event(topic = \"{}\")]` below the derive",
                suggested_topic(&input.ident.unraw().to_string())
            ),
        );
    }
    topic
}

fn unknown_option(name: &str) -> String {
    let mut message = format!("unknown option `{name}` for #[event]; valid options: `topic`");
    if let Some(close) = crate::attrs::suggest(name, &KEYS) {
        message.push_str(&format!("; hint: did you mean `{close}`?"));
    }
    message
}

/// `UserCreated` → `user.created`: a topic to suggest for a type.
fn suggested_topic(type_name: &str) -> String {
    let mut out = String::new();
    for (i, c) in type_name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('.');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() || c == '-' {
            out.push(c);
        } else if c == '_' && i > 0 {
            out.push('.');
        }
    }
    let out = out.split('.').filter(|s| !s.is_empty()).collect::<Vec<_>>();
    if out.is_empty() {
        "my.event".into()
    } else {
        out.join(".")
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn errors(input: TokenStream) -> Vec<String> {
        try_expand(input)
            .expect_err("an error")
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn the_topic_becomes_the_constant() {
        let out = try_expand(quote! {
            #[event(topic = "user.created")]
            struct UserCreated { id: u64 }
        })
        .unwrap()
        .to_string();
        assert!(
            out.contains("const TOPIC : & 'static str = \"user.created\""),
            "{out}"
        );
    }

    #[test]
    fn a_missing_topic_suggests_one_from_the_type() {
        let m = errors(quote! { struct OrderLinePlaced; });
        assert_eq!(
            m,
            [
                "#[derive(Event)] needs the event's topic; hint: add `#[event(topic = \"order.line.placed\")]` below the derive"
            ]
        );
        assert_eq!(suggested_topic("user_created"), "user.created");
        assert_eq!(suggested_topic("_"), "my.event");
    }

    #[test]
    fn bad_topics_and_options_are_all_reported() {
        let m = errors(quote! {
            #[event(topic = "user.*", topci = "x")]
            #[event(topic = "user.created")]
            #[event(topic = 3)]
            #[event]
            struct E;
        });
        assert_eq!(m.len(), 4, "{m:?}");
        assert!(
            m[0].starts_with("invalid event topic: `user.*` contains `*`"),
            "{m:?}"
        );
        assert_eq!(
            m[1],
            "unknown option `topci` for #[event]; valid options: `topic`; hint: did you mean `topic`?"
        );
        assert!(m[2].starts_with("`topic` takes a string"), "{m:?}");
        assert!(
            m[3].starts_with("`#[event]` needs the event's topic"),
            "{m:?}"
        );
        let m = errors(quote! {
            #[event(topic = "a", topic = "b")]
            struct E;
        });
        assert!(m[0].starts_with("duplicate option `topic`"), "{m:?}");
        let m = errors(quote! {
            #[event(topic)]
            struct E;
        });
        assert!(m[0].starts_with("`topic` needs a value"), "{m:?}");
    }

    #[test]
    fn an_error_still_emits_the_impl() {
        let out = expand(quote! { struct E; }).to_string();
        assert!(
            out.contains("impl :: cortex_events :: Event for E"),
            "{out}"
        );
        assert!(out.contains("compile_error"), "{out}");
    }
}
