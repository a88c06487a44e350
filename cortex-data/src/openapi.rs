//! What [`Filters`] reads from a request, for the OpenAPI document: a parameter per column a
//! query string may filter by, `sort`, `limit`, `offset` and `after`, and the 400 it answers.

use cortex_core::openapi::utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use cortex_core::openapi::utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, SchemaFormat, Type,
};
use cortex_core::openapi::utoipa::openapi::{Required, Schema};
use cortex_core::openapi::{OperationDoc, OperationInput};

use crate::model::Model;
use crate::query::{DEFAULT_LIMIT, Filters, MAX_LIMIT};
use crate::value::ValueKind;

/// The schema of a column's value in a query string.
fn kind_schema(kind: ValueKind) -> Schema {
    let (ty, format) = match kind {
        ValueKind::Bool => (Type::Boolean, None),
        ValueKind::I16 | ValueKind::I32 => (Type::Integer, Some(KnownFormat::Int32)),
        ValueKind::I64 => (Type::Integer, Some(KnownFormat::Int64)),
        ValueKind::F32 => (Type::Number, Some(KnownFormat::Float)),
        ValueKind::F64 => (Type::Number, Some(KnownFormat::Double)),
        ValueKind::Uuid => (Type::String, None),
        ValueKind::Timestamp | ValueKind::DateTime => (Type::String, Some(KnownFormat::DateTime)),
        ValueKind::Date => (Type::String, Some(KnownFormat::Date)),
        ValueKind::Text | ValueKind::Bytes | ValueKind::Json => (Type::String, None),
    };
    let mut schema = ObjectBuilder::new().schema_type(ty);
    if let Some(format) = format {
        schema = schema.format(Some(SchemaFormat::KnownFormat(format)));
    } else if kind == ValueKind::Uuid {
        // utoipa's `KnownFormat::Uuid` exists only with its `uuid` feature
        schema = schema.format(Some(SchemaFormat::Custom("uuid".to_string())));
    }
    Schema::Object(schema.build())
}

fn query_parameter(name: &str, description: String, schema: Schema) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
}

/// `GET /posts?title[like]=%rust%&sort=-created_at&limit=20` in the document: one optional
/// parameter per column the query string may filter by (its operators in the description), and
/// `sort`, `limit`, `offset`, `after`; a 400 problem for a parameter that does not fit.
///
/// ```
/// use cortex_core::openapi::{OperationDoc, OperationInput, utoipa};
/// use cortex_data::{Filters, Model};
///
/// #[derive(Model)]
/// struct Post { id: i64, title: String, views: i32 }
///
/// let mut op = OperationDoc::new(&http::Method::GET, "/posts");
/// <Filters<Post> as OperationInput>::describe(&mut op);
/// let names: Vec<String> = op.operation().parameters.iter().flatten()
///     .map(|p| match p { utoipa::openapi::RefOr::T(p) => p.name.clone(), _ => String::new() })
///     .collect();
/// assert_eq!(names, ["id", "title", "views", "sort", "limit", "offset", "after"]);
/// assert!(op.has_response("400"));
/// ```
impl<M: Model> OperationInput for Filters<M> {
    fn describe(op: &mut OperationDoc) {
        let queryable: Vec<_> = M::META.columns.iter().filter(|c| c.queryable).collect();
        for column in &queryable {
            let description = format!(
                "`{0}=value` keeps rows whose {0} equals the value; `{0}[op]=value` compares with \
                 `op` one of `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `like`, `in` (values separated by \
                 commas){1}",
                column.name,
                if column.nullable {
                    ", or `null` (`true` or `false`)"
                } else {
                    ""
                }
            );
            op.add_parameter(
                query_parameter(column.name, description, kind_schema(column.kind)).build(),
            );
        }
        let sortable: Vec<String> = queryable.iter().map(|c| format!("`{}`", c.name)).collect();
        op.add_parameter(
            query_parameter(
                "sort",
                format!(
                    "The order, columns separated by commas, `-` before a column for descending \
                     (`sort=-{}`); columns: {}",
                    queryable.first().map_or("id", |c| c.name),
                    sortable.join(", ")
                ),
                Schema::Object(ObjectBuilder::new().schema_type(Type::String).build()),
            )
            .build(),
        );
        op.add_parameter(
            query_parameter(
                "limit",
                format!("How many rows, at most {MAX_LIMIT} (default {DEFAULT_LIMIT})"),
                Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(1))
                        .maximum(Some(MAX_LIMIT as f64))
                        .default(Some(DEFAULT_LIMIT.into()))
                        .build(),
                ),
            )
            .build(),
        );
        op.add_parameter(
            query_parameter(
                "offset",
                "How many rows to skip (offset pagination)".to_string(),
                Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(0))
                        .build(),
                ),
            )
            .build(),
        );
        op.add_parameter(
            query_parameter(
                "after",
                "The `next_cursor` of the previous page, with the same `sort` (keyset pagination, on routes that answer pages with a `next_cursor`)"
                    .to_string(),
                Schema::Object(ObjectBuilder::new().schema_type(Type::String).build()),
            )
            .build(),
        );
        op.problem_response(
            "400",
            "A query parameter names no column, uses an unknown operator, holds a value of the \
             wrong type, or a limit or cursor that does not fit",
        );
    }
}

