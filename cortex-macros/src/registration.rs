//! Code shared by both macros: the locals generated code uses, the provider's conditions and
//! origin, the lifecycle hook probe, and the link-time registration.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::Path;
use syn::ext::IdentExt;

use crate::attrs::Options;

/// Names of the locals in generated code. Mixed-site hygiene keeps user expressions
/// (`#[inject(value = builder)]`, `when = provider`) from seeing them; the `__cortex_` prefix keeps
/// a user's constant of the same name from turning a binding into a constant pattern.
pub(crate) struct Locals {
    /// The `&Resolver` / `AsyncResolver` a factory receives.
    pub(crate) resolver: Ident,
    /// `Injectable::register`'s `&mut ContainerBuilder`.
    pub(crate) builder: Ident,
    /// The provider being built.
    pub(crate) provider: Ident,
}

impl Locals {
    pub(crate) fn new() -> Self {
        Locals {
            resolver: local("resolver", Span::call_site()),
            builder: local("builder", Span::call_site()),
            provider: local("provider", Span::call_site()),
        }
    }
}

/// Calls [`Slot::shareable_check`](crate::slot::Slot::shareable_check) for every slot, after
/// defining the function it calls.
pub(crate) fn shareable_checks(slots: &[crate::slot::Slot]) -> TokenStream {
    // Shown in "required by a bound in `must_be_send_sync_and_static`"; an item, so no prefix.
    let check = Ident::new("must_be_send_sync_and_static", Span::mixed_site());
    let calls: Vec<TokenStream> = slots
        .iter()
        .filter_map(|s| s.shareable_check(&check))
        .collect();
    if calls.is_empty() {
        return TokenStream::new();
    }
    quote! {
        fn #check<T: ?::core::marker::Sized + ::core::marker::Send + ::core::marker::Sync + 'static>() {}
        #(#calls)*
    }
}

/// A hygienic local named `__cortex_{name}`, reported at `location` in messages.
pub(crate) fn local(name: &str, location: Span) -> Ident {
    Ident::new(
        &format!("__cortex_{name}"),
        Span::mixed_site().located_at(location),
    )
}

/// `tokens` reported at `span` (their name resolution unchanged), so an error about the whole
/// expression lands there rather than on the attribute.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(group.span().located_at(span));
                token = TokenTree::Group(inner);
            } else {
                token.set_span(token.span().located_at(span));
            }
            token
        })
        .collect()
}

/// `(tokens)`, with the parentheses reported at `span` and the contents left as they are.
pub(crate) fn parenthesized(tokens: TokenStream, span: Span) -> TokenStream {
    let mut group = Group::new(Delimiter::Parenthesis, tokens);
    group.set_span(group.span().located_at(span));
    TokenTree::Group(group).into()
}

/// `tokens` reported at `span`, except inside groups (only their delimiters move).
pub(crate) fn respan_shallow(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut moved = Group::new(group.delimiter(), group.stream());
                moved.set_span(group.span().located_at(span));
                token = TokenTree::Group(moved);
            } else {
                token.set_span(token.span().located_at(span));
            }
            token
        })
        .collect()
}

