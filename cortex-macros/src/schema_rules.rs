//! `#[schema_rules]`: writes each field's `validator` rules (`#[validate(..)]`) and the exact bounds
//! of its integer type into utoipa's field attributes (`#[schema(..)]` for `ToSchema`,
//! `#[param(..)]` for `IntoParams`), so the OpenAPI document describes what the server accepts.
//!
//! The struct is passed on unchanged but for those attributes; utoipa's derives, which run after
//! this attribute, turn them into the schema. A key the user already wrote in `#[schema(..)]` or
//! `#[param(..)]` is left alone: their word wins.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, ExprLit, Field, Fields, GenericArgument, Ident, Item, ItemStruct, Lit,
    LitFloat, LitInt, LitStr, PathArguments, Type, UnOp, parse_quote, token,
};

use crate::debug;
use crate::errors::Errors;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let generated = generate(attr, item.clone(), &mut errors);
    match errors.finish() {
        Ok(()) => debug::show("schema_rules", generated),
        Err(error) => {
            let error = error.into_compile_error();
            // Keep the struct as written so its derives still run: no secondary errors.
            quote!(#item #error)
        }
    }
}

/// The same, as a `Result`, for tests.
#[cfg(test)]
fn try_expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let generated = generate(attr, item, &mut errors);
    errors.finish().map(|()| generated)
}

fn generate(attr: TokenStream, item: TokenStream, errors: &mut Errors) -> TokenStream {
    if !attr.is_empty() {
        errors.at(
            &attr,
            "#[schema_rules] takes no arguments: it reads each field's `#[validate(..)]` rules; \
             write `#[schema_rules]`",
        );
    }
    let mut item = match syn::parse2::<Item>(item) {
        Ok(Item::Struct(item)) => item,
        Ok(Item::Enum(item)) => {
            errors.at(
                item.enum_token,
                format!(
                    "#[schema_rules] goes on a struct with named fields, and `{}` is an enum: \
                     `#[derive(Validate)]` reads the fields of structs only; describe a variant's \
                     values with `#[schema(..)]`",
                    item.ident
                ),
            );
            return TokenStream::new();
        }
        Ok(other) => {
            errors.at(
                &other,
                "#[schema_rules] goes on a struct with named fields that derives `ToSchema` or \
                 `IntoParams`",
            );
            return TokenStream::new();
        }
        Err(error) => {
            errors.push(error);
            return TokenStream::new();
        }
    };
    let targets = Targets::of(&item);
    if !targets.schema && !targets.params {
        errors.at(
            &item.ident,
            format!(
                "#[schema_rules] on `{}`, which derives neither `ToSchema` nor `IntoParams`: the \
                 rules go into the schema those derives generate; add `#[derive(ToSchema)]` (a \
                 request or response body) or `#[derive(IntoParams)]` (query or path parameters) \
                 below `#[schema_rules]`",
                item.ident
            ),
        );
    }
    let Fields::Named(fields) = &mut item.fields else {
        errors.at(
            &item.ident,
            format!(
                "#[schema_rules] on `{}`, which has no named fields: `#[derive(Validate)]` and the \
                 rules it reads need `struct {} {{ field: Type, .. }}`",
                item.ident, item.ident
            ),
        );
        return TokenStream::new();
    };
    for field in &mut fields.named {
        let rules = Rules::of(field, errors);
        let mut constraints = constraints(&rules, &Shape::of(&field.ty));
        if targets.schema
            && let Some(attr) = attribute("schema", &field.attrs, &constraints)
        {
            field.attrs.push(attr);
        }
        // A parameter is absent or has a value: `?limit=null` is not `None`.
        let optional = !std::ptr::eq(strip_option(&field.ty), &field.ty);
        if optional && !constraints.iter().any(|(key, _)| *key == "nullable") {
            constraints.push(("nullable", quote!(false)));
        }
        if targets.params
            && let Some(attr) = attribute("param", &field.attrs, &constraints)
        {
            field.attrs.push(attr);
        }
    }
    item.into_token_stream()
}

/// Which of utoipa's derives the struct has.
struct Targets {
    schema: bool,
    params: bool,
}

