//! The sessions tests' app: routes that log in, read the user, log out, hand out the CSRF token,
//! and a stand-in for the core layer (authenticate → handler → finish) around them.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cortex_auth::{
    AuthFailure, AuthOutcome, Authenticator, CsrfToken, CurrentUser, Session, SessionAuthenticator,
    SessionClock, SessionConfig, SessionStore,
};
use cortex_core::App;
use cortex_core::config::Profile;
use cortex_core::http::HttpError;
use cortex_core::testing::TestApp;
use http::{Extensions, StatusCode};

/// A key (base64 of 32 bytes).
pub(crate) const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Another key.
pub(crate) const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
/// The clock's start.
pub(crate) const T0: u64 = 1_700_000_000;

/// `[auth.sessions]` with `keys`, not `secure` (cookie `session`).
pub(crate) fn config(keys: &[&str]) -> SessionConfig {
    let toml = format!(
        "[auth.sessions]\nenabled = true\nsecure = false\nidle_timeout = '30m'\nabsolute_timeout = '2h'\ntrusted_origins = ['https://admin.example.com']\nsecret_keys = [{}]",
        keys.iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let config = cortex_core::config::Config::from_toml(&toml).unwrap();
    cortex_auth::AuthConfig::from_config(&config)
        .unwrap()
        .sessions
}

/// What the core layer does, for the session authenticator alone: a CSRF refusal answers `403`,
/// another failure leaves the request anonymous (the guard's `401`), the user goes into the
/// extensions as an [`AuthOutcome`].
async fn layer(
    State(auth): State<Arc<SessionAuthenticator>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let mut state = Extensions::new();
    let outcome = match auth.authenticate(&mut parts, &mut state).await {
        Ok(Some(user)) => AuthOutcome::User(user),
        Ok(None) => AuthOutcome::Anonymous,
        Err(AuthFailure::Csrf(_)) => {
            let mut response =
                HttpError::forbidden("the request failed the CSRF checks").into_response();
            auth.finish(&mut state, &mut response).await;
            return response;
        }
        Err(failure) => AuthOutcome::Failed {
            by: "session",
            code: failure.code(),
            unavailable: matches!(failure, AuthFailure::Store(_)),
        },
    };
    parts.extensions.insert(outcome);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    auth.finish(&mut state, &mut response).await;
    response
}

fn user(request: &Request) -> Result<CurrentUser, HttpError> {
    request
        .extensions()
        .get::<AuthOutcome>()
        .and_then(AuthOutcome::user)
        .cloned()
        .ok_or_else(|| HttpError::unauthorized("authentication is required"))
}

async fn login(session: Session) -> &'static str {
    session.login(
        &CurrentUser::builder("ada")
            .roles(["admin"])
            .permissions(["posts:write"])
            .build(),
    );
    "logged in"
}

async fn me(request: Request) -> Result<String, HttpError> {
    Ok(user(&request)?.id().to_string())
}

async fn action(request: Request) -> Result<String, HttpError> {
    Ok(format!("done by {}", user(&request)?.id()))
}

async fn logout(session: Session) -> StatusCode {
    session.logout();
    StatusCode::NO_CONTENT
}

async fn csrf(token: CsrfToken) -> String {
    token.as_str().to_string()
}

async fn put_value(session: Session, body: String) -> StatusCode {
    session.insert("note", body).unwrap();
    StatusCode::NO_CONTENT
}

async fn get_value(session: Session) -> String {
    session.get::<String>("note").unwrap_or_default()
}

/// The authenticator on `store`, judged by `clock`.
pub(crate) fn authenticator(
    keys: &[&str],
    store: impl SessionStore,
    clock: &SessionClock,
) -> Arc<SessionAuthenticator> {
    Arc::new(
        SessionAuthenticator::new(&config(keys), &Profile::TEST, store)
            .unwrap()
            .with_clock(clock.clone()),
    )
}

/// The app: `POST /login`, `GET /me`, `POST /action`, `POST /logout`, `GET /csrf`,
/// `PUT|GET /value`.
pub(crate) async fn app(auth: Arc<SessionAuthenticator>) -> TestApp {
    let router = Router::new()
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/action", post(action))
        .route("/logout", post(logout))
        .route("/csrf", get(csrf))
        .route("/value", get(get_value).put(put_value));
    TestApp::new(
        App::new()
            .router(router)
            .layer(from_fn_with_state(auth, layer)),
    )
    .await
}
