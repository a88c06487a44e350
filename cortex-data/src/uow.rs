//! [`UnitOfWork`]: one transaction for a whole request, committed when the handler succeeds.

use cortex_di::{OnScopeEnd, ScopeOutcome};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::db::Db;
use crate::error::DataError;
use crate::tx::Tx;

/// A request's unit of work: a transaction that begins when the request first asks for it and
/// ends with the request — committed when the handler answered a success (1xx–3xx), rolled back
/// otherwise (4xx, 5xx, a panic answered 500, a scope closed without an outcome).
///
/// Opt-in: the [`DataPlugin`](crate::DataPlugin) binds it request-scoped, and a request that
/// does not inject it opens no transaction. A handler (or any request-scoped service of the
/// request: they share the one instance) takes `Inject<UnitOfWork>` and runs its queries on
/// [`tx`](Self::tx):
///
/// ```
/// use cortex_core::{App, config::Config, http::HttpError, routing::Route, testing::TestApp};
/// use cortex_data::{DataError, DataPlugin, UnitOfWork};
/// use cortex_di::{Dependency, Inject};
///
/// async fn create(uow: Inject<UnitOfWork>) -> Result<&'static str, HttpError> {
///     let mut tx = uow.tx().await?;
///     let conn = &mut **tx.sqlite().unwrap(); // or a repository: `posts.on(&mut tx)`
///     sqlx::query("INSERT INTO notes VALUES ('one')").execute(&mut *conn).await.map_err(DataError::from)?;
///     sqlx::query("INSERT INTO notes VALUES ('two')").execute(&mut *conn).await.map_err(DataError::from)?;
///     Ok("created")
/// } // a success: both rows are committed together; an error: neither is
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let url = format!("sqlite://{}", dir.path().join("app.db").display());
/// let config = Config::from_toml(&format!("[database]\nurl = '{url}'"))?;
/// let app = App::with_config(config)
///     .plugin(DataPlugin)
///     .route(Route::post("/notes", "create", create).with_dependency(Dependency::on::<UnitOfWork>()));
/// let app = TestApp::new(app).await;
/// # let db = app.container().get::<cortex_data::Db>()?;
/// # sqlx::query("CREATE TABLE notes (body TEXT)").execute(db.sqlite().unwrap()).await?;
/// app.post("/notes").await.assert_status(200);
/// # let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes").fetch_one(db.sqlite().unwrap()).await?;
/// # assert_eq!(n, 2);
/// # Ok(()) }
/// ```
///
/// The commit runs when the request scope ends, after the handler, before the response is sent.
/// A commit that fails then cannot change the status the handler chose: it is logged (error,
/// target `cortex::data`). Where the client must hear about it, call [`commit`](Self::commit)
/// in the handler and answer its error.
pub struct UnitOfWork {
    db: Db,
    state: Mutex<State>,
}

enum State {
    /// No transaction begun yet.
    Idle,
    /// Begun on first use.
    Open(Tx),
    /// Committed or rolled back: a later `tx()` is an error.
    Ended,
}

impl UnitOfWork {
    /// A unit of work on `db` (the plugin makes one per request that asks).
    pub fn new(db: Db) -> UnitOfWork {
        UnitOfWork {
            db,
            state: Mutex::new(State::Idle),
        }
    }

    /// The request's transaction, begun now if this is the first call. The guard holds it until
    /// dropped: another task of the same request asking meanwhile waits.
    ///
    /// # Errors
    /// [`DataError::Unavailable`] when no connection can be had; [`DataError::Config`] when the
    /// unit of work was already committed or rolled back (by [`commit`](Self::commit) or
    /// [`rollback`](Self::rollback)).
    pub async fn tx(&self) -> Result<MappedMutexGuard<'_, Tx>, DataError> {
        let mut state = self.state.lock().await;
        match &*state {
            State::Open(_) => {}
            State::Idle => *state = State::Open(self.db.begin().await?),
            State::Ended => {
                return Err(DataError::Config {
                    message: "the request's unit of work was already committed or rolled back; hint: use `Db::transaction` for a second transaction in one request".to_string(),
                });
            }
        }
        Ok(MutexGuard::map(state, |state| match state {
            State::Open(tx) => tx,
            // Set to `Open` just above, under the same lock.
            State::Idle | State::Ended => unreachable!("the unit of work's transaction is open"),
        }))
    }

    /// Whether a transaction has begun (and not ended yet).
    pub async fn is_open(&self) -> bool {
        matches!(*self.state.lock().await, State::Open(_))
    }

    /// Commits now, so that the handler can answer a failed commit; the end of the request then
    /// has nothing left to do. Nothing happens when no transaction was begun.
    ///
    /// # Errors
    /// The database's refusal (a deferred constraint) or a lost connection.
    pub async fn commit(&self) -> Result<(), DataError> {
        let state = std::mem::replace(&mut *self.state.lock().await, State::Ended);
        match state {
            State::Open(tx) => tx.commit().await.map_err(|e| self.db.named(e)),
            State::Idle | State::Ended => Ok(()),
        }
    }

    /// Rolls back now (the end of the request then has nothing left to do). Nothing happens when
    /// no transaction was begun.
    ///
    /// # Errors
    /// A lost connection (the transaction is not committed either way).
    pub async fn rollback(&self) -> Result<(), DataError> {
        let state = std::mem::replace(&mut *self.state.lock().await, State::Ended);
        match state {
            State::Open(tx) => tx.rollback().await.map_err(|e| self.db.named(e)),
            State::Idle | State::Ended => Ok(()),
        }
    }
}

impl OnScopeEnd for UnitOfWork {
    async fn on_scope_end(&self, outcome: &ScopeOutcome) {
        let open = matches!(*self.state.lock().await, State::Open(_));
        if !open {
            return;
        }
        if outcome.is_success() {
            if let Err(error) = self.commit().await {
                tracing::error!(target: "cortex::data", url = self.db.url(), status = ?outcome.status(), error = %error, "the request's unit of work could not commit");
            }
        } else if let Err(error) = self.rollback().await {
            tracing::warn!(target: "cortex::data", url = self.db.url(), error = %error, "the request's unit of work could not roll back");
        }
    }
}

impl std::fmt::Debug for UnitOfWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnitOfWork")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}
