//! Where the generated code finds the runtime: `::cortex::di` for apps on the facade,
//! `::cortex_di` for crates that use the container alone; the event bus at `::cortex::events` or
//! `::cortex_events`.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::Span;
use syn::{Ident, Path, parse_quote};

/// The path to `cortex-di` as the crate being compiled can name it.
pub(crate) fn runtime() -> Path {
    choose(crate_name("cortex").ok(), crate_name("cortex-di").ok())
}

/// The path to `cortex-core` (controllers, routes, guards) as the crate being compiled can name
/// it: `::cortex::__private::cortex_core` on the facade, `::cortex_core` otherwise.
pub(crate) fn core_runtime() -> Path {
    choose_core(crate_name("cortex").ok(), crate_name("cortex-core").ok())
}

/// The path to `cortex-core` when the crate being compiled depends on it (directly or through the
/// facade); `None` for a crate that uses the container alone.
pub(crate) fn core_runtime_if_linked() -> Option<Path> {
    let cortex = crate_name("cortex").ok();
    let cortex_core = crate_name("cortex-core").ok();
    if cortex.is_none() && cortex_core.is_none() {
        return None;
    }
    Some(choose_core(cortex, cortex_core))
}

/// The path to `cortex-events` (`#[derive(Event)]`, `#[event_handler]`) as the crate being
/// compiled can name it: `::cortex::events` on the facade, `::cortex_events` otherwise.
pub(crate) fn events_runtime() -> Path {
    choose_events(crate_name("cortex").ok(), crate_name("cortex-events").ok())
}

/// Picks the path to `cortex-events`; `cortex-events` names itself `cortex_events` too
/// (`extern crate self as cortex_events;`).
pub(crate) fn choose_events(cortex: Option<FoundCrate>, events: Option<FoundCrate>) -> Path {
    if let Some(FoundCrate::Name(name)) = cortex {
        let name = Ident::new(&name, Span::call_site());
        return parse_quote!(::#name::events);
    }
    match events {
        Some(FoundCrate::Name(name)) => {
            let name = Ident::new(&name, Span::call_site());
            parse_quote!(::#name)
        }
        Some(FoundCrate::Itself) | None => parse_quote!(::cortex_events),
    }
}

/// Picks the path to `cortex-core`; `cortex-core` names itself `cortex_core` too.
pub(crate) fn choose_core(cortex: Option<FoundCrate>, cortex_core: Option<FoundCrate>) -> Path {
    if let Some(FoundCrate::Name(name)) = cortex {
        let name = Ident::new(&name, Span::call_site());
        return parse_quote!(::#name::__private::cortex_core);
    }
    match cortex_core {
        Some(FoundCrate::Name(name)) => {
            let name = Ident::new(&name, Span::call_site());
            parse_quote!(::#name)
        }
        Some(FoundCrate::Itself) | None => parse_quote!(::cortex_core),
    }
}

/// Picks the path from what the manifest says about `cortex` and `cortex-di`.
///
/// The facade wins when it is a dependency (under whatever name it was renamed to); inside the
/// facade itself (`Itself`), its own dependency on `cortex-di` is used. `cortex-di` names itself
/// `cortex_di` (`extern crate self as cortex_di;`), so `Itself` needs no special case there.
pub(crate) fn choose(cortex: Option<FoundCrate>, cortex_di: Option<FoundCrate>) -> Path {
    if let Some(FoundCrate::Name(name)) = cortex {
        let name = Ident::new(&name, Span::call_site());
        return parse_quote!(::#name::di);
    }
    match cortex_di {
        Some(FoundCrate::Name(name)) => {
            let name = Ident::new(&name, Span::call_site());
            parse_quote!(::#name)
        }
        Some(FoundCrate::Itself) | None => parse_quote!(::cortex_di),
    }
}

#[cfg(test)]
mod tests {
    use quote::ToTokens;

    use super::*;

    fn shown(path: Path) -> String {
        path.to_token_stream().to_string().replace(' ', "")
    }

    #[test]
    fn controllers_find_the_core_through_the_facade_or_directly() {
        let facade = choose_core(Some(FoundCrate::Name("cortex".into())), None);
        assert_eq!(shown(facade), "::cortex::__private::cortex_core");
        let direct = choose_core(None, Some(FoundCrate::Name("cortex_core".into())));
        assert_eq!(shown(direct), "::cortex_core");
        assert_eq!(
            shown(choose_core(None, Some(FoundCrate::Itself))),
            "::cortex_core"
        );
    }

    #[test]
    fn events_are_found_through_the_facade_or_directly() {
        let facade = choose_events(
            Some(FoundCrate::Name("cortex".into())),
            Some(FoundCrate::Name("cortex_events".into())),
        );
        assert_eq!(shown(facade), "::cortex::events");
        let direct = choose_events(None, Some(FoundCrate::Name("bus".into())));
        assert_eq!(shown(direct), "::bus");
        let inside_the_facade = choose_events(
            Some(FoundCrate::Itself),
            Some(FoundCrate::Name("cortex_events".into())),
        );
        assert_eq!(shown(inside_the_facade), "::cortex_events");
        assert_eq!(
            shown(choose_events(None, Some(FoundCrate::Itself))),
            "::cortex_events"
        );
        assert_eq!(shown(choose_events(None, None)), "::cortex_events");
    }

    #[test]
    fn the_facade_wins() {
        let path = choose(
            Some(FoundCrate::Name("cortex".into())),
            Some(FoundCrate::Name("cortex_di".into())),
        );
        assert_eq!(shown(path), "::cortex::di");
    }

    #[test]
    fn a_renamed_facade_keeps_its_new_name() {
        assert_eq!(
            shown(choose(Some(FoundCrate::Name("cx".into())), None)),
            "::cx::di"
        );
    }

    #[test]
    fn the_container_alone_is_named_directly() {
        assert_eq!(
            shown(choose(None, Some(FoundCrate::Name("cortex_di".into())))),
            "::cortex_di"
        );
        assert_eq!(
            shown(choose(None, Some(FoundCrate::Name("di".into())))),
            "::di"
        );
    }

    #[test]
    fn inside_the_facade_its_dependency_on_the_container_is_used() {
        let path = choose(
            Some(FoundCrate::Itself),
            Some(FoundCrate::Name("cortex_di".into())),
        );
        assert_eq!(shown(path), "::cortex_di");
    }

    #[test]
    fn the_container_itself_and_unknown_manifests_fall_back_to_cortex_di() {
        assert_eq!(shown(choose(None, Some(FoundCrate::Itself))), "::cortex_di");
        assert_eq!(shown(choose(None, None)), "::cortex_di");
    }
}
