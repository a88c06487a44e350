//! Every handler shape `#[routes]` accepts, described in the OpenAPI document whether or not
//! its types derive `ToSchema`.
// A program, not a library: its items need no docs.
#![allow(missing_docs, unreachable_pub)]

use cortex::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
struct User {
    id: u32,
    name: String,
}

#[derive(serde::Deserialize, validator::Validate, utoipa::ToSchema)]
struct NewUser {
    #[validate(length(min = 2))]
    name: String,
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct Page {
    page: Option<u32>,
}

/// No `ToSchema`: it still compiles.
#[derive(serde::Serialize, serde::Deserialize)]
struct Note {
    text: String,
}

#[injectable]
struct Clock;

struct AdminOnly;

impl Guard for AdminOnly {
    async fn check(&self, _request: &mut http::request::Parts) -> Result<(), HttpError> {
        Ok(())
    }
}

#[controller("/users")]
struct UserController {
    clock: Inject<Clock>,
}

#[routes]
impl UserController {
    /// List users
    #[get("/")]
    async fn list(&self, Query(page): Query<Page>) -> Json<Vec<User>> {
        let _ = (&self.clock, page.page);
        Json(Vec::new())
    }

    #[get("/{id}")]
    async fn show(&self, Path(id): Path<u32>) -> Result<Json<User>, HttpError> {
        Err(HttpError::not_found(format!("no user {id}")))
    }

    #[post("/")]
    #[guard(AdminOnly)]
    async fn create(&self, Valid(Json(user)): Valid<Json<NewUser>>) -> Created<User> {
        Created::new(User {
            id: 1,
            name: user.name,
        })
    }

    #[route(PUT, "/{id}/note")]
    async fn note(
        &self,
        Path(_id): Path<u32>,
        _clock: Inject<Clock>,
        Json(note): Json<Note>,
    ) -> Json<Note> {
        Json(note)
    }

    /// A plain `fn` handler.
    #[delete("/{id}")]
    fn remove(&self, Path(_id): Path<u32>) -> NoContent {
        NoContent
    }

    #[get("/stream")]
    async fn stream(&self) -> impl cortex::axum::response::IntoResponse {
        "chunks"
    }

    // Attributes of Rust and other crates pass through `#[routes]`, even near a route's name.
    #[get("/ping")]
    #[allow(clippy::unused_async)]
    #[doc(alias = "pong")]
    async fn ping() -> &'static str {
        "pong"
    }

    #[get("/status")]
    async fn status(&self) -> http::StatusCode {
        http::StatusCode::NO_CONTENT
    }

    #[must_use]
    #[deny(warnings)]
    fn helper(&self) -> u32 {
        7
    }
}

#[cortex::main]
async fn main() -> cortex::Result<()> {
    let app = App::new()
        .register::<Clock>()
        .controller::<UserController>()
        .build()
        .await?;
    let spec = app.openapi().expect("enabled by default");
    assert!(spec.document().paths.paths.contains_key("/users/{id}"));
    let _ = UserController::helper;
    Ok(())
}

// Built as an example with `test = true` (see Cargo.toml), so that this runs under the test
// runner: the program's `main`, which must succeed.
#[test]
fn runs() {
    assert_eq!(main(), std::process::ExitCode::SUCCESS);
}
