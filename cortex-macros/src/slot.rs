//! One struct field or function argument the container fills: what it asks for, and the code that
//! fills it and declares its dependency.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, LitStr, Path, Type};

use crate::attrs::{Fill, InjectAttr};
use crate::errors::Errors;
use crate::types;

/// How a slot is filled.
pub(crate) enum Source {
    /// `Inject<T>` (`optional: false`) or `Option<Inject<T>>` (`optional: true`), from the unnamed
    /// binding of `T` or the one named `name`.
    Dependency {
        inner: Type,
        name: Option<LitStr>,
        optional: bool,
    },
    /// `#[inject(default)]`.
    Default,
    /// `#[inject(value = <expr>)]`.
    Value(Expr),
    /// `#[inject(config = "key")]`: deserialized from the bound `ConfigSource`.
    Config(LitStr),
}

/// A field or argument with its source.
pub(crate) struct Slot {
    /// The field or argument name, recorded on the dependency for messages.
    pub(crate) label: String,
    /// The declared type; generated code for the slot is spanned here, so type errors land on it.
    pub(crate) ty: Type,
    pub(crate) source: Source,
}

/// Works out how to fill a slot of type `ty`; `what` names it in messages ("field `repo`").
pub(crate) fn classify(
    label: String,
    what: &str,
    ty: &Type,
    attr: InjectAttr,
    errors: &mut Errors,
) -> Option<Slot> {
    if attr.broken {
        // The attribute's own errors say it all; guessing what it meant would add noise.
        return None;
    }
    let source = match attr.fill {
        Some(Fill::Default) => Source::Default,
        Some(Fill::Value(expr)) => Source::Value(expr),
        Some(Fill::Config(key)) => Source::Config(key),
        None => {
            if let Some(inner) = types::inject_inner(ty) {
                Source::Dependency {
                    inner: inner.clone(),
                    name: attr.name,
                    optional: false,
                }
            } else if let Some(inner) = types::option_inner(ty).and_then(types::inject_inner) {
                Source::Dependency {
                    inner: inner.clone(),
                    name: attr.name,
                    optional: true,
                }
            } else {
                errors.at(ty, not_injectable(what, ty, attr.name.is_some()));
                return None;
            }
        }
    };
    Some(Slot {
        label,
        ty: ty.clone(),
        source,
    })
}

fn not_injectable(what: &str, ty: &Type, named: bool) -> String {
    let shown = types::shown(ty);
    let fills = "or fill it with `#[inject(default)]`, `#[inject(value = <expr>)]` or `#[inject(config = \"some.key\")]`";
    let hint = if let Some(inner) = types::option_inner(ty) {
        let inner = types::shown(inner);
        format!(
            "for an optional dependency write `Option<Inject<{inner}>>` (None when nothing is bound), {fills}"
        )
    } else if let Some(inner) = types::single_arg(ty, "Arc") {
        let inner = types::shown(inner);
        format!(
            "`Inject<{inner}>` is the container's shared handle (an `Arc`): write `Inject<{inner}>`, {fills}"
        )
    } else if let Type::Reference(r) = types::unwrap(ty) {
        let inner = types::shown(&r.elem);
        format!(
            "references cannot be injected, the container hands out shared handles: write `Inject<{inner}>`, {fills}"
        )
    } else {
        format!(
            "write `Inject<{shown}>` for a dependency, or `Option<Inject<{shown}>>` for one that may be absent, {fills}"
        )
    };
    let named = if named {
        "; `#[inject(name = ...)]` selects a named binding and applies to `Inject<T>` and `Option<Inject<T>>` only"
    } else {
        ""
    };
    format!("{what} of type `{shown}` cannot be injected{named}; hint: {hint}")
}

/// The same local, reported at `span`.
fn located(ident: &Ident, span: proc_macro2::Span) -> Ident {
    let mut ident = ident.clone();
    ident.set_span(ident.span().located_at(span));
    ident
}

/// The expressions filling `slots` inside a synchronous factory, `r` being the `&Resolver`: each
/// dependency is found at its position among the provider's declared dependencies, which the
/// `.depends_on(..)` calls made from the same slots ([`Slot::depends_on`], in slot order) give.
pub(crate) fn sync_values(slots: &[Slot], r: &Ident) -> Vec<TokenStream> {
    let mut position = 0;
    slots
        .iter()
        .map(|slot| {
            let value = slot.sync_value(r, position);
            if slot.declares() {
                position += 1;
            }
            value
        })
        .collect()
}

