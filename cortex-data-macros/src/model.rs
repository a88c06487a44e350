//! `#[derive(Model)]`: owned by the models and repositories work (issue 19).

use proc_macro2::{Span, TokenStream};

pub(crate) fn expand(_input: TokenStream) -> syn::Result<TokenStream> {
    Err(syn::Error::new(
        Span::call_site(),
        "#[derive(Model)] is being written",
    ))
}