impl Targets {
    fn of(item: &ItemStruct) -> Targets {
        let mut targets = Targets {
            schema: false,
            params: false,
        };
        for attr in item.attrs.iter().filter(|a| a.path().is_ident("derive")) {
            // A derive list that does not parse is rustc's to report.
            let _ = attr.parse_nested_meta(|meta| {
                match meta.path.segments.last().map(|s| s.ident.to_string()) {
                    Some(name) if name == "ToSchema" => targets.schema = true,
                    Some(name) if name == "IntoParams" => targets.params = true,
                    _ => {}
                }
                Ok(())
            });
        }
        targets
    }
}

/// A number written in a rule: `1`, `-5`, `0.5`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    /// The literal utoipa's attribute parser reads, with a suffix so that rustc never has to guess
    /// its type (an unsuffixed `4294967295` would be an `i32`).
    fn tokens(self) -> TokenStream {
        let span = Span::call_site();
        match self {
            Number::Int(n) if n < 0 => {
                let lit = LitInt::new(&format!("{}i64", n.unsigned_abs()), span);
                quote!(-#lit)
            }
            Number::Int(n) => LitInt::new(&format!("{n}u64"), span).into_token_stream(),
            Number::Float(f) if f < 0.0 => {
                let lit = LitFloat::new(&format!("{:?}f64", -f), span);
                quote!(-#lit)
            }
            Number::Float(f) => LitFloat::new(&format!("{f:?}f64"), span).into_token_stream(),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Number::Int(n) => n as f64,
            Number::Float(f) => f,
        }
    }
}

/// The bounds of `length(..)` or `range(..)`; `None` when absent or not a literal.
#[derive(Default, Debug)]
struct Bounds {
    min: Option<Number>,
    max: Option<Number>,
    exclusive_min: Option<Number>,
    exclusive_max: Option<Number>,
}

/// The rules of one field that the schema can say.
#[derive(Default, Debug)]
struct Rules {
    length: Option<Bounds>,
    range: Option<Bounds>,
    email: bool,
    url: bool,
    ipv4: bool,
    ipv6: bool,
    contains: Option<String>,
    required: bool,
}

impl Rules {
    /// Reads every `#[validate(..)]` of `field`. The syntax is `validator`'s: what does not parse
    /// here is left for `#[derive(Validate)]` to report; a rule no value can pass is reported.
    fn of(field: &Field, errors: &mut Errors) -> Rules {
        let mut rules = Rules::default();
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("validate")) {
            let _ = attr.parse_nested_meta(|meta| rules.read(&meta, errors));
        }
        rules
    }

    fn read(&mut self, meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<()> {
        let name = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        match name.as_str() {
            "length" => self.length = Some(bounds(meta, "length", errors)?),
            "range" => self.range = Some(bounds(meta, "range", errors)?),
            "email" => {
                self.email = true;
                skip(meta)?;
            }
            "url" => {
                self.url = true;
                skip(meta)?;
            }
            "ip" => {
                if meta.input.peek(token::Paren) {
                    meta.parse_nested_meta(|arg| {
                        let on = flag(&arg)?;
                        if arg.path.is_ident("v4") {
                            self.ipv4 = on;
                        } else if arg.path.is_ident("v6") {
                            self.ipv6 = on;
                        }
                        Ok(())
                    })?;
                }
            }
            "contains" => meta.parse_nested_meta(|arg| {
                if arg.path.is_ident("pattern") {
                    self.contains = Some(arg.value()?.parse::<LitStr>()?.value());
                } else {
                    skip(&arg)?;
                }
                Ok(())
            })?,
            "required" => {
                self.required = true;
                skip(meta)?;
            }
            // `nested` needs nothing: the field's type derives `ToSchema` and is referenced. The
            // others (`custom`, `regex`, `must_match`, ...) cannot be said by a schema.
            _ => skip(meta)?,
        }
        Ok(())
    }
}

/// `v4`, `v4 = true` or `v4 = false`.
fn flag(meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
    if meta.input.peek(syn::Token![=]) {
        Ok(meta.value()?.parse::<syn::LitBool>()?.value)
    } else {
        Ok(true)
    }
}

/// Steps over a rule's arguments: `(..)`, `= expr`, or nothing.
fn skip(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    } else if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    }
    Ok(())
}

