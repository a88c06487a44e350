//! Collecting errors, so one expansion reports every problem it finds (serde's `Ctxt` habit).

use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

/// The errors found so far; combined into one [`syn::Error`] at the end.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
    count: usize,
}

impl Errors {
    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.count += error.clone().into_iter().count();
        match &mut self.combined {
            Some(all) => all.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Records an error spanning `tokens`.
    pub(crate) fn at(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at `span`.
    pub(crate) fn at_span(&mut self, span: proc_macro2::Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records the error of `result`, if any, and passes its value on.
    pub(crate) fn take<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error);
                None
            }
        }
    }

    /// How many errors were recorded.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.combined.is_none()
    }

    /// `Ok` when nothing was recorded, else every error at once.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.combined {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// What the item macros share: read the attribute and the item, collecting errors, and return
/// the item to emit (cleaned of helper attributes) and the code generated for it.
pub(crate) type Generate = fn(TokenStream, TokenStream, &mut Errors) -> (TokenStream, TokenStream);

/// Runs `generate`. On errors the item is still emitted next to them (thiserror's habit), so its
/// uses do not add spurious "cannot find" errors; `CORTEX_MACROS_DEBUG` prints the expansion.
pub(crate) fn expand_with(
    name: &str,
    generate: Generate,
    attr: TokenStream,
    item: TokenStream,
) -> TokenStream {
    let mut errors = Errors::default();
    let (item, generated) = generate(attr, item, &mut errors);
    match errors.finish() {
        Ok(()) => crate::debug::show(name, quote!(#item #generated)),
        Err(error) => {
            let error = error.into_compile_error();
            quote!(#item #error)
        }
    }
}

/// The same, as a `Result`, for tests.
#[cfg(test)]
pub(crate) fn try_expand_with(
    generate: Generate,
    attr: TokenStream,
    item: TokenStream,
) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let (item, generated) = generate(attr, item, &mut errors);
    errors.finish().map(|()| quote!(#item #generated))
}

#[cfg(test)]
mod tests {
    use proc_macro2::Span;

    use super::*;

    #[test]
    fn no_errors_is_ok() {
        assert!(Errors::default().finish().is_ok());
    }

    #[test]
    fn every_error_is_kept() {
        let mut errors = Errors::default();
        errors.at_span(Span::call_site(), "first");
        errors.at_span(Span::call_site(), "second");
        let messages: Vec<String> = errors
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(messages, ["first", "second"]);
    }
}
