//! `#[derive(Model)]`: reads the struct and its `#[model(..)]` attributes into a [`ModelDef`]
//! (every problem collected, each at its token), then writes the `Model` impl, the typed column
//! constants, the statement cache and the `Repo` registration.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, LitStr, Path, PathArguments, Type};

/// The struct attribute's keys.
const STRUCT_KEYS: &[&str] = &["table"];
/// The field attribute's keys.
const FIELD_KEYS: &[&str] = &["primary_key", "column", "version", "skip", "no_query"];

/// A field of the model, read.
#[derive(Debug)]
pub(crate) struct FieldDef {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    /// `T` of an `Option<T>`, else the type itself.
    pub(crate) inner: Type,
    pub(crate) nullable: bool,
    pub(crate) column: String,
    pub(crate) primary_key: bool,
    pub(crate) version: bool,
    pub(crate) skip: bool,
    pub(crate) queryable: bool,
}

/// The model, read.
#[derive(Debug)]
pub(crate) struct ModelDef {
    pub(crate) ident: Ident,
    pub(crate) vis: syn::Visibility,
    pub(crate) table: String,
    /// The columns (skipped fields are not).
    pub(crate) fields: Vec<FieldDef>,
    /// Fields that are not columns.
    pub(crate) skipped: Vec<Ident>,
    pub(crate) primary_key: usize,
}

/// Collects errors so that the user sees every problem in one build.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let def = parse(&input)?;
    Ok(generate(&def, &krate()))
}

/// Where the generated code finds `cortex-data`: the crate itself when it is a dependency, else
/// the facade's `cortex::data`.
fn krate() -> Path {
    choose(crate_name("cortex-data").ok(), crate_name("cortex").ok())
}

pub(crate) fn choose(data: Option<FoundCrate>, cortex: Option<FoundCrate>) -> Path {
    match (data, cortex) {
        (Some(FoundCrate::Name(name)), _) => {
            let name = Ident::new(&name, Span::call_site());
            syn::parse_quote!(::#name)
        }
        (Some(FoundCrate::Itself), _) | (None, None | Some(FoundCrate::Itself)) => {
            syn::parse_quote!(::cortex_data)
        }
        (None, Some(FoundCrate::Name(name))) => {
            let name = Ident::new(&name, Span::call_site());
            syn::parse_quote!(::#name::data)
        }
    }
}

/// `BlogPost` → `blog_posts`: snake case, the last word pluralised.
pub(crate) fn table_name(ident: &str) -> String {
    let mut snake = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.extend(c.to_lowercase());
        } else {
            snake.push(c);
        }
    }
    plural(&snake)
}

fn plural(word: &str) -> String {
    let vowel = |c: char| "aeiou".contains(c);
    if let Some(stem) = word.strip_suffix('y')
        && !stem.ends_with(vowel)
        && !stem.is_empty()
    {
        return format!("{stem}ies");
    }
    if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|end| word.ends_with(end))
    {
        return format!("{word}es");
    }
    format!("{word}s")
}

/// The last segment's name of a path type, with its generic arguments.
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    }
}

fn is_named(ty: &Type, names: &[&str]) -> bool {
    last_segment(ty).is_some_and(|s| names.iter().any(|n| s.ident == n))
}

