//! The `events:dead-letters:*` tasks that `cortex events dead-letters …` runs in the app's binary
//! (registered by the [`EventsPlugin`](crate::EventsPlugin)).
//!
//! | task | does | arguments (`CORTEX_TASK_ARGS`) |
//! | --- | --- | --- |
//! | `events:dead-letters:list` | lists the dead letters, oldest first: a table, or JSON | `[--handler H] [--topic PATTERN] [--limit N] [--json]` |
//! | `events:dead-letters:replay` | hands letters to their handler again; a letter handled is removed | `--handler H --id ID`, or `--all [--handler H] [--topic PATTERN]` |
//!
//! The replay prints one line per letter and fails (the process exits non-zero) when any letter
//! failed again. Dead letters kept in memory (`[events] dead_letters = "memory"`, the default)
//! belong to one process: a task sees only its own, so these tasks are for the database store.

use std::fmt::Write as _;

use cortex_core::App;
use cortex_di::{BoxError, Container};

use crate::bus::EventBus;
use crate::dead_letter::{DeadLetter, DeadLetterQuery};
use crate::event::EventId;

/// The tasks this module registers.
pub(crate) const TASKS: [&str; 2] = ["events:dead-letters:list", "events:dead-letters:replay"];

const LIST_USAGE: &str =
    "`cortex events dead-letters list [--handler NAME] [--topic PATTERN] [--limit N] [--json]`";
const REPLAY_USAGE: &str = "`cortex events dead-letters replay --handler NAME --id EVENT_ID`, or `cortex events dead-letters replay --all [--handler NAME] [--topic PATTERN]`";

/// What is wrong with a task's arguments: the message says which, the hint how to write them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}; hint: {usage}")]
pub(crate) struct TaskArgsError {
    message: String,
    usage: &'static str,
}

/// `events:dead-letters:list`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListArgs {
    pub(crate) query: DeadLetterQuery,
    pub(crate) json: bool,
}

/// `events:dead-letters:replay`'s arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReplayArgs {
    /// `--handler H --id ID`.
    One { handler: String, id: EventId },
    /// `--all`, optionally narrowed.
    All {
        handler: Option<String>,
        topic: Option<String>,
    },
}

/// The flags of one task's words: each flag once, with its value (but `flags`).
struct Words<'a> {
    values: Vec<(&'a str, &'a str)>,
    flags: Vec<&'a str>,
}

fn words<'a>(
    task: &str,
    words: &'a [String],
    with_value: &[&str],
    flags: &[&str],
    usage: &'static str,
) -> Result<Words<'a>, TaskArgsError> {
    let err = |message: String| TaskArgsError { message, usage };
    let mut out = Words {
        values: Vec::new(),
        flags: Vec::new(),
    };
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        let word = word.as_str();
        let seen = out.values.iter().any(|(f, _)| *f == word) || out.flags.contains(&word);
        if seen {
            return Err(err(format!("`{word}` is given twice")));
        }
        if with_value.contains(&word) {
            match iter.next() {
                Some(value) if !value.starts_with("--") => out.values.push((word, value)),
                _ => return Err(err(format!("`{word}` needs a value"))),
            }
        } else if flags.contains(&word) {
            out.flags.push(word);
        } else {
            return Err(err(format!("{task} does not understand `{word}`")));
        }
    }
    Ok(out)
}

impl Words<'_> {
    fn value(&self, flag: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(f, _)| *f == flag)
            .map(|(_, v)| *v)
    }
}

fn checked_pattern(
    pattern: Option<&str>,
    usage: &'static str,
) -> Result<Option<String>, TaskArgsError> {
    let Some(pattern) = pattern else {
        return Ok(None);
    };
    crate::Pattern::parse(pattern).map_err(|e| TaskArgsError {
        message: format!("`--topic {pattern}` is not a topic pattern: {e}"),
        usage,
    })?;
    Ok(Some(pattern.to_string()))
}

