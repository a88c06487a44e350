//! `#[cortex::main]`: runs an `async fn main` on a multi-threaded tokio runtime, after reading the
//! configuration's `[log]` and installing Cortex's logging from it, and links the package's own library into the binary so that `discover()`
//! finds its components.

use proc_macro2::{Ident, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::ItemFn;
use syn::spanned::Spanned;

use crate::errors::Errors;
use crate::{crate_path, debug};

/// Expands `#[main] async fn main() { .. }` in a package whose library (if any) is `library`
/// ([`own_library_from_env`](crate::package::own_library_from_env)).
pub(crate) fn expand(attr: TokenStream, item: TokenStream, library: Option<&Ident>) -> TokenStream {
    match try_expand(attr, item.clone(), library) {
        Ok(tokens) => debug::show("main", tokens),
        Err(error) => {
            // Emit a `main` anyway so the only errors are ours ("`main` function not found" would
            // otherwise follow).
            let error = error.into_compile_error();
            quote!(#error fn main() {})
        }
    }
}

pub(crate) fn try_expand(
    attr: TokenStream,
    item: TokenStream,
    library: Option<&Ident>,
) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    if !attr.is_empty() {
        errors.at(attr, "#[cortex::main] takes no arguments; the runtime is configured by `cortex.toml` and CORTEX_* variables");
    }
    let f: ItemFn = syn::parse2(item)?;
    if f.sig.asyncness.is_none() {
        errors.at(
            f.sig.fn_token,
            "#[cortex::main] applies to an `async fn`; hint: write `async fn main()`",
        );
    }
    if !f.sig.inputs.is_empty() {
        errors.at(&f.sig.inputs, "#[cortex::main] functions take no arguments");
    }
    if !f.sig.generics.params.is_empty() {
        errors.at(
            &f.sig.generics,
            "#[cortex::main] functions cannot be generic",
        );
    }
    errors.finish()?;
    let core = crate_path::core_runtime();
    let attrs = &f.attrs;
    let vis = &f.vis;
    let ident = &f.sig.ident;
    let output = match &f.sig.output {
        syn::ReturnType::Default => quote!(()),
        syn::ReturnType::Type(_, ty) => quote!(#ty),
    };
    let body = &f.block;
    let span = f.sig.span();
    // The declared output types the body (so `?` infers), then `report` turns an error into one
    // `error: ...` line on stderr (Display, not Debug) and exit status 1.
    let run = quote_spanned! {span=>
        #core::__private::report(#core::__private::run_main::<#output, _>(async move #body))
    };
    // rustc links a dependency only when the crate names it, and `discover()` finds only what is
    // linked: naming the library here keeps its components from being dropped silently. Written
    // twice (the user's own `use my_app as _;`), an underscore import is still fine.
    let link = library.map(|library| quote!(use ::#library as _;));
    Ok(quote! {
        #link
        #(#attrs)*
        #vis fn #ident() -> ::std::process::ExitCode {
            #run
        }
    }
    .into_token_stream())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_an_async_fn_without_arguments() {
        let e = try_expand(
            TokenStream::new(),
            quote!(
                fn main(x: u8) {}
            ),
            None,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("applies to an `async fn`"), "{e}");
        let all: Vec<String> = try_expand(
            TokenStream::new(),
            quote!(
                fn main(x: u8) {}
            ),
            None,
        )
        .err()
        .unwrap()
        .into_iter()
        .map(|e| e.to_string())
        .collect();
        assert!(
            all.iter().any(|m| m.contains("take no arguments")),
            "{all:?}"
        );
    }

    #[test]
    fn takes_no_options() {
        let e = try_expand(
            quote!(flavor = "current_thread"),
            quote!(
                async fn main() {}
            ),
            None,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("takes no arguments"), "{e}");
    }
}