/// The arguments of `length(min = .., max = .., equal = ..)` or `range(min = .., max = ..,
/// exclusive_min = .., exclusive_max = ..)`.
fn bounds(meta: &ParseNestedMeta<'_>, rule: &str, errors: &mut Errors) -> syn::Result<Bounds> {
    let mut bounds = Bounds::default();
    let mut spans = Vec::new();
    meta.parse_nested_meta(|arg| {
        let key = arg
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        if !["min", "max", "equal", "exclusive_min", "exclusive_max"].contains(&key.as_str()) {
            return skip(&arg);
        }
        let expr = arg.value()?.parse::<Expr>()?;
        if let Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) = &expr
        {
            errors.at(
                lit,
                format!(
                    "`{rule}({key} = ..)` takes a number, not a string: write `{key} = {}`",
                    lit.value()
                ),
            );
            return Ok(());
        }
        // A bound that is not a literal (a constant, an expression) cannot be read here.
        let value = number(&expr);
        spans.push(expr.span());
        match key.as_str() {
            "min" => bounds.min = value,
            "max" => bounds.max = value,
            "equal" => (bounds.min, bounds.max) = (value, value),
            "exclusive_min" => bounds.exclusive_min = value,
            _ => bounds.exclusive_max = value,
        }
        Ok(())
    })?;
    let lowest = bounds.min.or(bounds.exclusive_min);
    let highest = bounds.max.or(bounds.exclusive_max);
    if let (Some(low), Some(high)) = (lowest, highest)
        && low.as_f64() > high.as_f64()
    {
        let span = spans.last().copied().unwrap_or_else(|| meta.path.span());
        errors.at_span(
            span,
            format!(
                "`{rule}(..)` allows no value: its minimum {} is above its maximum {}; swap them",
                low.as_f64(),
                high.as_f64()
            ),
        );
    }
    Ok(bounds)
}

/// The value of a numeric literal, possibly negated or parenthesized.
fn number(expr: &Expr) -> Option<Number> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => lit.base10_parse::<i128>().ok().map(Number::Int),
        Expr::Lit(ExprLit {
            lit: Lit::Float(lit),
            ..
        }) => lit.base10_parse::<f64>().ok().map(Number::Float),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => {
            number(&unary.expr).map(|n| match n {
                Number::Int(n) => Number::Int(-n),
                Number::Float(f) => Number::Float(-f),
            })
        }
        Expr::Paren(inner) => number(&inner.expr),
        Expr::Group(inner) => number(&inner.expr),
        _ => None,
    }
}

/// What a field's type (inside an `Option`) is, as far as the schema is concerned.
#[derive(Debug, PartialEq)]
enum Shape {
    /// A primitive integer: its bounds, and the format when utoipa's would not hold every value.
    Integer {
        min: i128,
        max: i128,
        format: Option<&'static str>,
    },
    /// A string (`String`, `str`, `Cow<str>`): `length` counts characters.
    Text,
    /// A list (`Vec`, sets, arrays, slices): `length` counts items.
    List,
    /// Anything else: floats, maps, other types.
    Other,
}

impl Shape {
    fn of(ty: &Type) -> Shape {
        let ty = strip_option(ty);
        match ty {
            Type::Reference(reference) => Shape::of(&reference.elem),
            Type::Array(_) | Type::Slice(_) => Shape::List,
            Type::Group(group) => Shape::of(&group.elem),
            Type::Paren(paren) => Shape::of(&paren.elem),
            Type::Path(path) if path.qself.is_none() => {
                let Some(last) = path.path.segments.last() else {
                    return Shape::Other;
                };
                let name = last.ident.to_string();
                if let Some(shape) = integer(&name) {
                    return shape;
                }
                match name.as_str() {
                    "String" | "str" | "Cow" => Shape::Text,
                    "Vec" | "VecDeque" | "LinkedList" | "HashSet" | "BTreeSet" | "BinaryHeap"
                    | "IndexSet" | "SmallVec" => Shape::List,
                    _ => Shape::Other,
                }
            }
            _ => Shape::Other,
        }
    }
}