impl ListArgs {
    /// Parses the words of `CORTEX_TASK_ARGS`.
    pub(crate) fn parse(words_: &[String]) -> Result<ListArgs, TaskArgsError> {
        let w = words(
            TASKS[0],
            words_,
            &["--handler", "--topic", "--limit"],
            &["--json"],
            LIST_USAGE,
        )?;
        let mut query = DeadLetterQuery {
            handler: w.value("--handler").map(str::to_string),
            topic: checked_pattern(w.value("--topic"), LIST_USAGE)?,
            ..DeadLetterQuery::default()
        };
        if let Some(limit) = w.value("--limit") {
            query.limit = match limit.parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(TaskArgsError {
                        message: format!("`--limit {limit}` is not a positive whole number"),
                        usage: LIST_USAGE,
                    });
                }
            };
        }
        Ok(ListArgs {
            query,
            json: w.flags.contains(&"--json"),
        })
    }
}

impl ReplayArgs {
    /// Parses the words of `CORTEX_TASK_ARGS`.
    pub(crate) fn parse(words_: &[String]) -> Result<ReplayArgs, TaskArgsError> {
        let err = |message: &str| TaskArgsError {
            message: message.to_string(),
            usage: REPLAY_USAGE,
        };
        let w = words(
            TASKS[1],
            words_,
            &["--handler", "--id", "--topic"],
            &["--all"],
            REPLAY_USAGE,
        )?;
        let handler = w.value("--handler").map(str::to_string);
        if w.flags.contains(&"--all") {
            if w.value("--id").is_some() {
                return Err(err("`--all` and `--id` cannot go together"));
            }
            let topic = checked_pattern(w.value("--topic"), REPLAY_USAGE)?;
            return Ok(ReplayArgs::All { handler, topic });
        }
        if w.value("--topic").is_some() {
            return Err(err(
                "`--topic` narrows `--all`; one letter is named by `--handler` and `--id`",
            ));
        }
        let (Some(handler), Some(id)) = (handler, w.value("--id")) else {
            return Err(err(match w.value("--id") {
                Some(_) => {
                    "`--handler` is missing: a letter is named by its handler and its event's id"
                }
                None if words_.is_empty() => "say which letters to replay",
                None => "`--id` is missing: a letter is named by its handler and its event's id",
            }));
        };
        let id = id.parse::<EventId>().map_err(|_| TaskArgsError {
            message: format!("`--id {id}` is not an event id (a UUID, as `cortex events dead-letters list` shows it)"),
            usage: REPLAY_USAGE,
        })?;
        Ok(ReplayArgs::One { handler, id })
    }
}

/// Where a task's arguments come from (`CORTEX_TASK_ARGS`, or a test's).
type Args = fn() -> Vec<String>;

/// Registers the tasks; `in_memory`: the app keeps its dead letters in memory (a note says so).
pub(crate) fn register(app: App, in_memory: bool) -> App {
    register_with(app, cortex_core::task::args, in_memory)
}

fn register_with(app: App, args: Args, in_memory: bool) -> App {
    app.task(TASKS[0], move |c| async move {
        let parsed = ListArgs::parse(&args())?;
        let bus = bus(&c)?;
        let letters = bus.dead_letters().list(&parsed.query).await?;
        if parsed.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&letters).expect("dead letters are plain data")
            );
        } else {
            print!("{}", table(&letters));
        }
        if in_memory && letters.is_empty() {
            eprintln!("{MEMORY_NOTE}");
        }
        Ok(())
    })
    .task(TASKS[1], move |c| async move {
        let parsed = ReplayArgs::parse(&args())?;
        let bus = bus(&c)?;
        let letters = match parsed {
            ReplayArgs::One { handler, id } => match bus.dead_letters().get(id, &handler).await? {
                Some(letter) => vec![letter],
                None => {
                    let mut message = format!(
                        "no dead letter of event {id} for the handler `{handler}`; hint: `cortex events dead-letters list --handler {handler}` shows its letters"
                    );
                    if in_memory {
                        message.push_str(&format!(" ({MEMORY_NOTE})"));
                    }
                    return Err(BoxError::from(message));
                }
            },
            ReplayArgs::All { handler, topic } => {
                let query = DeadLetterQuery {
                    handler,
                    topic,
                    limit: u32::MAX as usize,
                };
                bus.dead_letters().list(&query).await?
            }
        };
        if letters.is_empty() {
            println!("no dead letters to replay");
            if in_memory {
                eprintln!("{MEMORY_NOTE}");
            }
            return Ok(());
        }
        let mut failed = 0;
        for letter in &letters {
            let (ok, line) = replay_line(&bus, letter).await;
            if !ok {
                failed += 1;
            }
            println!("{line}");
        }
        if failed > 0 {
            return Err(BoxError::from(format!(
                "{failed} of {} dead letters failed to replay; they stay in the dead letters",
                letters.len()
            )));
        }
        Ok(())
    })
}

