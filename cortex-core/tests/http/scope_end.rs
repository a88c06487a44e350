//! The HTTP layer finishes each request's scope with the response status, so `OnScopeEnd` hooks
//! (a request-scoped transaction's commit or rollback) run before the client hears the answer.

use std::sync::Mutex;

use axum::body::Body;
use cortex_core::App;
use cortex_core::http::HttpError;
use cortex_di::{Inject, OnScopeEnd, ScopeOutcome, injectable};
use cortex_macros::{controller, routes};
use http::{Request, StatusCode};
use tower::ServiceExt;

static ENDED: Mutex<Vec<(String, bool, Option<u16>)>> = Mutex::new(Vec::new());

/// A request-scoped unit of work; `#[injectable]` hooks up its `OnScopeEnd`.
#[injectable(scope = "request", profile = "scope-end-test")]
struct UnitOfWork {
    #[inject(default)]
    label: Mutex<String>,
}

impl OnScopeEnd for UnitOfWork {
    async fn on_scope_end(&self, outcome: &ScopeOutcome) {
        tokio::task::yield_now().await; // a real await, as a commit would have
        let label = self.label.lock().unwrap().clone();
        ENDED
            .lock()
            .unwrap()
            .push((label, outcome.is_success(), outcome.status()));
    }
}

#[controller("/work", profile = "scope-end-test")]
struct WorkController;

#[routes]
impl WorkController {
    #[get("/ok")]
    async fn ok(&self, work: Inject<UnitOfWork>) -> &'static str {
        *work.label.lock().unwrap() = "ok".into();
        "done"
    }

    #[get("/conflict")]
    async fn conflict(&self, work: Inject<UnitOfWork>) -> Result<&'static str, HttpError> {
        *work.label.lock().unwrap() = "conflict".into();
        Err(HttpError::conflict("already there"))
    }

    #[get("/untouched")]
    async fn untouched(&self) -> &'static str {
        "no unit of work"
    }
}

#[tokio::test]
async fn the_request_scope_ends_with_the_response_status() {
    let app = App::new()
        .container(|b| {
            b.profile("scope-end-test");
        })
        .discover()
        .build()
        .await
        .unwrap();
    assert!(app.container().has_scope_end_hooks());
    for (uri, status) in [
        ("/work/ok", StatusCode::OK),
        ("/work/conflict", StatusCode::CONFLICT),
        ("/work/untouched", StatusCode::OK),
    ] {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let response = app.router().oneshot(request).await.unwrap();
        assert_eq!(response.status(), status, "{uri}");
    }
    // The hooks ran before each answer was returned: no waiting needed here.
    let ended = ENDED.lock().unwrap().clone();
    assert_eq!(
        ended,
        [
            ("ok".to_string(), true, Some(200)),
            ("conflict".to_string(), false, Some(409)),
        ]
    );
}
