//! The `auth:key:*` tasks that `cortex auth key …` runs in the app's binary.
//!
//! | task | does | arguments (`CORTEX_TASK_ARGS`) |
//! | --- | --- | --- |
//! | `auth:key:create` | makes a key and prints it, once | `--owner U --name N [--scope S]… [--ttl 90d]` |
//! | `auth:key:list` | lists the keys (never their secrets) | `[--owner U]` |
//! | `auth:key:revoke` | revokes a key | `ID` |

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use cortex_core::App;
use cortex_di::{BoxError, Container};

use super::{ApiKeyInfo, ApiKeys};

/// The tasks this module registers.
pub(crate) const TASKS: [&str; 3] = ["auth:key:create", "auth:key:list", "auth:key:revoke"];

/// What is wrong with a task's arguments: the message says which and how to write them.
///
/// ```
/// use cortex_auth::api_key::CreateArgs;
/// let err = CreateArgs::parse(&["--name".into(), "ci".into()]).unwrap_err();
/// assert!(err.to_string().starts_with("`--owner` is missing"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}; hint: {usage}")]
pub struct TaskArgsError {
    message: String,
    usage: &'static str,
}

const CREATE_USAGE: &str = "`cortex auth key create --owner 42 --name ci --scope posts:read --scope posts:write --ttl 90d`";
const LIST_USAGE: &str = "`cortex auth key list` or `cortex auth key list --owner 42`";
const REVOKE_USAGE: &str = "`cortex auth key revoke ID` (the id `cortex auth key list` shows)";

/// `auth:key:create`'s arguments.
///
/// ```
/// use cortex_auth::api_key::CreateArgs;
/// let words: Vec<String> = "--owner 42 --name ci --scope a:b --scope c --ttl 90d".split(' ').map(String::from).collect();
/// let args = CreateArgs::parse(&words)?;
/// assert_eq!((args.owner.as_str(), args.name.as_str()), ("42", "ci"));
/// assert_eq!(args.scopes, ["a:b", "c"]);
/// assert_eq!(args.ttl, Some(std::time::Duration::from_secs(90 * 86_400)));
/// # Ok::<(), cortex_auth::api_key::TaskArgsError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateArgs {
    /// `--owner`: the user the key acts for.
    pub owner: String,
    /// `--name`: what the key is for.
    pub name: String,
    /// `--scope`, repeated: the permissions it grants.
    pub scopes: Vec<String>,
    /// `--ttl`: how long it lives (`90d`, `12h`).
    pub ttl: Option<Duration>,
}

impl CreateArgs {
    /// Parses the words of `CORTEX_TASK_ARGS`.
    ///
    /// # Errors
    /// A flag it does not know, one without its value, or given twice (but `--scope`), a
    /// missing `--owner` or `--name`, a `--ttl` that is not a duration.
    pub fn parse(words: &[String]) -> Result<CreateArgs, TaskArgsError> {
        let err = |message: String| TaskArgsError {
            message,
            usage: CREATE_USAGE,
        };
        let (mut owner, mut name, mut scopes, mut ttl) = (None, None, Vec::new(), None);
        let mut words = words.iter();
        while let Some(flag) = words.next() {
            let value = match flag.as_str() {
                "--owner" | "--name" | "--scope" | "--ttl" => words
                    .next()
                    .ok_or_else(|| err(format!("`{flag}` needs a value")))?,
                other => {
                    return Err(err(format!(
                        "auth:key:create does not understand `{other}`"
                    )));
                }
            };
            let once = |slot: &mut Option<String>| match slot {
                Some(_) => Err(err(format!("`{flag}` is given twice"))),
                None => {
                    *slot = Some(value.clone());
                    Ok(())
                }
            };
            match flag.as_str() {
                "--owner" => once(&mut owner)?,
                "--name" => once(&mut name)?,
                "--scope" => scopes.push(value.clone()),
                _ => {
                    if ttl.is_some() {
                        return Err(err("`--ttl` is given twice".into()));
                    }
                    let parsed = cortex_core::config::units::parse_duration(value)
                        .map_err(|e| err(format!("`--ttl {value}` is not a duration: {e}")))?;
                    if parsed.is_zero() {
                        return Err(err("`--ttl` must be longer than zero".into()));
                    }
                    ttl = Some(parsed);
                }
            }
        }
        Ok(CreateArgs {
            owner: owner.ok_or_else(|| err("`--owner` is missing".into()))?,
            name: name.ok_or_else(|| err("`--name` is missing".into()))?,
            scopes,
            ttl,
        })
    }
}

