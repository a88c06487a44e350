//! Procedural macros for `cortex-data`, re-exported by it (and by `cortex::data`): use them from
//! there. Parsing and expansion live in plain modules, unit-tested without a compiler run.

use proc_macro::TokenStream;

mod migrations;
mod model;

/// Embeds a folder of migrations into the binary. See `cortex_data::migrations!`.
#[proc_macro]
pub fn migrations(input: TokenStream) -> TokenStream {
    migrations::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Embeds a folder of seed files into the binary. See `cortex_data::seeds!`.
#[proc_macro]
pub fn seeds(input: TokenStream) -> TokenStream {
    migrations::expand_seeds(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Embeds the app's migrations (and seeds) and hands them to the data plugin. See
/// `cortex_data::app_migrations!`.
#[proc_macro]
pub fn app_migrations(input: TokenStream) -> TokenStream {
    migrations::expand_app(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Makes a struct a model: a table's row, with its `Repo`. See `cortex_data::Model`.
#[proc_macro_derive(Model, attributes(model))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    model::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