#[cfg(test)]
mod tests {
    use cortex_core::openapi::utoipa::openapi::RefOr;
    use cortex_core::openapi::{OperationDoc, OperationInput};

    use super::*;

    #[derive(crate::Model)]
    #[allow(dead_code)]
    struct Item {
        id: uuid::Uuid,
        views: i32,
        total: i64,
        price: f64,
        name: String,
        archived: Option<bool>,
        #[model(no_query)]
        secret: String,
    }

    fn schema_json(op: &OperationDoc, name: &str) -> serde_json::Value {
        let parameter = op
            .operation()
            .parameters
            .iter()
            .flatten()
            .find_map(|p| match p {
                RefOr::T(p) if p.name == name => Some(p),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no parameter `{name}`"));
        serde_json::to_value(parameter).unwrap()
    }

    #[test]
    fn each_queryable_column_is_a_parameter_of_its_type() {
        let mut op = OperationDoc::new(&http::Method::GET, "/items");
        <Filters<Item> as OperationInput>::describe(&mut op);
        let id = schema_json(&op, "id");
        assert_eq!(id["schema"]["type"], "string", "{id}");
        assert_eq!(id["schema"]["format"], "uuid", "{id}");
        assert_eq!(schema_json(&op, "views")["schema"]["format"], "int32");
        assert_eq!(schema_json(&op, "total")["schema"]["format"], "int64");
        assert_eq!(schema_json(&op, "price")["schema"]["type"], "number");
        let name = schema_json(&op, "name");
        assert_eq!(name["schema"]["type"], "string", "{name}");
        assert!(name["schema"].get("format").is_none(), "{name}");
        assert_eq!(schema_json(&op, "archived")["schema"]["type"], "boolean");
        // Only a nullable column offers `null`.
        assert!(
            schema_json(&op, "archived")["description"]
                .as_str()
                .unwrap()
                .contains("`null`")
        );
        assert!(!name["description"].as_str().unwrap().contains("`null`"));
        assert_eq!(
            schema_json(&op, "limit")["schema"]["maximum"],
            MAX_LIMIT as f64
        );
        let no_query = op
            .operation()
            .parameters
            .iter()
            .flatten()
            .any(|p| matches!(p, RefOr::T(p) if p.name == "secret"));
        assert!(!no_query, "a `no_query` column is not a parameter");
        let sort = schema_json(&op, "sort");
        assert!(
            !sort["description"].as_str().unwrap().contains("`secret`"),
            "{sort}"
        );
    }
}