const MEMORY_NOTE: &str = "note: this app keeps its dead letters in memory, so a task sees only its own process's; set `[events] dead_letters = \"database\"` to keep them across processes";

/// The bus of the app, or how to get one.
fn bus(container: &Container) -> Result<EventBus, BoxError> {
    container
        .get::<EventBus>()
        .map(|bus| EventBus::clone(&bus))
        .map_err(|_| BoxError::from("the app has no event bus; hint: apply the `EventsPlugin` (the facade's `events` feature with `App::discover()`)"))
}

/// Replays one letter: whether its handler handled it, and the line saying so.
async fn replay_line(bus: &EventBus, letter: &DeadLetter) -> (bool, String) {
    let what = format!(
        "event {} ({}) to `{}`",
        letter.event_id(),
        letter.event.metadata.topic,
        letter.handler
    );
    match bus.replay(letter).await {
        Ok(completion) => match completion.outcomes.first() {
            Some(outcome) => match &outcome.result {
                Ok(()) => (true, format!("replayed {what}: handled")),
                Err(failure) => (false, format!("replayed {what}: failed again: {failure}")),
            },
            None => (
                false,
                format!(
                    "replayed {what}: not handled (the handler's filter or type skipped it); the letter stays"
                ),
            ),
        },
        Err(e) => (false, format!("could not replay {what}: {e}")),
    }
}

/// One line of text: the first line of `text`, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(max).collect();
    if first.chars().count() > max || text.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// The letters as an aligned table.
