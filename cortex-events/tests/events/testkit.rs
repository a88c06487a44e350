//! The test kit: `EventCapture` sees what a bus delivers, at once after `publish` returns, and
//! waits for what comes later with a timeout whose error says what came instead.

use std::time::Duration;

use cortex_events::testing::EventCapture;
use cortex_events::{Envelope, Event, EventBus, Json, Metadata, SubscribeOptions, WireEvent};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Registered {
    user: u32,
}

impl Event for Registered {
    const TOPIC: &'static str = "user.registered";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Welcomed {
    user: u32,
}

impl Event for Welcomed {
    const TOPIC: &'static str = "mail.welcomed";
}

/// Another type on `Registered`'s topic (an older version of the event, say).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RegisteredV0 {
    name: String,
}

impl Event for RegisteredV0 {
    const TOPIC: &'static str = "user.registered";
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn what_was_published_is_there_as_soon_as_publish_returns() {
    let bus = EventBus::new();
    let capture = EventCapture::new(&bus);
    assert!(capture.is_empty());
    let first = bus.publish(Registered { user: 1 }).await.unwrap();
    bus.publish(Welcomed { user: 1 }).await.unwrap();
    bus.publish(Registered { user: 2 }).await.unwrap();
    bus.publish(RegisteredV0 { name: "ada".into() })
        .await
        .unwrap();

    let registered = capture.published::<Registered>();
    assert_eq!(
        registered.iter().map(|r| r.user).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(registered[0].id(), first);
    assert_eq!(registered[0].topic(), "user.registered");
    assert_eq!(capture.published::<Welcomed>()[0].user, 1);
    assert_eq!(capture.published::<RegisteredV0>()[0].name, "ada");
    let topics: Vec<String> = capture
        .all()
        .iter()
        .map(|e| e.topic().to_string())
        .collect();
    assert_eq!(
        topics,
        [
            "user.registered",
            "mail.welcomed",
            "user.registered",
            "user.registered"
        ]
    );
    assert_eq!(capture.all()[1].0, serde_json::json!({ "user": 1 }));
    assert_eq!(capture.len(), 4);

    capture.clear();
    assert!(capture.is_empty());
    assert!(capture.published::<Registered>().is_empty());
    bus.publish(Registered { user: 3 }).await.unwrap();
    assert_eq!(capture.published::<Registered>()[0].user, 3);
}

#[tokio::test]
async fn wait_for_returns_what_was_captured_or_what_comes_later() {
    let bus = EventBus::new();
    let capture = EventCapture::new(&bus);
    // The code under test: welcomes every registered user, from its own task.
    let _welcome = bus
        .subscribe({
            let bus = bus.clone();
            move |registered: Envelope<Registered>| {
                let bus = bus.clone();
                async move {
                    bus.publish(Welcomed {
                        user: registered.user,
                    })
                    .await?;
                    Ok(())
                }
            }
        })
        .unwrap();

    let id = bus.publish(Registered { user: 7 }).await.unwrap();
    // Already captured: returned at once.
    let registered = capture.wait_for::<Registered>(WAIT).await.unwrap();
    assert_eq!(registered.id(), id);
    // Published later by the handler.
    let welcomed = capture.wait_for::<Welcomed>(WAIT).await.unwrap();
    assert_eq!(welcomed.user, 7);
    assert_eq!(welcomed.metadata().causation_id, Some(id));

    // The first match, not the first event.
    for user in 10..13 {
        bus.publish(Registered { user }).await.unwrap();
    }
    let eleven = capture
        .wait_for_matching(|r: &Envelope<Registered>| r.user == 11, WAIT)
        .await
        .unwrap();
    assert_eq!(eleven.user, 11);
    let welcomed = capture
        .wait_for_matching(|w: &Envelope<Welcomed>| w.user == 12, WAIT)
        .await
        .unwrap();
    assert_eq!(welcomed.user, 12);
}

#[tokio::test]
async fn several_tasks_can_wait_at_once() {
    let bus = EventBus::new();
    let capture = EventCapture::new(&bus);
    let waiters: Vec<_> = (0..4)
        .map(|user| {
            let capture = capture.clone();
            tokio::spawn(async move {
                capture
                    .wait_for_matching(|r: &Envelope<Registered>| r.user == user, WAIT)
                    .await
                    .map(|r| r.user)
            })
        })
        .collect();
    for user in (0..4).rev() {
        tokio::task::yield_now().await;
        bus.publish(Registered { user }).await.unwrap();
    }
    for (user, waiter) in waiters.into_iter().enumerate() {
        let found = tokio::time::timeout(WAIT, waiter)
            .await
            .expect("each waiter is woken")
            .unwrap()
            .unwrap();
        assert_eq!(found, user as u32);
    }
}

#[tokio::test(start_paused = true)]
async fn a_timeout_lists_what_was_captured_instead() {
    let bus = EventBus::new();
    let capture = EventCapture::new(&bus);
    let error = capture
        .wait_for::<Welcomed>(Duration::from_millis(250))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "no `mail.welcomed` event ({}) arrived within 250ms; nothing was captured",
            std::any::type_name::<Welcomed>()
        )
    );

