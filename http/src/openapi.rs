//! OpenAPI 3.1 documents, built the same way by every service: the same skeleton (bearer
//! security on every route unless marked public, the `Error` schema, the `/metrics` and
//! `/openapi.json` routes), operations with their error statuses, and the route that serves the
//! document.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The schema reference of the `{"error": code, "message": text}` answer.
pub fn error_schema() -> Value {
    json!({"$ref": "#/components/schemas/Error"})
}

/// An OpenAPI 3.1 document under construction.
#[derive(Clone, Debug)]
pub struct OpenApi {
    doc: Value,
}

impl OpenApi {
    /// A document with this title, version and description: bearer authentication on every
    /// operation (unless [`Operation::public`]), the `Error` schema, and the public `/metrics`
    /// and `/openapi.json` operations that [`crate::Metrics::routes`] and [`OpenApi::routes`]
    /// serve.
    pub fn new(title: &str, version: &str, description: impl Into<String>) -> Self {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": title, "version": version, "description": description.into()},
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                "schemas": {
                    "Error": {
                        "type": "object",
                        "required": ["error", "message"],
                        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
            "security": [{"bearer": []}],
            "paths": {},
        });
        Self { doc }
            .operation(
                "/metrics",
                "get",
                Operation::new("Prometheus metrics")
                    .public()
                    .response("200", json!({"description": "text exposition"})),
            )
            .operation(
                "/openapi.json",
                "get",
                Operation::new("This document")
                    .public()
                    .ok("200", "OpenAPI document"),
            )
    }

    /// Adds a schema under `#/components/schemas/{name}`.
    pub fn schema(mut self, name: &str, schema: Value) -> Self {
        self.doc["components"]["schemas"][name] = schema;
        self
    }

    /// Adds the operation of `method` (`get`, `post`, `delete`, ...) on `path`.
    pub fn operation(mut self, path: &str, method: &str, operation: Operation) -> Self {
        self.doc["paths"][path][method] = Value::Object(operation.0);
        self
    }

    /// Parameters shared by every operation on `path`.
    pub fn path_parameters(mut self, path: &str, params: impl IntoIterator<Item = Param>) -> Self {
        self.doc["paths"][path]["parameters"] = params.into_iter().map(|p| p.0).collect();
        self
    }

    /// The document.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// The document, by value.
    pub fn into_document(self) -> Value {
        self.doc
    }

    /// `GET /openapi.json`: the document, without authentication.
    pub fn routes<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let doc = Arc::new(self.doc);
        Router::new().route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
    }
}

/// One operation of a document.
#[derive(Clone, Debug)]
pub struct Operation(Map<String, Value>);

impl Operation {
    /// An operation with this summary.
    pub fn new(summary: impl Into<String>) -> Self {
        let mut m = Map::new();
        m.insert("summary".into(), Value::String(summary.into()));
        Self(m)
    }

    /// Adds a parameter.
    pub fn param(mut self, param: Param) -> Self {
        let params = self
            .0
            .entry("parameters")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = params {
            a.push(param.0);
        }
        self
    }

    /// A JSON request body with this schema.
    pub fn json_body(self, schema: Value) -> Self {
        self.body("application/json", json!({"schema": schema}))
    }

    /// A request body of this media type (`media` is the media type object, `{}` for any).
    pub fn body(mut self, media_type: &str, media: Value) -> Self {
        self.0.insert(
            "requestBody".into(),
            json!({"content": {media_type: media}}),
        );
        self
    }

    /// A JSON answer with this status and description.
    pub fn ok(self, status: &str, description: &str) -> Self {
        self.response(
            status,
            json!({"description": description, "content": {"application/json": {}}}),
        )
    }

    /// A JSON answer with this status, description and schema.
    pub fn ok_schema(self, status: &str, description: &str, schema: Value) -> Self {
        self.response(
            status,
            json!({"description": description, "content": {"application/json": {"schema": schema}}}),
        )
    }

    /// An answer with this status (`response` is the response object).
    pub fn response(mut self, status: &str, response: Value) -> Self {
        let responses = self
            .0
            .entry("responses")
            .or_insert_with(|| Value::Object(Map::new()));
        responses[status] = response;
        self
    }

    /// `{"error", "message"}` answers with these statuses.
    pub fn errors(self, statuses: &[&str]) -> Self {
        statuses.iter().fold(self, |op, s| {
            op.response(
                s,
                json!({"description": "error", "content": {"application/json": {"schema": error_schema()}}}),
            )
        })
    }

    /// Needs no token.
    pub fn public(mut self) -> Self {
        self.0.insert("security".into(), json!([]));
        self
    }
}

/// A parameter of an operation.
#[derive(Clone, Debug)]
pub struct Param(Value);

impl Param {
    /// A path parameter (always required) with this schema.
    pub fn path(name: &str, schema: Value) -> Self {
        Self(json!({"name": name, "in": "path", "required": true, "schema": schema}))
    }

    /// An optional query parameter with this schema.
    pub fn query(name: &str, schema: Value) -> Self {
        Self(json!({"name": name, "in": "query", "schema": schema}))
    }

    /// The same parameter, required.
    pub fn required(mut self) -> Self {
        self.0["required"] = true.into();
        self
    }

    /// The same parameter, with a description.
    pub fn description(mut self, description: &str) -> Self {
        self.0["description"] = description.into();
        self
    }
}
