//! `#[derive(Event)]`, `#[event_handler]` on functions and `#[event_handlers]` on methods, run end
//! to end through `App::discover()`: each handler gets its dependencies from the event's scope,
//! options are applied, a failing handler's event goes to the dead letters, and the handlers are
//! nodes of the container's graph with their dependencies.
// A program, not a library: its items need no docs.
#![allow(missing_docs, unreachable_pub)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use cortex::events::{DeadLetterQuery, Overflow};
use cortex::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Event, Serialize, Deserialize)]
#[event(topic = "user.created")]
struct UserCreated {
    email: String,
}

#[derive(Debug, Event, Serialize, Deserialize)]
#[event(topic = "order.placed")]
struct OrderPlaced {
    id: u64,
    total: u32,
}

/// Records what the handlers did.
#[injectable]
#[derive(Default)]
struct Mailer {
    #[inject(default)]
    sent: Mutex<Vec<String>>,
}

/// Never bound: an optional dependency that is absent.
trait Sms: Send + Sync {}

#[event_handler]
async fn welcome(
    user: Envelope<UserCreated>,
    mailer: Inject<Mailer>,
    sms: Option<Inject<dyn Sms>>,
) -> Result<(), std::io::Error> {
    assert!(sms.is_none());
    mailer
        .sent
        .lock()
        .unwrap()
        .push(format!("welcome {}", user.email));
    Ok(())
}

/// Any event under `user.`, by a pattern, with a name of its own.
#[event_handler("user.#", name = "user_audit", priority = 10)]
async fn audit(event: Envelope<cortex::events::Json>, mailer: Inject<Mailer>) {
    mailer
        .sent
        .lock()
        .unwrap()
        .push(format!("audit {}", event.topic()));
}

fn large(order: &Envelope<OrderPlaced>) -> bool {
    order.total >= 100
}

#[injectable]
#[derive(Default)]
struct Stock {
    #[inject(default)]
    reserved: AtomicU32,
}

#[event_handlers]
impl Stock {
    #[event_handler(capacity = 8, overflow = "wait")]
    async fn reserve(
        &self,
        order: Envelope<OrderPlaced>,
        mailer: Inject<Mailer>,
    ) -> Result<(), BoxError> {
        self.reserved.fetch_add(1, Ordering::SeqCst);
        mailer
            .sent
            .lock()
            .unwrap()
            .push(format!("reserved {}", order.id));
        Ok(())
    }

    #[event_handler(filter = large, retries = 0)]
    async fn review(&self, order: Envelope<OrderPlaced>) -> Result<(), std::io::Error> {
        Err(std::io::Error::other(format!(
            "order {} needs a human",
            order.id
        )))
    }
}

#[cortex::main]
async fn main() -> cortex::Result<()> {
    let app = App::new().discover().build().await?;
    let container = app.container();
    let bus = container
        .get::<EventBus>()
        .expect("the events plugin provides the bus");

    let mut names: Vec<String> = bus.subscriptions().iter().map(|s| s.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        ["Stock::reserve", "Stock::review", "user_audit", "welcome"]
    );

    let done = bus
        .publish_and_wait(UserCreated {
            email: "ada@example.com".into(),
        })
        .await
        .unwrap();
    assert!(done.is_ok(), "{done:?}");
    // The audit handler has the higher priority: it is queued first, and both ran.
    let mut outcomes: Vec<&str> = done.outcomes.iter().map(|o| &*o.handler).collect();
    outcomes.sort_unstable();
    assert_eq!(outcomes, ["user_audit", "welcome"]);

    // A small order passes the review's filter by; a large one fails it, with no retry.
    let small = bus
        .publish_and_wait(OrderPlaced { id: 1, total: 10 })
        .await
        .unwrap();
    assert!(small.is_ok(), "{small:?}");
    assert_eq!(small.outcomes.len(), 1);
    let large = bus
        .publish_and_wait(OrderPlaced { id: 2, total: 500 })
        .await
        .unwrap();
    assert_eq!(large.failures().count(), 1);
    assert_eq!(&*large.failures().next().unwrap().handler, "Stock::review");

    let letters = bus
        .dead_letters()
        .list(&DeadLetterQuery::default().handler("Stock::review"))
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].error, "order 2 needs a human");
    assert_eq!(letters[0].attempts, 1);

    let stock = container.get::<Stock>().unwrap();
    assert_eq!(stock.reserved.load(Ordering::SeqCst), 2);
    let sent = container
        .get::<Mailer>()
        .unwrap()
        .sent
        .lock()
        .unwrap()
        .clone();
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(sent.contains(&"welcome ada@example.com".to_string()));
    assert!(sent.contains(&"audit user.created".to_string()));

    // Every handler is a node of the graph, with its dependencies as edges.
    let graph = container.graph();
    let node = |name: &str| {
        graph
            .providers
            .iter()
            .find(|p| p.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no node `{name}`"))
    };
    let welcome_node = node("welcome");
    assert_eq!(welcome_node.declared_by, "#[event_handler] welcome");
    assert!(
        welcome_node.location.contains("events.rs:"),
        "{}",
        welcome_node.location
    );
    let fields: Vec<(&str, bool)> = welcome_node
        .dependencies
        .iter()
        .map(|d| (d.field.as_deref().unwrap(), d.provider.is_some()))
        .collect();
    assert_eq!(fields, [("mailer", true), ("sms", false)]);
    let reserve = node("Stock::reserve");
    let deps: Vec<&str> = reserve
        .dependencies
        .iter()
        .map(|d| d.field.as_deref().unwrap())
        .collect();
    assert_eq!(deps, ["self", "mailer"]);
    let mermaid = graph.to_mermaid();
    assert!(
        mermaid.contains("EventHandlerNode (Stock::reserve)"),
        "{mermaid}"
    );
    assert!(mermaid.contains("-->|self|"), "{mermaid}");
    assert!(
        graph
            .to_json()
            .contains("\"declared_by\":\"#[event_handler] user_audit\"")
    );

    // The options reach the descriptors.
    let handlers = cortex::events::registered_handlers();
    let reserve = handlers
        .iter()
        .find(|h| h.name() == "Stock::reserve")
        .unwrap();
    assert_eq!(reserve.options().capacity, Some(8));
    assert_eq!(reserve.options().overflow, Some(Overflow::Wait));
    let audit = handlers.iter().find(|h| h.name() == "user_audit").unwrap();
    assert_eq!(audit.pattern(), Some("user.#"));
    assert_eq!(audit.options().priority, 10);

    // The functions stay callable, as a unit test calls them.
    let mailer = Inject::new(Mailer::default());
    welcome(
        Envelope::new(
            UserCreated {
                email: "bob@example.com".into(),
            },
            cortex::events::Metadata::new(UserCreated::TOPIC),
        ),
        mailer.clone(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        mailer.sent.lock().unwrap().as_slice(),
        ["welcome bob@example.com"]
    );
    Ok(())
}

// Built as an example with `test = true` (see Cargo.toml), so that this runs under the test
// runner: the program's `main`, which must succeed.
#[test]
fn runs() {
    assert_eq!(main(), std::process::ExitCode::SUCCESS);
}