/// `T` when `ty` is `Option<T>`.
fn option_inner(ty: &Type) -> Option<&Type> {
    let segment = last_segment(ty).filter(|s| s.ident == "Option")?;
    match &segment.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(inner) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

const INTEGERS: &[&str] = &["i16", "i32", "i64"];

pub(crate) fn parse(input: &DeriveInput) -> syn::Result<ModelDef> {
    let mut errors = Errors::default();
    let Data::Struct(data) = &input.data else {
        let span = match &input.data {
            Data::Enum(e) => e.enum_token.span,
            Data::Union(u) => u.union_token.span,
            Data::Struct(_) => unreachable!(),
        };
        return Err(syn::Error::new(
            span,
            "#[derive(Model)] needs a struct with named fields (a table's row); hint: write `struct Post { id: i64, … }`",
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new(
            data.fields.span(),
            "#[derive(Model)] needs named fields: each field is a column; hint: write `struct Post { id: i64, title: String }`",
        ));
    };
    if !input.generics.params.is_empty() {
        errors.at(
            input.generics.span(),
            "a model cannot be generic: it is one table; hint: remove the type parameters",
        );
    }

    let mut table = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("model")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                let value: LitStr = meta.value()?.parse()?;
                if value.value().is_empty() {
                    errors.at(value.span(), "the table name is empty");
                }
                table = Some(value.value());
                Ok(())
            } else {
                Err(meta.error(unknown("#[model(..)] on a struct", &meta.path, STRUCT_KEYS)))
            }
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }

    let mut fields = Vec::new();
    let mut skipped = Vec::new();
    for field in &named.named {
        let Some(ident) = field.ident.clone() else {
            continue;
        };
        let name = ident.to_string();
        let name = name.strip_prefix("r#").unwrap_or(&name).to_string();
        let mut def = FieldDef {
            ident,
            ty: field.ty.clone(),
            inner: option_inner(&field.ty).unwrap_or(&field.ty).clone(),
            nullable: option_inner(&field.ty).is_some(),
            column: name,
            primary_key: false,
            version: false,
            skip: false,
            queryable: true,
        };
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("model")) {
            let result = attr.parse_nested_meta(|meta| {
                let key = meta
                    .path
                    .get_ident()
                    .map(Ident::to_string)
                    .unwrap_or_default();
                match key.as_str() {
                    "primary_key" => def.primary_key = true,
                    "version" => def.version = true,
                    "skip" => def.skip = true,
                    "no_query" => def.queryable = false,
                    "column" => {
                        let value: LitStr = meta.value()?.parse()?;
                        if value.value().is_empty() {
                            errors.at(value.span(), "the column name is empty");
                        }
                        def.column = value.value();
                    }
                    _ => {
                        return Err(meta.error(unknown(
                            "#[model(..)] on a field",
                            &meta.path,
                            FIELD_KEYS,
                        )));
                    }
                }
                Ok(())
            });
            if let Err(error) = result {
                errors.push(error);
            }
        }
        if def.version && (def.nullable || !is_named(&def.ty, INTEGERS)) {
            errors.at(
                def.ty.span(),
                format!(
                    "`{}` is #[model(version)], so it must be an integer; hint: make it `i32` or `i64`",
                    def.ident
                ),
            );
        }
        if def.skip {
            if def.primary_key || def.version {
                errors.at(
                    def.ident.span(),
                    format!(
                        "`{}` is skipped, so it cannot be the key or the version",
                        def.ident
                    ),
                );
            }
            skipped.push(def.ident);
            continue;
        }
        fields.push(def);
    }

    let marked: Vec<usize> = (0..fields.len())
        .filter(|&i| fields[i].primary_key)
        .collect();
    let primary_key = match marked.as_slice() {
        [one] => Some(*one),
        [] => match fields
            .iter()
            .position(|f| f.column == "id" || f.ident == "id")
        {
            Some(id) => Some(id),
            None => {
                errors.at(
                    input.ident.span(),
                    format!(
                        "{} has no primary key; hint: add an `id: i64` (or `id: Uuid`) field, or mark the key with #[model(primary_key)]",
                        input.ident
                    ),
                );
                None
            }
        },
        [_, rest @ ..] => {
            for &i in rest {
                errors.at(
                    fields[i].ident.span(),
                    "a model has one primary key, and another field is #[model(primary_key)] already; hint: composite keys are not supported",
                );
            }
            None
        }
    };
    if let Some(key) = primary_key
        && fields[key].nullable
    {
        errors.at(
            fields[key].ty.span(),
            "the primary key cannot be an `Option`; hint: use the key's type itself (`i64`, `Uuid`)",
        );
    }
    let versions: Vec<&FieldDef> = fields.iter().filter(|f| f.version).collect();
    for extra in versions.iter().skip(1) {
        errors.at(
            extra.ident.span(),
            "a model has one #[model(version)] field, and another has it already",
        );
    }
    let mut seen = std::collections::HashMap::new();
    for field in &fields {
        if let Some(first) = seen.insert(field.column.clone(), field.ident.clone()) {
            errors.at(
                field.ident.span(),
                format!(
                    "the column `{}` is `{first}`'s already; hint: give one of them another #[model(column = \"…\")]",
                    field.column
                ),
            );
        }
    }
    errors.finish()?;
    Ok(ModelDef {
        ident: input.ident.clone(),
        vis: input.vis.clone(),
        table: table.unwrap_or_else(|| table_name(&input.ident.to_string())),
        fields,
        skipped,
        primary_key: primary_key.unwrap_or_default(),
    })
}

