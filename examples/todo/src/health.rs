//! The store's readiness check.

use cortex::health::BoxFuture;
use cortex::prelude::*;

use crate::todos::TodoStore;

/// Reports the todo store down when its lock is poisoned (a handler panicked mid-write), so that a
/// load balancer stops sending traffic to this instance. Shown as `todos` in `/health/ready`.
///
/// Bound as `dyn HealthCheck` under the name `todos`; the app collects every `HealthCheck`.
#[injectable(provides = dyn HealthCheck, name = "todos")]
pub struct TodoStoreHealth {
    store: Inject<TodoStore>,
}

impl HealthCheck for TodoStoreHealth {
    fn name(&self) -> &str {
        "todos"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        let outcome = match self.store.read() {
            Ok(todos) if todos.len() >= self.store.capacity() => {
                Err(format!("the store is full ({} todos)", todos.len()))
            }
            Ok(_) => Ok(()),
            Err(_) => Err("the store's lock is poisoned".to_string()),
        };
        Box::pin(std::future::ready(outcome))
    }
}