/// `.profile(..)` for each profile and `.when(..)`.
pub(crate) fn conditions(options: &Options) -> TokenStream {
    let profiles = &options.profiles;
    let when = options.when.as_ref().map(|when| quote!(.when(#when)));
    quote!(#(.profile(#profiles))* #when)
}

/// `.at(..)` and `.declared_by(..)`: the annotated item's position and path. `line!()` is spanned
/// at the item's name, so it reports the line of the name rather than of the attribute.
pub(crate) fn origin(krate: &Path, ident: &Ident) -> TokenStream {
    let name = ident.unraw().to_string();
    let at = quote_spanned!(ident.span()=> ::core::file!(), ::core::line!());
    quote! {
        .at(#krate::Location::new(#at))
        .declared_by(::core::concat!(::core::module_path!(), "::", #name))
    }
}

/// Hooks up `OnStart`, `OnReady`, `OnShutdown` and `OnScopeEnd` for each of them that `ty` implements, by
/// autoref specialization (see `cortex_di::__private::HookProbe`).
pub(crate) fn attach_lifecycle(
    krate: &Path,
    provider: &Ident,
    ty: &impl quote::ToTokens,
) -> TokenStream {
    let probe = local("hooks", Span::call_site());
    quote! {
        let #provider = {
            #[allow(unused_imports)]
            use #krate::__private::{
                AttachReady as _, AttachScopeEnd as _, AttachShutdown as _, AttachStart as _,
                SkipReady as _, SkipScopeEnd as _, SkipShutdown as _, SkipStart as _,
            };
            let #probe = &&#krate::__private::HookProbe::<#ty>::new();
            let #provider = #probe.attach_start(#provider);
            let #provider = #probe.attach_ready(#provider);
            let #provider = #probe.attach_shutdown(#provider);
            #probe.attach_scope_end(#provider)
        };
    }
}

/// Registers `ty` as a health check when it implements `cortex_core::health::HealthCheck`, by
/// autoref specialization (see `cortex_core::health::__private::HealthProbe`), with the provider's
/// conditions and origin; nothing when the crate does not link `cortex-core` (`core` is `None`).
pub(crate) fn attach_health_check(
    core: Option<Path>,
    builder: &Ident,
    ty: &impl quote::ToTokens,
    decorations: &TokenStream,
) -> TokenStream {
    let Some(core) = core else {
        return TokenStream::new();
    };
    let check = local("check", Span::call_site());
    quote! {
        {
            #[allow(unused_imports)]
            use #core::health::__private::{RegisterHealthCheck as _, SkipHealthCheck as _};
            (&&#core::health::__private::HealthProbe::<#ty>::new())
                .register_health_check(#builder, |#check| #check #decorations);
        }
    }
}

/// Submits `<#ty as Injectable>::register` to the link-time registry that `discover()` reads.
pub(crate) fn submit(krate: &Path, ty: &Ident) -> TokenStream {
    let name = ty.unraw().to_string();
    quote! {
        #krate::__private::inventory::submit! {
            #krate::Registration::new(
                ::core::concat!(::core::module_path!(), "::", #name),
                <#ty as #krate::Injectable>::register,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    #[test]
    fn origin_names_the_item() {
        let krate: Path = parse_quote!(::cortex_di);
        let out = origin(&krate, &Ident::new_raw("Service", Span::call_site()))
            .to_string()
            .replace(' ', "");
        assert_eq!(
            out,
            ".at(::cortex_di::Location::new(::core::file!(),::core::line!())).declared_by(::core::concat!(::core::module_path!(),\"::\",\"Service\"))"
        );
    }

    #[test]
    fn a_health_check_is_probed_only_where_the_core_is_linked() {
        let builder = Ident::new("b", Span::call_site());
        let ty = Ident::new("Disk", Span::call_site());
        let decorations = quote!(.profile("dev"));
        assert!(attach_health_check(None, &builder, &ty, &decorations).is_empty());
        let probe = attach_health_check(
            Some(parse_quote!(::cortex_core)),
            &builder,
            &ty,
            &decorations,
        )
        .to_string()
        .replace(' ', "");
        assert_eq!(
            probe,
            "{#[allow(unused_imports)]use::cortex_core::health::__private::{RegisterHealthCheckas_,SkipHealthCheckas_};(&&::cortex_core::health::__private::HealthProbe::<Disk>::new()).register_health_check(b,|__cortex_check|__cortex_check.profile(\"dev\"));}"
        );
    }

    #[test]
    fn conditions_list_every_profile() {
        let options = Options {
            profiles: vec![parse_quote!("dev"), parse_quote!("!prod")],
            when: Some(parse_quote!(flags::enabled)),
            ..Options::default()
        };
        assert_eq!(
            conditions(&options).to_string().replace(' ', ""),
            ".profile(\"dev\").profile(\"!prod\").when(flags::enabled)"
        );
    }
}
