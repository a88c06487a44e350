//! `blog`: posts and comments in a real database, on Cortex's data layer — SQLite by default,
//! PostgreSQL by changing `[database] url` (built with `--features postgres`).
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /posts?limit=&after=` | newest first, a page at a time (keyset: `next_cursor` goes into `after`), each post with its comments, loaded for the whole page in one query |
//! | `POST /posts` | creates one: `201 Created` with `Location: /posts/{id}` |
//! | `GET /posts/{id}` | one post with its comments, or `404` problem details |
//! | `PUT /posts/{id}` | replaces `title` and `body`, given the `version` read: a stale version is `409 Conflict` (optimistic locking) |
//! | `DELETE /posts/{id}` | `204 No Content`; its comments go with it |
//! | `GET /posts/{id}/comments?limit=&after=` | the post's comments, oldest first, a page at a time |
//! | `POST /posts/{id}/comments` | adds one: `201 Created` (`404` when the post does not exist) |
//!
//! Bad input — malformed JSON, unknown fields, a blank or too long title, a limit out of range, a
//! cursor that is not one — is answered with `application/problem+json`.
//!
//! The migrations (`migrations/`, one file per dialect where the DDL differs) are embedded and run
//! at start; `tests/blog.rs` runs on a database of its own per test, SQLite or the server
//! `CORTEX_TEST_DATABASE_URL` names.

pub mod posts;

cortex::data::app_migrations!("migrations");
