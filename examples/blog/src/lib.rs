//! `blog`: posts and comments in a real database, on Cortex's data layer — SQLite by default,
//! PostgreSQL by changing `[database] url` (built with `--features postgres`) — with users,
//! tokens and roles from `cortex::auth`.
//!
//! | route | who | what it does |
//! | --- | --- | --- |
//! | `POST /auth/register` | anyone | makes an author (`email`, `password`): `201`, `409` when the email is taken |
//! | `POST /auth/login` | anyone | a token pair (`access_token`, `refresh_token`); `401` for a wrong email or password alike |
//! | `POST /auth/refresh` | anyone | a new pair for a refresh token, which is spent (sent again, it revokes the login's tokens) |
//! | `POST /auth/logout` | anyone | revokes the refresh token's login |
//! | `GET /posts?limit=&after=` | anyone | newest first, a page at a time (keyset: `next_cursor` goes into `after`), each post with its comments, loaded for the whole page in one query |
//! | `POST /posts` | authors | creates one as the token's user: `201 Created` with `Location: /posts/{id}` |
//! | `GET /posts/{id}` | anyone | one post with its comments, or `404` problem details |
//! | `PUT /posts/{id}` | its author, admins | replaces `title` and `body`, given the `version` read: a stale version is `409 Conflict` (optimistic locking) |
//! | `DELETE /posts/{id}` | its author, admins | `204 No Content`; its comments go with it |
//! | `GET /posts/{id}/comments?limit=&after=` | anyone | the post's comments, oldest first, a page at a time |
//! | `POST /posts/{id}/comments` | anyone | adds one: `201 Created` (`404` when the post does not exist) |
//! | `GET /admin/stats` | admins | how many users, posts and comments |
//! | `DELETE /admin/comments/{id}` | admins | deletes a comment |
//!
//! "authors" is `#[guard(Role("author"))]` (admins inherit the role: `[auth.roles]` in
//! `cortex.toml`), "its author, admins" is that and `PostPolicy`, "admins" is
//! `#[guard(Role("admin"))]`, "anyone" is `#[public]`: `[auth] deny_by_default = true` stops the
//! app at start if a route has neither. Without a valid token a guarded route answers `401`;
//! with one but not allowed, `403`.
//!
//! Bad input — malformed JSON, unknown fields, a blank or too long title, a limit out of range, a
//! cursor that is not one — is answered with `application/problem+json`.
//!
//! The migrations (`migrations/`, one file per dialect where the DDL differs) are embedded and run
//! at start; `tests/blog.rs` runs on a database of its own per test, SQLite or the server
//! `CORTEX_TEST_DATABASE_URL` names.

pub mod admin;
pub mod posts;
pub mod users;

cortex::data::app_migrations!("migrations");