/// `auth:key:list`'s arguments: the owner, if any.
fn list_args(words: &[String]) -> Result<Option<String>, TaskArgsError> {
    match words {
        [] => Ok(None),
        [flag, owner] if flag == "--owner" => Ok(Some(owner.clone())),
        _ => Err(TaskArgsError {
            message: format!("auth:key:list does not understand `{}`", words.join(" ")),
            usage: LIST_USAGE,
        }),
    }
}

/// `auth:key:revoke`'s argument: the id.
fn revoke_args(words: &[String]) -> Result<String, TaskArgsError> {
    match words {
        [id] if !id.starts_with('-') => Ok(id.clone()),
        [] => Err(TaskArgsError {
            message: "the key's id is missing".into(),
            usage: REVOKE_USAGE,
        }),
        _ => Err(TaskArgsError {
            message: format!("auth:key:revoke does not understand `{}`", words.join(" ")),
            usage: REVOKE_USAGE,
        }),
    }
}

/// Where a task's arguments come from (`CORTEX_TASK_ARGS`, or a test's).
type Args = fn() -> Vec<String>;

/// Registers the `auth:key:*` tasks.
pub(crate) fn register(app: App) -> App {
    register_with(app, cortex_core::task::args)
}

fn register_with(app: App, args: Args) -> App {
    app.task(TASKS[0], move |c| async move {
        let parsed = CreateArgs::parse(&args())?;
        let keys = keys(&c).await?;
        let new = keys
            .create(&parsed.owner, &parsed.name, parsed.scopes, parsed.ttl)
            .await?;
        print!("{}", created_report(&new.info, &new.key));
        Ok(())
    })
    .task(TASKS[1], move |c| async move {
        let owner = list_args(&args())?;
        let keys = keys(&c).await?;
        let list = keys.list(owner.as_deref()).await?;
        print!("{}", list_table(&list, SystemTime::now()));
        Ok(())
    })
    .task(TASKS[2], move |c| async move {
        let id = revoke_args(&args())?;
        let keys = keys(&c).await?;
        if keys.revoke(&id).await? {
            println!("revoked API key {id}");
            Ok(())
        } else {
            Err(BoxError::from(format!(
                "no API key has the id `{id}`; hint: `cortex auth key list` shows the ids"
            )))
        }
    })
}

/// The app's [`ApiKeys`], or how to turn them on.
async fn keys(container: &Container) -> Result<ApiKeys, BoxError> {
    match container.resolve::<ApiKeys>().await {
        Ok(keys) => Ok((*keys).clone()),
        Err(_) => Err(BoxError::from(
            "API keys are off in this app; hint: set `enabled = true` under `[auth.api_keys]` in cortex.toml (and `store = \"database\"` or `\"redis\"`, so that keys outlive the task)",
        )),
    }
}

fn time(at: Option<SystemTime>) -> String {
    at.map_or_else(
        || "never".into(),
        |at| humantime::format_rfc3339_seconds(at).to_string(),
    )
}

fn created_report(info: &ApiKeyInfo, key: &str) -> String {
    let scopes = if info.scopes.is_empty() {
        "none".to_string()
    } else {
        info.scopes.join(", ")
    };
    format!(
        "created API key {} (`{}`) for {}; scopes: {scopes}; expires: {}\n{key}\nstore it now: it cannot be shown again\n",
        info.id,
        info.name,
        info.owner,
        time(info.expires_at)
    )
}