fn table(letters: &[DeadLetter]) -> String {
    if letters.is_empty() {
        return "no dead letters\n".into();
    }
    let head = [
        "event id",
        "handler",
        "topic",
        "attempts",
        "failed at",
        "error",
    ];
    let rows: Vec<[String; 6]> = letters
        .iter()
        .map(|l| {
            [
                l.event_id().to_string(),
                l.handler.clone(),
                l.event.metadata.topic.to_string(),
                l.attempts.to_string(),
                l.failed_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                one_line(&l.error, 80),
            ]
        })
        .collect();
    let mut widths = head.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(&head);
    for row in &rows {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use cortex_di::Provider;

    use super::*;
    use crate::bus::SubscribeOptions;
    use crate::dead_letter::{DeadLetterStore, MemoryDeadLetters};
    use crate::event::{Envelope, Json, Metadata, WireEvent};
    use crate::retry::RetryPolicy;

    fn words(s: &str) -> Vec<String> {
        cortex_core::task::parse_args(s)
    }

    #[test]
    fn list_arguments() {
        let args =
            ListArgs::parse(&words("--handler welcome --topic user.* --limit 5 --json")).unwrap();
        assert_eq!(args.query.handler.as_deref(), Some("welcome"));
        assert_eq!(args.query.topic.as_deref(), Some("user.*"));
        assert_eq!(args.query.limit, 5);
        assert!(args.json);
        let args = ListArgs::parse(&[]).unwrap();
        assert_eq!(args.query, DeadLetterQuery::default());
        assert!(!args.json);
        for (bad, message) in [
            ("--limit 0", "`--limit 0` is not a positive whole number"),
            (
                "--limit ten",
                "`--limit ten` is not a positive whole number",
            ),
            ("--handler", "`--handler` needs a value"),
            ("--handler --json", "`--handler` needs a value"),
            ("--json --json", "`--json` is given twice"),
            (
                "--topic user..created",
                "`--topic user..created` is not a topic pattern: `user..created` has an empty segment",
            ),
            (
                "--all",
                "events:dead-letters:list does not understand `--all`",
            ),
        ] {
            let err = ListArgs::parse(&words(bad)).unwrap_err().to_string();
            assert!(err.starts_with(message), "{bad}: {err}");
            assert!(
                err.contains("; hint: `cortex events dead-letters list"),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn replay_arguments() {
        let id = EventId::new();
        assert_eq!(
            ReplayArgs::parse(&words(&format!("--handler welcome --id {id}"))).unwrap(),
            ReplayArgs::One {
                handler: "welcome".into(),
                id
            }
        );
        assert_eq!(
            ReplayArgs::parse(&words("--all --topic order.#")).unwrap(),
            ReplayArgs::All {
                handler: None,
                topic: Some("order.#".into())
            }
        );
        for (bad, message) in [
            ("", "say which letters to replay"),
            ("--handler welcome", "`--id` is missing"),
            (&format!("--id {id}"), "`--handler` is missing"),
            ("--handler h --id 42", "`--id 42` is not an event id"),
            (
                &format!("--all --id {id}"),
                "`--all` and `--id` cannot go together",
            ),
            ("--handler h --topic a", "`--topic` narrows `--all`"),
            ("--all --all", "`--all` is given twice"),
            (
                "--everything",
                "events:dead-letters:replay does not understand `--everything`",
            ),
        ] {
            let err = ReplayArgs::parse(&words(bad)).unwrap_err().to_string();
            assert!(err.starts_with(message), "{bad}: {err}");
            assert!(
                err.contains("; hint: `cortex events dead-letters replay"),
                "{err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
    }

    fn letter(handler: &str, topic: &str, error: &str) -> DeadLetter {
        let event = WireEvent {
            metadata: Metadata::new(topic.to_owned()),
            payload: serde_json::json!({ "n": 1 }),
        };
        DeadLetter::new(handler, event, error, 4)
    }

    #[test]
    fn the_list_is_a_table() {
        let mut one = letter("welcome", "user.created", "smtp refused\nat line 2");
        one.failed_at = "2026-12-07T12:00:00Z".parse().unwrap();
        let table = table(std::slice::from_ref(&one));
        let id = one.event_id();
        assert_eq!(
            table,
            format!(
                "event id                              handler  topic         attempts  failed at             error\n\
                 {id}  welcome  user.created  4         2026-12-07T12:00:00Z  smtp refused…\n"
            )
        );
        assert_eq!(super::table(&[]), "no dead letters\n");
        assert_eq!(one_line(&"x".repeat(90), 80).chars().count(), 81);
    }

    /// An app with the tasks and a bus whose dead letters are `store`: handler `flaky` fails
    /// while `healthy` is false; the letters are seeded first.
    async fn app(
        args: Args,
        letters: Vec<DeadLetter>,
        healthy: Arc<AtomicBool>,
    ) -> (cortex_core::Application, EventBus, crate::Subscription) {
        let store = MemoryDeadLetters::default();
        for letter in letters {
            store.put(letter).await.unwrap();
        }
        let bus = EventBus::builder().dead_letters(store).build();
        let subscription = bus
            .subscribe_with(
                SubscribeOptions::named("flaky")
                    .pattern("#")
                    .retry(RetryPolicy::none()),
                move |_: Envelope<Json>| {
                    let healthy = healthy.load(Ordering::SeqCst);
                    async move {
                        if healthy {
                            Ok(())
                        } else {
                            Err("still down".into())
                        }
                    }
                },
            )
            .unwrap();
        let built = register_with(App::new().provide(Provider::value(bus.clone())), args, true)
            .build()
            .await
            .unwrap();
        (built, bus, subscription)
    }

    fn no_args() -> Vec<String> {
        Vec::new()
    }

    fn all() -> Vec<String> {
        words("--all")
    }

    fn handlers_of(letters: &[DeadLetter]) -> Vec<&str> {
        letters.iter().map(|l| l.handler.as_str()).collect()
    }

    #[tokio::test]
    async fn replay_all_hands_each_letter_back_and_fails_when_one_fails_again() {
        let healthy = Arc::new(AtomicBool::new(true));
        let seeded = vec![
            letter("flaky", "order.placed", "down"),
            letter("removed_handler", "order.placed", "down"),
        ];
        let (built, bus, _s) = app(all, seeded, Arc::clone(&healthy)).await;
        assert_eq!(built.task_names(), TASKS);
        let err = built
            .run_task("events:dead-letters:replay")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "task `events:dead-letters:replay` failed: 1 of 2 dead letters failed to replay; they stay in the dead letters"
        );
        let left = bus
            .dead_letters()
            .list(&DeadLetterQuery::default())
            .await
            .unwrap();
        assert_eq!(handlers_of(&left), ["removed_handler"]);
    }

    #[tokio::test]
    async fn replay_of_one_letter_that_fails_again_keeps_it() {
        let healthy = Arc::new(AtomicBool::new(false));
        let seeded = letter("flaky", "order.placed", "down");
        let id = seeded.event_id();
        static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        ID.set(id.to_string()).unwrap();
        fn one() -> Vec<String> {
            words(&format!("--handler flaky --id {}", ID.get().unwrap()))
        }
        let (built, bus, _s) = app(one, vec![seeded], Arc::clone(&healthy)).await;
        let err = built
            .run_task("events:dead-letters:replay")
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("1 of 1 dead letters failed to replay; they stay in the dead letters"),
            "{err}"
        );
        let left = bus.dead_letters().get(id, "flaky").await.unwrap().unwrap();
        assert_eq!(left.error, "still down");

        // Healthy again, the same command removes it.
        healthy.store(true, Ordering::SeqCst);
        let (built, bus2, _s2) = app(one, vec![left], healthy).await;
        built.run_task("events:dead-letters:replay").await.unwrap();
        assert!(
            bus2.dead_letters()
                .get(id, "flaky")
                .await
                .unwrap()
                .is_none()
        );
        drop(bus);
    }

    #[tokio::test]
    async fn replay_of_an_unknown_letter_says_how_to_find_one() {
        fn bogus() -> Vec<String> {
            words("--handler flaky --id 01937f5e-7c00-7000-8000-000000000000")
        }
        let (built, _bus, _s) = app(bogus, Vec::new(), Arc::new(AtomicBool::new(true))).await;
        let err = built
            .run_task("events:dead-letters:replay")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no dead letter of event 01937f5e-7c00-7000-8000-000000000000 for the handler `flaky`; hint: `cortex events dead-letters list --handler flaky` shows its letters"),
            "{err}"
        );
        assert!(err.contains("keeps its dead letters in memory"), "{err}");
    }

    #[tokio::test]
    async fn list_runs_and_bad_arguments_fail_the_task_in_one_line() {
        let seeded = vec![letter("flaky", "order.placed", "down")];
        let (built, _bus, _s) = app(no_args, seeded.clone(), Arc::new(AtomicBool::new(true))).await;
        built.run_task("events:dead-letters:list").await.unwrap();
        fn bad() -> Vec<String> {
            words("--limit")
        }
        let (built, _bus, _s) = app(bad, seeded, Arc::new(AtomicBool::new(true))).await;
        let err = built
            .run_task("events:dead-letters:list")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("`--limit` needs a value"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[tokio::test]
    async fn without_a_bus_the_tasks_say_how_to_get_one() {
        let built = register_with(App::new(), no_args, false)
            .build()
            .await
            .unwrap();
        let err = built
            .run_task("events:dead-letters:list")
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("the app has no event bus"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_plugin_registers_the_tasks() {
        let built = App::new()
            .plugin(crate::EventsPlugin::default())
            .build()
            .await
            .unwrap();
        assert_eq!(built.task_names(), TASKS);
    }
}
