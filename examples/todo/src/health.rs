//! The store's readiness check.

use cortex::prelude::*;

use crate::todos::TodoStore;

/// Reports the todo store down when its lock is poisoned (a handler panicked mid-write), so that a
/// load balancer stops sending traffic to this instance; degraded when it is full (reads still
/// work, new todos are refused). Shown as `todos` in `/health/ready`.
///
/// An `#[injectable]` that implements `HealthCheck` is registered as a health check, named by
/// `NAME`; the startup log lists the checks found.
#[injectable]
pub struct TodoStoreHealth {
    store: Inject<TodoStore>,
}

impl HealthCheck for TodoStoreHealth {
    const NAME: &'static str = "todos";

    async fn check(&self) -> HealthStatus {
        match self.store.read() {
            Ok(todos) if todos.len() >= self.store.capacity() => {
                HealthStatus::degraded(format!("the store is full ({} todos)", todos.len()))
            }
            Ok(_) => HealthStatus::Healthy,
            Err(_) => HealthStatus::unhealthy("the store's lock is poisoned"),
        }
    }
}