fn list_table(list: &[ApiKeyInfo], now: SystemTime) -> String {
    if list.is_empty() {
        return "no API keys\n".into();
    }
    let rows: Vec<[String; 7]> = list
        .iter()
        .map(|k| {
            let state = if k.revoked_at.is_some() {
                "revoked"
            } else if k.is_expired_at(now) {
                "expired"
            } else {
                "active"
            };
            [
                k.id.clone(),
                k.name.clone(),
                k.owner.clone(),
                state.to_string(),
                k.scopes.join(","),
                time(k.expires_at),
                time(k.last_used_at),
            ]
        })
        .collect();
    let head = [
        "id",
        "name",
        "owner",
        "state",
        "scopes",
        "expires",
        "last used",
    ];
    let mut widths = head.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
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
    use super::*;
    use crate::api_key::MemoryApiKeyStore;
    use cortex_di::Provider;

    fn words(s: &str) -> Vec<String> {
        cortex_core::task::parse_args(s)
    }

    #[test]
    fn create_arguments() {
        let args = CreateArgs::parse(&words("--name ci --owner 7 --scope a --ttl 12h")).unwrap();
        assert_eq!(args.owner, "7");
        assert_eq!(args.scopes, ["a"]);
        assert_eq!(args.ttl, Some(Duration::from_secs(12 * 3600)));
        for (bad, message) in [
            ("--owner 7", "`--name` is missing"),
            ("--name ci", "`--owner` is missing"),
            ("--owner 7 --name ci --ttl", "`--ttl` needs a value"),
            (
                "--owner 7 --name ci --ttl soon",
                "`--ttl soon` is not a duration",
            ),
            (
                "--owner 7 --name ci --ttl 0s",
                "`--ttl` must be longer than zero",
            ),
            ("--owner 7 --owner 8 --name ci", "`--owner` is given twice"),
            (
                "--owner 7 --name ci --force",
                "auth:key:create does not understand `--force`",
            ),
        ] {
            let err = CreateArgs::parse(&words(bad)).unwrap_err().to_string();
            assert!(err.starts_with(message), "{bad}: {err}");
            assert!(
                err.contains("hint: `cortex auth key create --owner"),
                "{err}"
            );
        }
    }

    #[test]
    fn list_and_revoke_arguments() {
        assert_eq!(list_args(&[]).unwrap(), None);
        assert_eq!(
            list_args(&words("--owner 7")).unwrap().as_deref(),
            Some("7")
        );
        assert!(
            list_args(&words("7"))
                .unwrap_err()
                .to_string()
                .contains("does not understand `7`")
        );
        assert_eq!(revoke_args(&words("abc")).unwrap(), "abc");
        assert!(
            revoke_args(&[])
                .unwrap_err()
                .to_string()
                .starts_with("the key's id is missing")
        );
        assert!(revoke_args(&words("a b")).is_err());
    }

    fn create_args() -> Vec<String> {
        words("--owner 42 --name ci --scope posts:read --ttl 30d")
    }

    fn no_args() -> Vec<String> {
        Vec::new()
    }

    fn app(args: Args, keys: &ApiKeys) -> App {
        register_with(App::new().provide(Provider::value(keys.clone())), args)
    }

    #[tokio::test]
    async fn the_tasks_create_list_and_revoke_keys() {
        let keys = ApiKeys::new(MemoryApiKeyStore::new(), "ck").unwrap();
        let built = app(create_args, &keys).build().await.unwrap();
        assert_eq!(built.task_names(), TASKS);
        built.run_task("auth:key:create").await.unwrap();
        let list = keys.list(None).await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            (list[0].owner.as_str(), list[0].name.as_str()),
            ("42", "ci")
        );
        assert_eq!(list[0].scopes, ["posts:read"]);
        assert!(list[0].expires_at.is_some());

        app(no_args, &keys)
            .build()
            .await
            .unwrap()
            .run_task("auth:key:list")
            .await
            .unwrap();

        fn bogus() -> Vec<String> {
            vec!["AAAAAAAAAAAA".into()]
        }
        let err = app(bogus, &keys)
            .build()
            .await
            .unwrap()
            .run_task("auth:key:revoke")
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("no API key has the id `AAAAAAAAAAAA`"),
            "{err}"
        );
        let err = app(no_args, &keys)
            .build()
            .await
            .unwrap()
            .run_task("auth:key:create")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("`--owner` is missing"), "{err}");
    }

    #[tokio::test]
    async fn without_api_keys_the_tasks_say_how_to_turn_them_on() {
        let built = register_with(App::new(), no_args).build().await.unwrap();
        let err = built.run_task("auth:key:list").await.unwrap_err();
        assert!(
            err.to_string().contains(
                "API keys are off in this app; hint: set `enabled = true` under `[auth.api_keys]`"
            ),
            "{err}"
        );
    }

    #[test]
    fn the_list_is_a_table_and_the_report_shows_the_key_once() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut info = crate::api_key::ApiKeyRecord::new(
            "AAAAAAAAAAAA",
            [0; 32],
            "ci",
            "42",
            vec!["a".into(), "b".into()],
            now,
            None,
        )
        .info;
        assert_eq!(
            list_table(std::slice::from_ref(&info), now),
            "id            name  owner  state   scopes  expires  last used\n\
             AAAAAAAAAAAA  ci    42     active  a,b     never    never\n"
        );
        info.revoked_at = Some(now);
        assert!(list_table(std::slice::from_ref(&info), now).contains("revoked"));
        assert_eq!(list_table(&[], now), "no API keys\n");
        let report = created_report(&info, "ck_AAAAAAAAAAAA_secret");
        assert!(
            report.contains("\nck_AAAAAAAAAAAA_secret\nstore it now: it cannot be shown again\n"),
            "{report}"
        );
    }
}
