//! `todo`: an in-memory to-do list on Cortex — CRUD with validation, problem details, a guard, a
//! request-scoped service and a readiness check.
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /todos?done=&limit=` | lists todos, oldest first (`limit` 1–100, default 50) |
//! | `POST /todos` | creates one: `201 Created` with `Location: /todos/{id}` |
//! | `GET /todos/{id}` | one todo, or `404` problem details |
//! | `PUT /todos/{id}` | replaces `title` and `done` |
//! | `PATCH /todos/{id}` | changes `title`, `done` or both (`{}` changes nothing) |
//! | `DELETE /todos/{id}` | needs the API key (`x-api-key`, from `todo.api_key`): `204 No Content` |
//! | `GET /health/ready` | includes the `todos` check ([`health`]) |
//!
//! Bad input — malformed JSON, unknown fields, a blank or too long title, a non-numeric id — is
//! answered with `application/problem+json`, with field-level `errors` for validation.
//!
//! The binary (`src/main.rs`) is the usual `App::from_config()?.discover().run()`; everything it
//! serves lives here so that the integration test builds the very same app in-process.

pub mod auth;
pub mod drain;
pub mod health;
pub mod todos;
