//! The route table's paths checked the way axum will insert them, before it does: axum panics at
//! startup on a path it cannot route (two paths a request could match, a malformed parameter),
//! one problem at a time; the app reports every one as a [`RouteError`] instead.
//!
//! The check inserts every path into a `matchit::Router`, the router axum uses, pinned to the
//! version axum pins: its rules are axum's by construction, not a copy of them. What axum itself
//! adds (its `Paths must start with a /` and 0.7-syntax checks, the paths `nest_service` mounts a
//! static directory at) is mirrored here.
//!
//! Routers merged with `App::router` are not checked: axum does not list their paths.

use std::collections::HashMap;

use super::{FrameworkOrigin, FrameworkRoute, RouteError, RouteInfo};

/// The tail parameter of axum's `nest_service` (how static directories are mounted).
const NEST_TAIL: &str = "{*__private__axum_nest_tail_param}";

/// Who registered a path.
#[derive(Clone, Copy)]
enum Owner {
    /// `framework[i]`.
    Framework(usize),
    /// The first route of the table at this path.
    App(usize),
}

/// Every problem with the paths of `routes` (the table in registration order, duplicates
/// removed) and the framework routes: malformed paths, overlaps between two routes, and routes
/// on or overlapping a framework route. A path equal to one of `openapi_paths` is reported as
/// [`RouteError::ConflictingPath`], as before this check existed.
pub(crate) fn check_paths(
    routes: &[RouteInfo],
    framework: &[FrameworkRoute],
    openapi_paths: &[(&str, &'static str)],
) -> Vec<RouteError> {
    let mut problems = Vec::new();
    let mut router = matchit::Router::new();
    // Each path inserted, with who inserted it, in insertion order.
    let mut inserted: Vec<(String, Owner)> = Vec::new();
    let mut by_path: HashMap<String, Owner> = HashMap::new();

    for (i, route) in framework.iter().enumerate() {
        for path in registered_paths(route) {
            // Two framework routes on one path are configuration errors reported elsewhere
            // (`[openapi]`, `[[http.static]]` validation); skip rather than report twice.
            if router.insert(path.clone(), ()).is_ok() {
                by_path.insert(path.clone(), Owner::Framework(i));
                inserted.push((path, Owner::Framework(i)));
            }
        }
    }

    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, route) in routes.iter().enumerate() {
        if seen.insert(route.path.as_str(), i).is_some() {
            // Another method on a path already checked: axum merges them.
            continue;
        }
        let path = route.path.as_str();
        if let Some((reason, hint)) = axum_rejects(path) {
            problems.push(RouteError::InvalidPath {
                path: path.to_string(),
                handler: route.handler.clone(),
                reason,
                hint,
            });
            continue;
        }
        if let Some((_, framework)) = openapi_paths.iter().find(|(p, _)| *p == path) {
            problems.push(RouteError::ConflictingPath {
                path: path.to_string(),
                handler: route.handler.clone(),
                framework,
            });
            continue;
        }
        match router.insert(path, ()) {
            Ok(()) => {
                by_path.insert(path.to_string(), Owner::App(i));
                inserted.push((path.to_string(), Owner::App(i)));
            }
            Err(matchit::InsertError::Conflict { with }) => {
                let owner = by_path
                    .get(&with)
                    .map(|owner| (with.clone(), *owner))
                    .or_else(|| conflicting(path, &inserted));
                problems.push(match owner {
                    Some((_, Owner::Framework(f))) => {
                        let framework = &framework[f];
                        RouteError::Reserved {
                            path: path.to_string(),
                            handler: route.handler.clone(),
                            framework_path: framework.path.clone(),
                            framework_handler: framework.handler.clone(),
                            origin: framework.origin,
                        }
                    }
                    Some((other, Owner::App(o))) => RouteError::Overlap {
                        path: path.to_string(),
                        handler: route.handler.clone(),
                        hint: overlap_hint(path, &other),
                        other_path: other,
                        other_handler: routes[o].handler.clone(),
                    },
                    // matchit named a route that is not one inserted as such (it rebuilds the
                    // name from its tree); no pair of paths conflicts on its own.
                    None => RouteError::Overlap {
                        path: path.to_string(),
                        handler: route.handler.clone(),
                        hint: overlap_hint(path, &with),
                        other_path: with,
                        other_handler: "(several routes)".to_string(),
                    },
                });
            }
            Err(error) => {
                let (reason, hint) = invalid(&error);
                problems.push(RouteError::InvalidPath {
                    path: path.to_string(),
                    handler: route.handler.clone(),
                    reason,
                    hint,
                });
            }
        }
    }
    problems
}

/// The paths axum registers for a framework route.
fn registered_paths(route: &FrameworkRoute) -> Vec<String> {
    if route.origin != FrameworkOrigin::Static {
        return vec![route.path.clone()];
    }
    match route.path.strip_suffix("/{*path}") {
        // A directory at `/` is the router's fallback: no path of its own.
        Some("") | None => Vec::new(),
        // What `Router::nest_service` inserts (the mount path has no trailing `/`).
        Some(prefix) => vec![
            format!("{prefix}/{NEST_TAIL}"),
            prefix.to_string(),
            format!("{prefix}/"),
        ],
    }
}

/// The first path inserted so far that `path` conflicts with on its own.
fn conflicting(path: &str, inserted: &[(String, Owner)]) -> Option<(String, Owner)> {
    inserted
        .iter()
        .find(|(other, _)| {
            let mut pair = matchit::Router::new();
            pair.insert(other.as_str(), ()).is_ok()
                && matches!(
                    pair.insert(path, ()),
                    Err(matchit::InsertError::Conflict { .. })
                )
        })
        .cloned()
}

/// What axum checks before matchit does (`Router::route` panics on it).
fn axum_rejects(path: &str) -> Option<(&'static str, &'static str)> {
    if path.is_empty() {
        return Some(("the path is empty", "use \"/\" for the root"));
    }
    if !path.starts_with('/') {
        return Some(("the path does not start with `/`", "write it as \"/...\""));
    }
    for segment in path.split('/') {
        if segment.starts_with(':') {
            return Some((
                "a segment starts with `:`, axum 0.7's parameter syntax",
                "write a parameter as `{id}`",
            ));
        }
        if segment.starts_with('*') {
            return Some((
                "a segment starts with `*`, axum 0.7's wildcard syntax",
                "write a catch-all as `{*rest}`",
            ));
        }
    }
    None
}

/// Why matchit refuses a path, and how to write it.
fn invalid(error: &matchit::InsertError) -> (&'static str, &'static str) {
    match error {
        matchit::InsertError::InvalidParamSegment => (
            "a segment has two parameters, or text after a parameter",
            "one parameter per segment, with any fixed text before it: `/files/{name}`, `/v{version}`",
        ),
        matchit::InsertError::InvalidParam => (
            "a parameter has no name, or its braces do not match",
            "name every parameter (`{id}`, `{*rest}`); write a literal brace as `{{` or `}}`",
        ),
        matchit::InsertError::InvalidCatchAll => (
            "a catch-all parameter is not at the end of the path",
            "put `{*rest}` last",
        ),
        _ => (
            "axum's router refuses it",
            "see the path syntax in axum's `Router::route` documentation",
        ),
    }
}

/// The fix for two overlapping paths.
fn overlap_hint(path: &str, other: &str) -> &'static str {
    let (a, b) = (shape(path), shape(other));
    if a == b {
        "they are one path with different parameter names: name the parameters alike, so that both handlers share the path (with different methods)"
    } else if a.contains("{*}") || b.contains("{*}") {
        "a catch-all `{*rest}` cannot sit where the other path has a parameter: give one of them a static segment of its own"
    } else {
        "tell them apart by a static segment"
    }
}

