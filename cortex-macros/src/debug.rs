//! `CORTEX_MACROS_DEBUG=1 cargo build` prints every expansion to stderr, for debugging.

use proc_macro2::TokenStream;

/// Prints `tokens` when `CORTEX_MACROS_DEBUG` is set, and passes them on.
pub(crate) fn show(macro_name: &str, tokens: TokenStream) -> TokenStream {
    if std::env::var_os("CORTEX_MACROS_DEBUG").is_some_and(|v| !v.is_empty() && v != "0") {
        eprintln!("#[{macro_name}] expands to:\n{tokens}\n");
    }
    tokens
}
