//! `GET /slow?ms=300`: a deliberately slow route, served in the `test` profile only, for the
//! graceful-shutdown test (requests in flight when SIGTERM arrives must complete).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cortex::prelude::*;
use serde::{Deserialize, Serialize};
use validator::Validate;

/// The query of `GET /slow`.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, IntoParams)]
pub struct SlowQuery {
    /// How long to take, in milliseconds (at most 10 s).
    #[validate(range(max = 10_000))]
    pub ms: u64,
}

/// What `GET /slow` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Slept {
    /// The milliseconds slept.
    pub slept_ms: u64,
}

/// Answers after `ms` milliseconds, and counts the requests it started and finished; the counts
/// are logged at shutdown (`slow requests started=N finished=N`), after the server has drained.
#[controller("/slow", profile = "test")]
pub struct SlowController {
    #[inject(default)]
    started: AtomicU64,
    #[inject(default)]
    finished: AtomicU64,
}

#[routes]
impl SlowController {
    /// `GET /slow?ms=300`.
    #[get("/")]
    async fn slow(&self, Valid(Query(query)): Valid<Query<SlowQuery>>) -> Json<Slept> {
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(query.ms)).await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        Json(Slept { slept_ms: query.ms })
    }
}

impl OnShutdown for SlowController {
    async fn on_shutdown(&self) {
        let (started, finished) = (
            self.started.load(Ordering::SeqCst),
            self.finished.load(Ordering::SeqCst),
        );
        tracing::info!(started, finished, "slow requests");
    }
}