impl Slot {
    /// Whether filling the slot reads the resolver.
    pub(crate) fn uses_resolver(&self) -> bool {
        matches!(self.source, Source::Dependency { .. } | Source::Config(_))
    }

    /// The expression filling the slot inside a synchronous factory, `r` being the `&Resolver`;
    /// `position` is where its dependency is among those the provider declares (see
    /// [`sync_values`]).
    pub(crate) fn sync_value(&self, r: &Ident, position: usize) -> TokenStream {
        let span = self.ty.span();
        let r = &located(r, span);
        let ty = &self.ty;
        match &self.source {
            Source::Dependency {
                inner,
                name,
                optional,
            } => match (name, optional) {
                // The resolver finds the dependency where it was declared, without a scan.
                (None, false) => {
                    let position = proc_macro2::Literal::usize_unsuffixed(position);
                    quote_spanned!(span=> #r.__get_declared::<#inner>(#position)?)
                }
                (Some(name), false) => quote_spanned!(span=> #r.get_named::<#inner>(#name)?),
                (None, true) => quote_spanned!(span=> #r.get_optional::<#inner>()?),
                (Some(name), true) => {
                    quote_spanned!(span=> #r.get_named_optional::<#inner>(#name)?)
                }
            },
            Source::Default => quote_spanned!(span=> ::core::default::Default::default()),
            Source::Value(expr) => quote!((#expr)),
            Source::Config(key) => quote_spanned!(span=> #r.config::<#ty>(#key)?),
        }
    }

    /// Whether the slot declares a dependency (see [`Slot::depends_on`]).
    fn declares(&self) -> bool {
        matches!(self.source, Source::Dependency { .. } | Source::Config(_))
    }

    /// The expression filling the slot inside an `async` factory, `r` being the `AsyncResolver`.
    pub(crate) fn async_value(&self, r: &Ident) -> TokenStream {
        let span = self.ty.span();
        let r = &located(r, span);
        let ty = &self.ty;
        match &self.source {
            Source::Dependency {
                inner,
                name,
                optional,
            } => match (name, optional) {
                (None, false) => quote_spanned!(span=> #r.resolve::<#inner>().await?),
                (Some(name), false) => {
                    quote_spanned!(span=> #r.resolve_named::<#inner>(#name).await?)
                }
                (None, true) => quote_spanned!(span=> #r.resolve_optional::<#inner>().await?),
                (Some(name), true) => {
                    quote_spanned!(span=> #r.resolve_named_optional::<#inner>(#name).await?)
                }
            },
            Source::Default => quote_spanned!(span=> ::core::default::Default::default()),
            Source::Value(expr) => quote!((#expr)),
            Source::Config(key) => quote_spanned!(span=> #r.config::<#ty>(#key).await?),
        }
    }

    /// For a dependency, a call of `check` (a `fn<T: ?Sized + Send + Sync + 'static>()`) on the
    /// dependency's type, spanned at the slot: a type the container cannot share is reported on
    /// the field rather than on the attribute.
    pub(crate) fn shareable_check(&self, check: &Ident) -> Option<TokenStream> {
        let Source::Dependency { inner, .. } = &self.source else {
            return None;
        };
        let check = located(check, self.ty.span());
        Some(quote_spanned!(self.ty.span()=> #check::<#inner>();))
    }

    /// `.depends_on(..)` declaring what the slot needs, so the graph is checked at startup.
    pub(crate) fn depends_on(&self, krate: &Path) -> Option<TokenStream> {
        let span = self.ty.span();
        let label = &self.label;
        match &self.source {
            Source::Dependency {
                inner,
                name,
                optional,
            } => {
                let named = name.as_ref().map(|n| quote!(.named(#n)));
                let optional = optional.then(|| quote!(.optional()));
                Some(quote_spanned! {span=>
                    .depends_on(#krate::Dependency::on::<#inner>() #named #optional .field(#label))
                })
            }
            // A missing config source is a graph error at startup, not a failure on first use.
            Source::Config(_) => Some(quote_spanned! {span=>
                .depends_on(#krate::Dependency::on::<dyn #krate::ConfigSource>().field(#label))
            }),
            Source::Default | Source::Value(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;
    use syn::parse_quote;

    use super::*;

    fn slot(ty: Type, attr: InjectAttr) -> Result<Slot, String> {
        let mut errors = Errors::default();
        let slot = classify("repo".into(), "field `repo`", &ty, attr, &mut errors);
        match errors.finish() {
            Ok(()) => Ok(slot.unwrap()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn compact(tokens: TokenStream) -> String {
        tokens.to_string().replace(' ', "")
    }

    #[test]
    fn inject_is_a_required_dependency() {
        let s = slot(parse_quote!(Inject<Repo>), InjectAttr::default()).unwrap();
        let r = Ident::new("r", Span::call_site());
        let krate: Path = parse_quote!(::cortex_di);
        assert_eq!(compact(s.sync_value(&r, 2)), "r.__get_declared::<Repo>(2)?");
        assert_eq!(compact(s.async_value(&r)), "r.resolve::<Repo>().await?");
        assert_eq!(
            compact(s.depends_on(&krate).unwrap()),
            ".depends_on(::cortex_di::Dependency::on::<Repo>().field(\"repo\"))"
        );
    }

    #[test]
    fn named_optional_trait_objects_are_understood() {
        let attr = InjectAttr {
            name: Some(parse_quote!("primary")),
            ..InjectAttr::default()
        };
        let s = slot(parse_quote!(Option<cortex::Inject<dyn Mailer>>), attr).unwrap();
        let r = Ident::new("r", Span::call_site());
        let krate: Path = parse_quote!(::cortex::di);
        assert_eq!(
            compact(s.sync_value(&r, 0)),
            "r.get_named_optional::<dynMailer>(\"primary\")?"
        );
        assert_eq!(
            compact(s.async_value(&r)),
            "r.resolve_named_optional::<dynMailer>(\"primary\").await?"
        );
        assert_eq!(
            compact(s.depends_on(&krate).unwrap()),
            ".depends_on(::cortex::di::Dependency::on::<dynMailer>().named(\"primary\").optional().field(\"repo\"))"
        );
    }

    #[test]
    fn config_reads_the_field_type_and_depends_on_the_source() {
        let attr = InjectAttr {
            fill: Some(Fill::Config(parse_quote!("server.port"))),
            ..InjectAttr::default()
        };
        let s = slot(parse_quote!(u16), attr).unwrap();
        let r = Ident::new("r", Span::call_site());
        let krate: Path = parse_quote!(::cortex_di);
        assert_eq!(
            compact(s.sync_value(&r, 0)),
            "r.config::<u16>(\"server.port\")?"
        );
        assert_eq!(
            compact(s.depends_on(&krate).unwrap()),
            ".depends_on(::cortex_di::Dependency::on::<dyn::cortex_di::ConfigSource>().field(\"repo\"))"
        );
        assert!(s.uses_resolver());
    }

    #[test]
    fn default_and_value_need_no_dependency() {
        let s = slot(
            parse_quote!(Vec<u8>),
            InjectAttr {
                fill: Some(Fill::Default),
                ..InjectAttr::default()
            },
        )
        .unwrap();
        assert!(s.depends_on(&parse_quote!(::cortex_di)).is_none());
        assert!(!s.uses_resolver());
        let s = slot(
            parse_quote!(u8),
            InjectAttr {
                fill: Some(Fill::Value(parse_quote!(1 + 2))),
                ..InjectAttr::default()
            },
        )
        .unwrap();
        assert_eq!(
            compact(s.sync_value(&Ident::new("r", Span::call_site()), 0)),
            "(1+2)"
        );
    }

    #[test]
    fn other_types_are_explained() {
        let m = slot(parse_quote!(Config), InjectAttr::default())
            .err()
            .unwrap();
        assert!(
            m.starts_with(
                "field `repo` of type `Config` cannot be injected; hint: write `Inject<Config>`"
            ),
            "{m}"
        );
        let m = slot(parse_quote!(Option<Config>), InjectAttr::default())
            .err()
            .unwrap();
        assert!(m.contains("write `Option<Inject<Config>>`"), "{m}");
        let m = slot(parse_quote!(std::sync::Arc<Config>), InjectAttr::default())
            .err()
            .unwrap();
        assert!(
            m.contains("`Inject<Config>` is the container's shared handle"),
            "{m}"
        );
        let m = slot(parse_quote!(&'static Config), InjectAttr::default())
            .err()
            .unwrap();
        assert!(m.contains("references cannot be injected"), "{m}");
        let m = slot(
            parse_quote!(u16),
            InjectAttr {
                name: Some(parse_quote!("x")),
                ..InjectAttr::default()
            },
        )
        .err()
        .unwrap();
        assert!(
            m.contains("selects a named binding and applies to `Inject<T>`"),
            "{m}"
        );
    }
}