    bus.publish(Registered { user: 1 }).await.unwrap();
    bus.publish(Welcomed { user: 2 }).await.unwrap();
    let error = capture
        .wait_for_matching(|w: &Envelope<Welcomed>| w.user == 1, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(error.filtered && !error.bus_closed);
    assert_eq!(error.topic, "mail.welcomed");
    assert_eq!(error.waited, Duration::from_secs(1));
    assert_eq!(
        error.to_string(),
        format!(
            "no `mail.welcomed` event ({}) matching the predicate arrived within 1s; 2 events \
             were captured: `user.registered` {{\"user\":1}}, `mail.welcomed` {{\"user\":2}}",
            std::any::type_name::<Welcomed>()
        )
    );

    // A long capture lists its first 20 events and counts the rest.
    for user in 0..30 {
        bus.publish(Registered { user }).await.unwrap();
    }
    let error = capture
        .wait_for::<RegisteredV0>(Duration::from_millis(1))
        .await
        .unwrap_err();
    assert_eq!(error.total, 32);
    assert_eq!(error.captured.len(), 20);
    assert!(error.to_string().ends_with(", and 12 more"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_comes_after_the_time_given_and_not_before() {
    let bus = EventBus::new();
    let capture = EventCapture::new(&bus);
    let started = tokio::time::Instant::now();
    let late = tokio::spawn({
        let bus = bus.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            bus.publish(Welcomed { user: 1 }).await.unwrap();
        }
    });
    // Comes after 2 s: too late for a 1 s wait, in time for a 5 s one.
    assert!(
        capture
            .wait_for::<Welcomed>(Duration::from_secs(1))
            .await
            .is_err()
    );
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    let welcomed = capture
        .wait_for::<Welcomed>(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(welcomed.user, 1);
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    late.await.unwrap();
}

#[tokio::test]
async fn the_capture_is_invisible_to_publishers_and_handlers() {
    let bus = EventBus::builder().capacity(2).build();
    let capture = EventCapture::new(&bus);
    let _handler = bus
        .subscribe_with(
            SubscribeOptions::named("handler"),
            |_: Envelope<Registered>| async { Ok(()) },
        )
        .unwrap();
    // Not in a completion.
    let completion = bus.publish_and_wait(Registered { user: 1 }).await.unwrap();
    assert_eq!(completion.outcomes.len(), 1);
    assert_eq!(&*completion.outcomes[0].handler, "handler");
    // Never full, never dropping, though nobody reads it (the bus's queues hold 2).
    for user in 0..5_000 {
        tokio::time::timeout(WAIT, bus.publish(Welcomed { user }))
            .await
            .expect("the capture never makes a publisher wait")
            .unwrap();
    }
    assert_eq!(capture.published::<Welcomed>().len(), 5_000);
    assert_eq!(capture.published::<Registered>().len(), 1);
}

#[tokio::test]
async fn events_from_outside_are_captured_too() {
    let bus = EventBus::new();
    let capture = EventCapture::new(&bus);
    let wire = WireEvent {
        metadata: Metadata::new("user.registered"),
        payload: serde_json::json!({ "user": 9 }),
    };
    bus.deliver(wire.clone(), None).await;
    let registered = capture.wait_for::<Registered>(WAIT).await.unwrap();
    assert_eq!(registered.user, 9);
    assert_eq!(registered.metadata(), &wire.metadata);
    // What does not decode into a type is left out of that type's list, not of `all`.
    bus.deliver(
        WireEvent {
            metadata: Metadata::new("user.registered"),
            payload: serde_json::json!({ "user": "nine" }),
        },
        None,
    )
    .await;
    assert_eq!(capture.published::<Registered>().len(), 1);
    let all: Vec<Envelope<Json>> = capture.all();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].0, serde_json::json!({ "user": "nine" }));
}

#[tokio::test]
async fn after_shutdown_waiting_ends_at_once_and_says_why() {
    let bus = EventBus::new();
    let capture = EventCapture::new(&bus);
    bus.publish(Registered { user: 1 }).await.unwrap();
    bus.shutdown(WAIT).await;
    // What was published before is still there.
    assert_eq!(capture.published::<Registered>().len(), 1);
    let error = tokio::time::timeout(WAIT, capture.wait_for::<Welcomed>(WAIT))
        .await
        .expect("no need to wait: nothing more can come")
        .unwrap_err();
    assert!(error.bus_closed);
    assert!(
        error
            .to_string()
            .contains("arrived before the bus shut down; 1 event was captured"),
        "{error}"
    );
    // A capture made after shutdown captures nothing, and says so.
    let late = EventCapture::new(&bus);
    let error = late.wait_for::<Registered>(WAIT).await.unwrap_err();
    assert!(error.bus_closed && error.total == 0, "{error}");
}

#[tokio::test]
async fn dropping_every_clone_of_a_capture_unsubscribes_it() {
    let bus = EventBus::new();
    let capture = EventCapture::new(&bus);
    let clone = capture.clone();
    assert_eq!(bus.subscriptions().len(), 1);
    drop(capture);
    bus.publish(Registered { user: 1 }).await.unwrap();
    assert_eq!(clone.published::<Registered>().len(), 1);
    assert_eq!(format!("{clone:?}"), "EventCapture { captured: 1 }");
    drop(clone);
    assert!(bus.subscriptions().is_empty());
}