/// The bounds of a primitive integer type; `isize`/`usize` as on 64-bit targets. 128-bit types
/// are left out: utoipa's numbers are 64-bit.
fn integer(name: &str) -> Option<Shape> {
    let (min, max, format) = match name {
        "i8" => (i8::MIN.into(), i8::MAX.into(), None),
        "i16" => (i16::MIN.into(), i16::MAX.into(), None),
        "i32" => (i32::MIN.into(), i32::MAX.into(), None),
        "i64" => (i64::MIN.into(), i64::MAX.into(), None),
        "isize" => (i64::MIN.into(), i64::MAX.into(), Some("Int64")),
        "u8" => (0, u8::MAX.into(), None),
        "u16" => (0, u16::MAX.into(), None),
        // utoipa says `int32`, which cannot hold 2^31 and above.
        "u32" => (0, u32::MAX.into(), Some("Int64")),
        "u64" => (0, u64::MAX.into(), None),
        "usize" => (0, u64::MAX.into(), Some("Int64")),
        _ => return None,
    };
    Some(Shape::Integer { min, max, format })
}

/// `T` for `Option<T>` (any path ending in `Option`), else the type itself.
fn strip_option(ty: &Type) -> &Type {
    if let Type::Path(path) = ty
        && let Some(last) = path.path.segments.last()
        && last.ident == "Option"
        && let PathArguments::AngleBracketed(args) = &last.arguments
        && args.args.len() == 1
        && let Some(GenericArgument::Type(inner)) = args.args.first()
    {
        return inner;
    }
    ty
}

