//! The to-do list: the model, its in-memory store and the `/todos` controller.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use cortex::prelude::*;
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationError};

use crate::auth::ApiKeyGuard;

/// A to-do item, as the API shows it.
#[schema_rules]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Todo {
    /// Assigned by the store, from 1.
    pub id: u64,
    /// 1 to 200 characters, not blank.
    pub title: String,
    /// Whether it is done.
    pub done: bool,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at: u64,
    /// When it last changed, in milliseconds since the Unix epoch.
    pub updated_at: u64,
}

/// The body of `POST /todos`.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTodo {
    /// The title.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub title: String,
    /// Whether it starts done; `false` when absent.
    #[serde(default)]
    pub done: bool,
}

/// The body of `PUT /todos/{id}`: every field, replaced.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceTodo {
    /// The new title.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub title: String,
    /// The new state.
    pub done: bool,
}

/// The body of `PATCH /todos/{id}`: the fields to change.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TodoPatch {
    /// A new title.
    #[validate(length(min = 1, max = 200), custom(function = "not_blank"))]
    pub title: Option<String>,
    /// A new state.
    pub done: Option<bool>,
}

/// The query of `GET /todos`.
#[schema_rules]
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only todos in this state.
    pub done: Option<bool>,
    /// At most this many (1 to 100; 50 when absent).
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<usize>,
}

fn not_blank(title: &str) -> Result<(), ValidationError> {
    if title.trim().is_empty() {
        Err(ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// The todos, in memory: a singleton shared by every request, bounded by `todo.max_todos`.
#[injectable]
pub struct TodoStore {
    #[inject(default)]
    todos: RwLock<BTreeMap<u64, Todo>>,
    #[inject(default)]
    last_id: AtomicU64,
    /// `todo.max_todos` in `cortex.toml`: an in-memory list must not grow without bound.
    #[inject(config = "todo.max_todos")]
    capacity: usize,
}

impl TodoStore {
    /// Reads the list. A panic while another request held the write lock poisons it: requests
    /// then answer 500 and readiness reports the store down, rather than serving data that may
    /// be half-written.
    pub fn read(&self) -> Result<RwLockReadGuard<'_, BTreeMap<u64, Todo>>, HttpError> {
        self.todos
            .read()
            .map_err(|_| HttpError::internal("the todo store's lock is poisoned"))
    }

    fn write(&self) -> Result<RwLockWriteGuard<'_, BTreeMap<u64, Todo>>, HttpError> {
        self.todos
            .write()
            .map_err(|_| HttpError::internal("the todo store's lock is poisoned"))
    }

    /// How many todos the store holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// The time of the request: read once, when a handler of the request first asks for it, so every
/// timestamp one request writes is the same instant.
///
/// Request-scoped: each request gets its own, shared by every `Inject<RequestTime>` of that
/// request, dropped with it. A singleton could not depend on it — the container refuses that at
/// startup.
#[injectable(scope = "request")]
pub struct RequestTime {
    #[inject(value = unix_millis())]
    millis: u64,
}

impl RequestTime {
    /// Milliseconds since the Unix epoch.
    pub fn millis(&self) -> u64 {
        self.millis
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn not_found(id: u64) -> HttpError {
    HttpError::not_found(format!("there is no todo {id}"))
}

/// `/todos`: create, list, show, replace, change and delete todos.
#[controller("/todos")]
pub struct TodoController {
    store: Inject<TodoStore>,
}

#[routes]
impl TodoController {
    /// `GET /todos?done=true&limit=10`: oldest first.
    #[get("/")]
    async fn list(
        &self,
        Valid(Query(query)): Valid<Query<ListQuery>>,
    ) -> Result<Json<Vec<Todo>>, HttpError> {
        let todos = self.store.read()?;
        let wanted = todos
            .values()
            .filter(|t| query.done.is_none_or(|done| t.done == done));
        Ok(Json(
            wanted.take(query.limit.unwrap_or(50)).cloned().collect(),
        ))
    }

    /// `POST /todos`: `201 Created`, `Location: /todos/{id}`.
    #[post("/")]
    async fn create(
        &self,
        now: Inject<RequestTime>,
        Valid(Json(new)): Valid<Json<NewTodo>>,
    ) -> Result<Created<Todo>, HttpError> {
        let mut todos = self.store.write()?;
        if todos.len() >= self.store.capacity {
            return Err(HttpError::conflict(format!(
                "the list is full ({} todos); delete some first",
                self.store.capacity
            )));
        }
        let id = self.store.last_id.fetch_add(1, Ordering::Relaxed) + 1;
        let todo = Todo {
            id,
            title: new.title.trim().to_string(),
            done: new.done,
            created_at: now.millis(),
            updated_at: now.millis(),
        };
        todos.insert(id, todo.clone());
        Ok(Created::at(format!("/todos/{id}"), todo))
    }

    /// `GET /todos/{id}`.
    #[get("/{id}")]
    async fn show(&self, Path(id): Path<u64>) -> Result<Json<Todo>, HttpError> {
        self.store
            .read()?
            .get(&id)
            .cloned()
            .map(Json)
            .ok_or_else(|| not_found(id))
    }

    /// `PUT /todos/{id}`: replaces the title and the state.
    #[put("/{id}")]
    async fn replace(
        &self,
        Path(id): Path<u64>,
        now: Inject<RequestTime>,
        Valid(Json(body)): Valid<Json<ReplaceTodo>>,
    ) -> Result<Json<Todo>, HttpError> {
        let mut todos = self.store.write()?;
        let todo = todos.get_mut(&id).ok_or_else(|| not_found(id))?;
        todo.title = body.title.trim().to_string();
        todo.done = body.done;
        todo.updated_at = now.millis();
        Ok(Json(todo.clone()))
    }

    /// `PATCH /todos/{id}`: changes the fields given; `{}` changes nothing.
    #[patch("/{id}")]
    async fn update(
        &self,
        Path(id): Path<u64>,
        now: Inject<RequestTime>,
        Valid(Json(patch)): Valid<Json<TodoPatch>>,
    ) -> Result<Json<Todo>, HttpError> {
        let mut todos = self.store.write()?;
        let todo = todos.get_mut(&id).ok_or_else(|| not_found(id))?;
        // An empty patch changes nothing, as in JSON Merge Patch (RFC 7396).
        if patch.title.is_none() && patch.done.is_none() {
            return Ok(Json(todo.clone()));
        }
        if let Some(title) = patch.title {
            todo.title = title.trim().to_string();
        }
        if let Some(done) = patch.done {
            todo.done = done;
        }
        todo.updated_at = now.millis();
        Ok(Json(todo.clone()))
    }

    /// `DELETE /todos/{id}`: only with the API key.
    #[delete("/{id}")]
    #[guard(inject = ApiKeyGuard)]
    async fn remove(&self, Path(id): Path<u64>) -> Result<NoContent, HttpError> {
        match self.store.write()?.remove(&id) {
            Some(_) => Ok(NoContent),
            None => Err(not_found(id)),
        }
    }
}
