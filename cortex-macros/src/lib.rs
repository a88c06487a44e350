//! Procedural macros for Cortex (placeholder while the container lands).
use proc_macro::TokenStream;

/// Marks a struct as injectable.
#[proc_macro_attribute]
pub fn injectable(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Marks a function as a provider.
#[proc_macro_attribute]
pub fn provider(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