/// The utoipa keys and values that say `rules` for a field of this shape, in a fixed order.
fn constraints(rules: &Rules, shape: &Shape) -> Vec<(&'static str, TokenStream)> {
    let mut out: Vec<(&'static str, TokenStream)> = Vec::new();
    let range = rules.range.as_ref();
    match shape {
        Shape::Integer { min, max, format } => {
            let low = match range.and_then(|r| r.min) {
                Some(Number::Int(n)) => Number::Int(n.max(*min)),
                Some(other) => other,
                None => Number::Int(*min),
            };
            let high = match range.and_then(|r| r.max) {
                Some(Number::Int(n)) => Number::Int(n.min(*max)),
                Some(other) => other,
                None => Number::Int(*max),
            };
            out.push(("minimum", low.tokens()));
            out.push(("maximum", high.tokens()));
            if let Some(format) = format {
                let format = Ident::new(format, Span::call_site());
                out.push(("format", quote!(#format)));
            }
        }
        _ => {
            if let Some(min) = range.and_then(|r| r.min) {
                out.push(("minimum", min.tokens()));
            }
            if let Some(max) = range.and_then(|r| r.max) {
                out.push(("maximum", max.tokens()));
            }
        }
    }
    if let Some(n) = range.and_then(|r| r.exclusive_min) {
        out.push(("exclusive_minimum", n.tokens()));
    }
    if let Some(n) = range.and_then(|r| r.exclusive_max) {
        out.push(("exclusive_maximum", n.tokens()));
    }
    let length = rules.length.as_ref();
    let (min_key, max_key) = match shape {
        Shape::Text => ("min_length", "max_length"),
        Shape::List => ("min_items", "max_items"),
        _ => ("", ""),
    };
    if !min_key.is_empty() {
        if let Some(Number::Int(n)) = length.and_then(|l| l.min)
            && n > 0
        {
            out.push((min_key, count(n)));
        }
        if let Some(Number::Int(n)) = length.and_then(|l| l.max) {
            out.push((max_key, count(n.max(0))));
        }
    }
    if *shape == Shape::Text {
        let format = if rules.email {
            Some("Email")
        } else if rules.url {
            Some("Uri")
        } else if rules.ipv4 && !rules.ipv6 {
            Some("Ipv4")
        } else if rules.ipv6 && !rules.ipv4 {
            Some("Ipv6")
        } else {
            None
        };
        if let Some(format) = format {
            let format = Ident::new(format, Span::call_site());
            out.push(("format", quote!(#format)));
        }
        if let Some(needle) = &rules.contains {
            let pattern = LitStr::new(&escape_regex(needle), Span::call_site());
            out.push(("pattern", pattern.into_token_stream()));
        }
    }
    if rules.required {
        out.push(("required", quote!(true)));
        out.push(("nullable", quote!(false)));
    }
    out
}

/// A length or a number of items: utoipa takes a `usize`, so the literal has no suffix.
fn count(n: i128) -> TokenStream {
    LitInt::new(&n.to_string(), Span::call_site()).into_token_stream()
}

/// A pattern that matches any string containing `text` (JSON Schema patterns are not anchored).
fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `#[name(key = value, ..)]` with the constraints the user did not write themselves in a
/// `#[name(..)]` of their own; `None` when nothing is left, or when they describe the field
/// entirely (`value_type`, `schema_with`) or hide it (`ignore`).
fn attribute(
    name: &str,
    attrs: &[Attribute],
    constraints: &[(&'static str, TokenStream)],
) -> Option<Attribute> {
    let written = written_keys(name, attrs);
    if written
        .iter()
        .any(|k| ["value_type", "schema_with", "ignore"].contains(&k.as_str()))
    {
        return None;
    }
    let pairs: Vec<TokenStream> = constraints
        .iter()
        .filter(|(key, _)| !written.iter().any(|k| k == key))
        .map(|(key, value)| {
            let key = Ident::new(key, Span::call_site());
            quote!(#key = #value)
        })
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let name = Ident::new(name, Span::call_site());
    Some(parse_quote!(#[#name(#(#pairs),*)]))
}

/// The keys of the user's own `#[name(..)]` attributes: each identifier that starts an argument.
/// Read token by token, since utoipa's values (`value_type = HashMap<String, i32>`) are not all
/// expressions.
fn written_keys(name: &str, attrs: &[Attribute]) -> Vec<String> {
    let mut keys = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident(name)) {
        let Ok(list) = attr.meta.require_list() else {
            continue;
        };
        let mut at_start = true;
        for token in list.tokens.clone() {
            match &token {
                TokenTree::Ident(ident) if at_start => keys.push(ident.to_string()),
                TokenTree::Punct(p) if p.as_char() == ',' => {
                    at_start = true;
                    continue;
                }
                _ => {}
            }
            at_start = false;
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The attributes `#[schema_rules]` adds to each field, as `field: #[..] #[..]`.
    fn added(item: TokenStream) -> Vec<String> {
        let before: ItemStruct = syn::parse2(item.clone()).unwrap();
        let after: ItemStruct = syn::parse2(try_expand(TokenStream::new(), item).unwrap()).unwrap();
        before
            .fields
            .iter()
            .zip(after.fields.iter())
            .map(|(before, after)| {
                let new: Vec<String> = after.attrs[before.attrs.len()..]
                    .iter()
                    .map(|a| a.to_token_stream().to_string())
                    .collect();
                format!("{}: {}", after.ident.as_ref().unwrap(), new.join(" "))
            })
            .collect()
    }

    fn error_of(attr: TokenStream, item: TokenStream) -> String {
        try_expand(attr, item).expect_err("an error").to_string()
    }

    #[test]
    fn length_and_range_become_schema_keys_within_the_integer_type() {
        let fields = added(quote! {
            #[derive(Deserialize, Validate, ToSchema)]
            struct NewOrder {
                #[validate(length(min = 1, max = 50))]
                title: String,
                #[validate(range(min = 1, max = 1000))]
                qty: u32,
                plain: u32,
                small: i8,
                #[validate(range(min = -5, max = 1_000))]
                level: u8,
                #[validate(range(exclusive_min = 0.0, max = 1.5))]
                ratio: f64,
            }
        });
        assert_eq!(
            fields,
            [
                "title: # [schema (min_length = 1 , max_length = 50)]",
                "qty: # [schema (minimum = 1u64 , maximum = 1000u64 , format = Int64)]",
                "plain: # [schema (minimum = 0u64 , maximum = 4294967295u64 , format = Int64)]",
                "small: # [schema (minimum = - 128i64 , maximum = 127u64)]",
                "level: # [schema (minimum = 0u64 , maximum = 255u64)]",
                "ratio: # [schema (maximum = 1.5f64 , exclusive_minimum = 0.0f64)]",
            ]
        );
    }

    #[test]
    fn options_lists_and_formats_are_described() {
        let fields = added(quote! {
            #[derive(ToSchema)]
            struct Contact {
                #[validate(email)]
                email: Option<String>,
                #[validate(url(message = "a link"))]
                site: String,
                #[validate(length(min = 1, max = 3))]
                tags: Vec<String>,
                #[validate(length(equal = 2))]
                pair: [u8; 2],
                #[validate(required, length(max = 10))]
                nick: Option<String>,
                #[validate(contains(pattern = "a.b"), ip)]
                hint: String,
                #[validate(ip(v6))]
                addr: String,
                #[validate(nested)]
                address: Address,
                #[validate(custom(function = "check"), regex(path = *RE))]
                code: String,
                #[validate(length(min = MIN, max = 5))]
                name: String,
            }
        });
        assert_eq!(
            fields,
            [
                "email: # [schema (format = Email)]",
                "site: # [schema (format = Uri)]",
                "tags: # [schema (min_items = 1 , max_items = 3)]",
                "pair: # [schema (min_items = 2 , max_items = 2)]",
                "nick: # [schema (max_length = 10 , required = true , nullable = false)]",
                "hint: # [schema (pattern = \"a\\\\.b\")]",
                "addr: # [schema (format = Ipv6)]",
                "address: ",
                "code: ",
                "name: # [schema (max_length = 5)]",
            ]
        );
    }

    #[test]
    fn query_parameters_get_param_attributes_and_the_users_keys_win() {
        let fields = added(quote! {
            #[derive(Deserialize, Validate, utoipa::IntoParams, utoipa::ToSchema)]
            struct Page {
                #[validate(range(min = 1, max = 100))]
                #[param(maximum = 50)]
                limit: Option<usize>,
                #[schema(value_type = String)]
                cursor: u64,
            }
        });
        assert_eq!(
            fields,
            [
                "limit: # [schema (minimum = 1u64 , maximum = 100u64 , format = Int64)] \
                 # [param (minimum = 1u64 , format = Int64 , nullable = false)]",
                "cursor: # [param (minimum = 0u64 , maximum = 18446744073709551615u64)]",
            ]
        );
    }

    #[test]
    fn misuse_is_reported_with_the_fix() {
        assert!(
            error_of(
                quote!(strict),
                quote!(
                    #[derive(ToSchema)]
                    struct A {
                        a: u8,
                    }
                )
            )
            .contains("takes no arguments")
        );
        assert!(
            error_of(
                quote!(),
                quote!(
                    #[derive(ToSchema)]
                    enum A {
                        B,
                    }
                )
            )
            .contains("`A` is an enum")
        );
        assert!(
            error_of(
                quote!(),
                quote!(
                    #[derive(Validate)]
                    struct A {
                        a: u8,
                    }
                )
            )
            .contains("add `#[derive(ToSchema)]`")
        );
        assert!(
            error_of(
                quote!(),
                quote!(
                    #[derive(ToSchema)]
                    struct A(u8);
                )
            )
            .contains("no named fields")
        );
        assert_eq!(
            error_of(
                quote!(),
                quote!(
                    #[derive(ToSchema)]
                    struct A {
                        #[validate(length(min = 5, max = 2))]
                        a: String,
                    }
                )
            ),
            "`length(..)` allows no value: its minimum 5 is above its maximum 2; swap them"
        );
        assert!(
            error_of(
                quote!(),
                quote!(
                    #[derive(ToSchema)]
                    struct A {
                        #[validate(range(min = "1"))]
                        a: u8,
                    }
                )
            )
            .contains("takes a number, not a string: write `min = 1`")
        );
    }

    #[test]
    fn regex_metacharacters_are_escaped() {
        assert_eq!(escape_regex("a+b (c)"), r"a\+b \(c\)");
    }
}
