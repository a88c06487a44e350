//! Recognising the types the macros give meaning to, by their last path segment, so that
//! `Inject<T>`, `cortex::Inject<T>` and `cortex_di::Inject<T>` all count.

use quote::ToTokens;
use syn::{GenericArgument, PathArguments, Type};

/// `ty` without the invisible groups and parentheses that macros and users wrap types in.
pub(crate) fn unwrap(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => unwrap(&g.elem),
        Type::Paren(p) => unwrap(&p.elem),
        other => other,
    }
}

/// The type arguments of `ty` when its last path segment is `name` (`Name<A, B>` gives `[A, B]`);
/// lifetimes and other generic arguments are skipped. `None` when `ty` is not such a path.
pub(crate) fn args_of<'a>(ty: &'a Type, name: &str) -> Option<Vec<&'a Type>> {
    let Type::Path(path) = unwrap(ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(args) => Some(
            args.args
                .iter()
                .filter_map(|arg| match arg {
                    GenericArgument::Type(ty) => Some(ty),
                    _ => None,
                })
                .collect(),
        ),
        PathArguments::None => Some(Vec::new()),
        PathArguments::Parenthesized(_) => None,
    }
}

/// The `T` of `Name<T>` (exactly one type argument).
pub(crate) fn single_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    match args_of(ty, name)?.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// The `T` of `Inject<T>`.
pub(crate) fn inject_inner(ty: &Type) -> Option<&Type> {
    single_arg(ty, "Inject")
}

/// The `T` of `Option<T>`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    single_arg(ty, "Option")
}

/// The extractors that read the request body, by their last path segment: axum's and Cortex's
/// `Json`, `Form`, `RawForm`, `Multipart`, `Bytes`, `String`, `Body` and `Request`.
pub(crate) const BODY_EXTRACTORS: [&str; 8] = [
    "Json",
    "Form",
    "RawForm",
    "Multipart",
    "Bytes",
    "String",
    "Body",
    "Request",
];

/// Whether `ty` is a known extractor of the request body: one of [`BODY_EXTRACTORS`], or one
/// wrapped in `Valid<..>`, `Option<..>` or `Result<.., _>` (`Valid<Json<T>>`). Other types may
/// read the body too; they are left to rustc's error.
pub(crate) fn is_body_extractor(ty: &Type) -> bool {
    let Type::Path(path) = unwrap(ty) else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if path.qself.is_some() {
        return false;
    }
    let name = last.ident.to_string();
    if BODY_EXTRACTORS.contains(&name.as_str()) {
        return true;
    }
    match name.as_str() {
        "Valid" | "Option" | "Result" => args_of(ty, &name)
            .and_then(|args| args.first().copied())
            .is_some_and(is_body_extractor),
        _ => false,
    }
}

/// Whether `ty` is a trait object (`dyn Trait`, `dyn Trait + Send`).
pub(crate) fn is_trait_object(ty: &Type) -> bool {
    matches!(unwrap(ty), Type::TraitObject(_))
}

/// A type as a person would write it, for messages: `Vec<Option<u8>>`, not `Vec < Option < u8 > >`.
pub(crate) fn shown(tokens: impl ToTokens) -> String {
    let raw = tokens.to_token_stream().to_string();
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    let mut prev = '\0';
    while let Some(c) = chars.next() {
        if c == ' ' {
            let next = chars.peek().copied().unwrap_or(' ');
            // Keep the spaces between words (`dyn Trait`), around `+` and `->`, and after `,`/`;`.
            let glue_after = matches!(prev, '<' | '&' | ':' | '(' | '[' | '!');
            let glue_before = matches!(next, '<' | '>' | ',' | ':' | ')' | ']' | ';');
            let call = next == '(' && (prev.is_alphanumeric() || prev == '_');
            if glue_after || glue_before || call {
                continue;
            }
        }
        out.push(c);
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    #[test]
    fn inject_is_recognised_by_its_last_segment() {
        for ty in [
            parse_quote!(Inject<Repo>),
            parse_quote!(cortex::Inject<Repo>),
            parse_quote!(::cortex_di::Inject<Repo>),
        ] {
            let ty: Type = ty;
            let inner = inject_inner(&ty).expect("an Inject type");
            assert_eq!(shown(inner), "Repo");
        }
        let not: Type = parse_quote!(Injected<Repo>);
        assert!(inject_inner(&not).is_none());
        let qualified: Type = parse_quote!(<X as Y>::Inject<Repo>);
        assert!(inject_inner(&qualified).is_none());
    }

    #[test]
    fn option_of_inject_is_recognised() {
        let ty: Type = parse_quote!(std::option::Option<cortex_di::Inject<dyn Mailer>>);
        let inner = option_inner(&ty)
            .and_then(inject_inner)
            .expect("optional dependency");
        assert!(is_trait_object(inner));
    }

    #[test]
    fn body_extractors_are_recognised_by_their_last_segment_and_through_wrappers() {
        let body: [Type; 7] = [
            parse_quote!(Json<NewUser>),
            parse_quote!(axum::extract::Form<Login>),
            parse_quote!(String),
            parse_quote!(bytes::Bytes),
            parse_quote!(Valid<Json<NewUser>>),
            parse_quote!(Option<Json<Patch>>),
            parse_quote!(Result<Json<NewUser>, JsonRejection>),
        ];
        for ty in &body {
            assert!(is_body_extractor(ty), "{}", shown(ty));
        }
        let head: [Type; 5] = [
            parse_quote!(Path<String>),
            parse_quote!(Query<Filter>),
            parse_quote!(Inject<Repo>),
            parse_quote!(Valid<Query<Filter>>),
            parse_quote!(Option<HeaderMap>),
        ];
        for ty in &head {
            assert!(!is_body_extractor(ty), "{}", shown(ty));
        }
    }

    #[test]
    fn args_skip_lifetimes() {
        let ty: Type = parse_quote!(Result<'a, T, E>);
        assert_eq!(args_of(&ty, "Result").unwrap().len(), 2);
        let bare: Type = parse_quote!(io::Result);
        assert_eq!(args_of(&bare, "Result").unwrap().len(), 0);
    }

    #[test]
    fn types_are_shown_without_token_spacing() {
        let ty: Type = parse_quote!(std::collections::HashMap<String, Vec<Option<u8>>>);
        assert_eq!(
            shown(&ty),
            "std::collections::HashMap<String, Vec<Option<u8>>>"
        );
        let ty: Type = parse_quote!(Option<Box<dyn Trait + Send + 'static>>);
        assert_eq!(shown(&ty), "Option<Box<dyn Trait + Send + 'static>>");
        let ty: Type = parse_quote!(&'static str);
        assert_eq!(shown(&ty), "&'static str");
        let ty: Type = parse_quote!([u8; 4]);
        assert_eq!(shown(&ty), "[u8; 4]");
        let ty: Type = parse_quote!(Box<dyn Fn(u8, u16) -> String>);
        assert_eq!(shown(&ty), "Box<dyn Fn(u8, u16) -> String>");
    }
}