fn unknown(place: &str, path: &Path, keys: &[&str]) -> String {
    let name = path
        .get_ident()
        .map(Ident::to_string)
        .unwrap_or_else(|| quote!(#path).to_string());
    format!(
        "unknown {place} option `{name}`; hint: use one of {}",
        keys.join(", ")
    )
}

impl ModelDef {
    /// The column with a role: named `name` and typed as `DateTime<..>` (inside an `Option` when
    /// `nullable`).
    fn role(&self, name: &str, nullable: bool) -> Option<usize> {
        self.fields.iter().position(|f| {
            f.column == name && f.nullable == nullable && is_named(&f.inner, &["DateTime"])
        })
    }
}

pub(crate) fn generate(def: &ModelDef, krate: &Path) -> TokenStream {
    let ident = &def.ident;
    let vis = &def.vis;
    let name = ident.to_string();
    let table = &def.table;
    let key = &def.fields[def.primary_key];
    let key_ty = &key.ty;
    let key_ident = &key.ident;
    let key_strategy = if is_named(&key.ty, INTEGERS) {
        quote!(#krate::KeyStrategy::AutoIncrement)
    } else if is_named(&key.ty, &["Uuid"]) {
        quote!(#krate::KeyStrategy::Uuid)
    } else {
        quote!(#krate::KeyStrategy::Manual)
    };
    let opt = |index: Option<usize>| match index {
        Some(i) => quote!(::core::option::Option::Some(#i)),
        None => quote!(::core::option::Option::None),
    };
    let created_at = opt(def.role("created_at", false));
    let updated_at = opt(def.role("updated_at", false));
    let deleted_at = opt(def.role("deleted_at", true));
    let version = opt(def.fields.iter().position(|f| f.version));
    let primary_key = def.primary_key;

    let columns = def.fields.iter().map(|f| {
        let field = f.ident.to_string();
        let column = &f.column;
        let inner = &f.inner;
        let nullable = f.nullable;
        let queryable = f.queryable;
        quote_spanned! {f.ty.span()=>
            #krate::ColumnDef {
                field: #field,
                name: #column,
                kind: <#inner as #krate::ToValue>::KIND,
                nullable: #nullable,
                queryable: #queryable,
            }
        }
    });
    let values = def.fields.iter().enumerate().map(|(i, f)| {
        let field = &f.ident;
        quote!(#i => #krate::ToValue::to_value(&self.#field),)
    });
    // By position (the repository selects a model's columns in this order), checked by name.
    let decode_fields = def.fields.iter().enumerate().map(|(i, f)| {
        let field = &f.ident;
        let ty = &f.ty;
        let column = &f.column;
        quote_spanned!(ty.span()=> #field: row.get_at::<#ty>(#i, #column)?,)
    });
    let skipped = def
        .skipped
        .iter()
        .map(|field| quote_spanned!(field.span()=> #field: ::core::default::Default::default(),));
    let constants = def.fields.iter().enumerate().map(|(i, f)| {
        let field = f.ident.to_string();
        let constant = format_ident!(
            "{}",
            field.strip_prefix("r#").unwrap_or(&field).to_uppercase(),
            span = f.ident.span()
        );
        let inner = &f.inner;
        let column = &f.column;
        let nullable = f.nullable;
        let doc = format!("The `{column}` column (`{field}`).");
        quote! {
            #[doc = #doc]
            #vis const #constant: #krate::Column<#ident, #inner> =
                #krate::Column::new(#i, #column, #nullable);
        }
    });
    let column_count = def.fields.len();

    quote! {
        const _: () = {
            static COLUMNS: [#krate::ColumnDef; #column_count] = [#(#columns),*];
            static STATEMENTS: #krate::__private::StatementCache =
                #krate::__private::StatementCache::new();

            #[automatically_derived]
            impl #krate::Model for #ident {
                type Key = #key_ty;

                const META: #krate::ModelMeta = #krate::ModelMeta {
                    name: #name,
                    table: #table,
                    columns: &COLUMNS,
                    primary_key: #primary_key,
                    key_strategy: #key_strategy,
                    created_at: #created_at,
                    updated_at: #updated_at,
                    deleted_at: #deleted_at,
                    version: #version,
                };

                fn key(&self) -> Self::Key {
                    ::core::clone::Clone::clone(&self.#key_ident)
                }

                fn value(&self, index: usize) -> #krate::Value {
                    match index {
                        #(#values)*
                        _ => #krate::Value::Null(#krate::ValueKind::Text),
                    }
                }

                fn decode(row: &#krate::Row) -> ::core::result::Result<Self, #krate::sqlx::Error> {
                    ::core::result::Result::Ok(#ident {
                        #(#decode_fields)*
                        #(#skipped)*
                    })
                }

                fn statements() -> &'static #krate::__private::StatementCache {
                    &STATEMENTS
                }
            }

            #[automatically_derived]
            impl #ident {
                #(#constants)*
            }

            #krate::__private::inventory::submit! {
                #krate::__private::ModelRegistration::of::<#ident>()
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: TokenStream) -> syn::Result<ModelDef> {
        parse(&syn::parse2(input).unwrap())
    }

    fn error(input: TokenStream) -> String {
        let error = parsed(input).unwrap_err();
        error
            .into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn tables_are_the_snake_case_plural_of_the_struct() {
        assert_eq!(table_name("Post"), "posts");
        assert_eq!(table_name("BlogPost"), "blog_posts");
        assert_eq!(table_name("Category"), "categories");
        assert_eq!(table_name("Day"), "days");
        assert_eq!(table_name("Address"), "addresses");
        assert_eq!(table_name("Box"), "boxes");
        assert_eq!(table_name("Match"), "matches");
    }

    #[test]
    fn the_key_is_id_unless_a_field_is_marked() {
        let def = parsed(quote!(
            struct Post {
                title: String,
                id: i64,
            }
        ))
        .unwrap();
        assert_eq!(def.primary_key, 1);
        let def = parsed(quote!(
            struct Tag {
                #[model(primary_key)]
                slug: String,
                id: i64,
            }
        ))
        .unwrap();
        assert_eq!(def.primary_key, 0);
    }

    #[test]
    fn attributes_set_table_columns_and_roles() {
        let def = parsed(quote! {
            #[model(table = "articles")]
            struct Post {
                id: uuid::Uuid,
                #[model(column = "headline", no_query)]
                title: String,
                body: Option<String>,
                #[model(version)]
                lock: i32,
                #[model(skip)]
                cache: Vec<u8>,
                deleted_at: Option<chrono::DateTime<chrono::Utc>>,
            }
        })
        .unwrap();
        assert_eq!(def.table, "articles");
        assert_eq!(def.fields.len(), 5);
        assert_eq!(def.fields[1].column, "headline");
        assert!(!def.fields[1].queryable);
        assert!(def.fields[2].nullable);
        assert!(def.fields[3].version);
        assert_eq!(def.skipped.len(), 1);
        assert_eq!(def.role("deleted_at", true), Some(4));
        assert_eq!(def.role("created_at", false), None);
    }

    #[test]
    fn enums_and_tuple_structs_are_refused() {
        assert!(
            error(quote!(
                enum Post {
                    A,
                }
            ))
            .contains("needs a struct with named fields")
        );
        assert!(
            error(quote!(
                struct Post(i64);
            ))
            .contains("needs named fields")
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let message = error(quote! {
            #[model(tabel = "x")]
            struct Post {
                #[model(version)]
                title: String,
                #[model(colum = "y")]
                body: String,
            }
        });
        assert!(
            message.contains(
                "unknown #[model(..)] on a struct option `tabel`; hint: use one of table"
            ),
            "{message}"
        );
        assert!(
            message.contains("`title` is #[model(version)], so it must be an integer"),
            "{message}"
        );
        assert!(
            message.contains("unknown #[model(..)] on a field option `colum`"),
            "{message}"
        );
        assert!(message.contains("Post has no primary key"), "{message}");
    }

    #[test]
    fn two_keys_and_two_columns_of_one_name_are_refused() {
        let message = error(quote! {
            struct Post {
                #[model(primary_key)] a: i64,
                #[model(primary_key)] b: i64,
                #[model(column = "a")] c: i64,
            }
        });
        assert!(message.contains("a model has one primary key"), "{message}");
        assert!(
            message.contains("the column `a` is `a`'s already"),
            "{message}"
        );
        assert!(
            error(quote!(
                struct Post {
                    id: Option<i64>,
                }
            ))
            .contains("cannot be an `Option`")
        );
    }

    #[test]
    fn the_runtime_is_found_directly_or_through_the_facade() {
        let shown = |p: Path| quote!(#p).to_string().replace(' ', "");
        assert_eq!(
            shown(choose(
                Some(FoundCrate::Name("cortex_data".into())),
                Some(FoundCrate::Name("cortex".into()))
            )),
            "::cortex_data"
        );
        assert_eq!(
            shown(choose(None, Some(FoundCrate::Name("cx".into())))),
            "::cx::data"
        );
        assert_eq!(
            shown(choose(Some(FoundCrate::Itself), None)),
            "::cortex_data"
        );
        assert_eq!(shown(choose(None, None)), "::cortex_data");
    }

    /// The pretty-printed expansion of a model with every role, reviewed as a snapshot
    /// (`src/snapshots/`; `cargo insta review` after a change).
    #[test]
    fn the_expansion_of_a_model_with_every_role() {
        let def = parsed(quote! {
            pub struct Post {
                id: i64,
                #[model(column = "headline")]
                title: String,
                body: Option<String>,
                #[model(version)]
                lock_version: i32,
                created_at: DateTime<Utc>,
                updated_at: DateTime<Utc>,
                deleted_at: Option<DateTime<Utc>>,
                #[model(skip)]
                cached: bool,
            }
        })
        .unwrap();
        let code = generate(&def, &syn::parse_quote!(::cortex_data));
        let file: syn::File = syn::parse2(code).unwrap();
        let mut settings = insta::Settings::clone_current();
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(prettyplease::unparse(&file)));
    }
}
