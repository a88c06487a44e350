//! Tasks (`App::task`): run on the built app instead of serving, listed by inspection, with the
//! app's start and shutdown around them. `cortex run` runs them in the binary: examples/hello's
//! tests check the exit status there.

use std::sync::{Arc, Mutex};

use cortex_core::inspect::inspect_app;
use cortex_core::{App, AppError, ShutdownSignal};
use cortex_di::{BoxError, Container};

type Events = Arc<Mutex<Vec<String>>>;

/// An app whose start, tasks and shutdown write to `events`.
fn app(events: &Events) -> App {
    let push = |events: &Events, event: &'static str| {
        let events = events.clone();
        move |_: Container| {
            let events = events.clone();
            async move {
                events.lock().unwrap().push(event.to_string());
                Ok::<(), BoxError>(())
            }
        }
    };
    let seed_events = events.clone();
    App::new()
        .on_start(push(events, "on_start"))
        .on_ready(push(events, "on_ready"))
        .on_shutdown(push(events, "on_shutdown"))
        .task("db:seed", move |container: Container| {
            let events = seed_events.clone();
            async move {
                let signal = container.get::<ShutdownSignal>()?;
                let watcher = ShutdownSignal::clone(&signal);
                let tracked = events.clone();
                signal.spawn_tracked("seed flusher", async move {
                    watcher.tripped().await;
                    tracked.lock().unwrap().push("flushed".to_string());
                });
                events.lock().unwrap().push("db:seed".to_string());
                Ok(())
            }
        })
        .task("fail", |_| async {
            Err("the table `users` is missing".into())
        })
}

#[tokio::test]
async fn a_task_runs_after_the_start_hooks_and_the_app_shuts_down_after_it() {
    let events = Events::default();
    let built = app(&events).build().await.unwrap();
    assert_eq!(built.task_names(), ["db:seed", "fail"]);
    built.run_task("db:seed").await.unwrap();
    assert_eq!(
        *events.lock().unwrap(),
        ["on_start", "db:seed", "flushed", "on_shutdown"],
        "no on_ready (nothing serves); tracked work is waited for before on_shutdown"
    );
}

#[tokio::test]
async fn a_failing_task_is_an_error_naming_it_and_the_app_still_shuts_down() {
    let events = Events::default();
    let err = app(&events)
        .build()
        .await
        .unwrap()
        .run_task("fail")
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::TaskFailed { ref task, .. } if task == "fail"));
    assert_eq!(
        err.to_string(),
        "task `fail` failed: the table `users` is missing"
    );
    assert_eq!(*events.lock().unwrap(), ["on_start", "on_shutdown"]);
}

#[tokio::test]
async fn an_unknown_task_names_the_known_ones_and_the_nearest() {
    let events = Events::default();
    let err = app(&events)
        .build()
        .await
        .unwrap()
        .run_task("db:sed")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown task `db:sed`: the app's tasks are db:seed, fail; did you mean `db:seed`?"
    );
}

#[tokio::test]
async fn two_tasks_with_one_name_fail_the_build() {
    let err = App::new()
        .task("seed", |_| async { Ok(()) })
        .task("seed", |_| async { Ok(()) })
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "two tasks are named `seed`; hint: give each `App::task` its own name"
    );
}

#[tokio::test]
async fn inspection_lists_the_tasks_without_running_the_start_hooks() {
    let events = Events::default();
    let listed = inspect_app(app(&events), "tasks").await.unwrap();
    let names: Vec<String> = serde_json::from_str(&listed).unwrap();
    assert_eq!(names, ["db:seed", "fail"]);
    assert!(events.lock().unwrap().is_empty());
}