/// `path` with each parameter's name removed: `/a/{id}/{*rest}` → `/a/{}/{*}`.
fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push_str("{{");
            }
            '{' => {
                let catch_all = chars.peek() == Some(&'*');
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
                out.push_str(if catch_all { "{*}" } else { "{}" });
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(method: &str, path: &str, handler: &str) -> RouteInfo {
        RouteInfo::new(method, path, handler)
    }

    #[test]
    fn the_fallback_finds_the_one_inserted_path_a_path_conflicts_with() {
        let inserted = vec![
            ("/a".to_string(), Owner::App(0)),
            ("/x/{id}".to_string(), Owner::App(1)),
        ];
        let found = conflicting("/x/{name}", &inserted).map(|(path, _)| path);
        assert_eq!(found.as_deref(), Some("/x/{id}"));
        assert!(conflicting("/y/{name}", &inserted).is_none());
    }

    #[test]
    fn each_path_matchit_refuses_gets_its_own_reason_and_fix() {
        for (path, reason, hint) in [
            (
                "/z/{id}.json",
                "text after a parameter",
                "one parameter per segment",
            ),
            ("/a/{}", "has no name", "name every parameter"),
            (
                "/a/{*rest}/b",
                "catch-all parameter is not at the end",
                "put `{*rest}` last",
            ),
        ] {
            let error = matchit::Router::new().insert(path, ()).unwrap_err();
            let (why, fix) = invalid(&error);
            assert!(why.contains(reason), "{path}: {why}");
            assert!(fix.contains(hint), "{path}: {fix}");
        }
    }

    #[test]
    fn shapes_drop_parameter_names() {
        assert_eq!(shape("/a/{id}/{*rest}"), "/a/{}/{*}");
        assert_eq!(shape("/a/{{x}}"), "/a/{{x}}");
    }

    #[test]
    fn every_path_axum_would_panic_on_is_reported_and_none_it_accepts() {
        let routes = [
            info("GET", "/x/{id}", "A::show"),
            info("POST", "/x/{id}", "A::update"),
            info("GET", "/x/{name}", "B::show"),
            info("GET", "/x/{id}/a", "A::a"),
            info("GET", "/x/{name}/b", "B::b"),
            info("GET", "/x/static", "A::fixed"),
            info("GET", "/y/{*rest}", "Y::all"),
            info("GET", "/y/{id}", "Y::one"),
            info("GET", "/z/{id}.json", "Z::json"),
            info("GET", "/old/:id", "Old::show"),
            info("GET", "/assets/logo", "Assets::logo"),
            info("GET", "/assets", "Assets::index"),
            info("POST", "/health/live", "Probe::live"),
        ];
        let framework = [
            FrameworkRoute::get("/health/live", "liveness", FrameworkOrigin::Health),
            FrameworkRoute::get(
                "/assets/{*path}",
                "files of public",
                FrameworkOrigin::Static,
            ),
            FrameworkRoute::get("/{*path}", "files of site", FrameworkOrigin::Static),
        ];
        let problems = check_paths(&routes, &framework, &[]);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 6, "{text:#?}");
        assert!(
            matches!(&problems[0], RouteError::Overlap { path, other_path, other_handler, .. }
            if path == "/x/{name}" && other_path == "/x/{id}" && other_handler == "A::show")
        );
        assert!(text[0].contains("name the parameters alike"), "{}", text[0]);
        assert!(
            matches!(&problems[1], RouteError::Overlap { path, other_path, .. }
            if path == "/y/{id}" && other_path == "/y/{*rest}")
        );
        assert!(text[1].contains("catch-all"), "{}", text[1]);
        assert!(
            matches!(&problems[2], RouteError::InvalidPath { path, .. } if path == "/z/{id}.json")
        );
        assert!(matches!(&problems[3], RouteError::InvalidPath { path, .. } if path == "/old/:id"));
        assert!(
            matches!(&problems[4], RouteError::Reserved { path, framework_path, origin: FrameworkOrigin::Static, .. }
            if path == "/assets" && framework_path == "/assets/{*path}")
        );
        assert!(
            matches!(&problems[5], RouteError::Reserved { path, origin: FrameworkOrigin::Health, .. }
            if path == "/health/live")
        );

        // What the check let through, axum accepts (it would panic otherwise).
        let mut router: axum::Router = axum::Router::new();
        let mut seen = std::collections::HashSet::new();
        for route in routes.iter().filter(|r| {
            !problems.iter().any(|p| match p {
                RouteError::Overlap { path, .. }
                | RouteError::InvalidPath { path, .. }
                | RouteError::Reserved { path, .. } => *path == r.path,
                _ => false,
            })
        }) {
            if seen.insert(route.path.clone()) {
                router = router.route(&route.path, axum::routing::get(|| async { "" }));
            }
        }
        let _ = router
            .route("/health/live", axum::routing::get(|| async { "" }))
            .nest_service(
                "/assets",
                tower::service_fn(|_| async {
                    Ok::<_, std::convert::Infallible>(axum::response::Response::new(
                        axum::body::Body::empty(),
                    ))
                }),
            );
    }
}
