//! A subscriber's bounded queue with its overflow policy.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// What happens when an event arrives for a subscriber whose queue is full.
///
/// ```
/// use cortex_events::Overflow;
/// assert_eq!(Overflow::default(), Overflow::Wait);
/// let policy: Overflow = serde_json::from_str("\"drop_oldest\"").unwrap();
/// assert_eq!(policy, Overflow::DropOldest);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// The publisher waits for room: a slow handler slows its publishers down (the default:
    /// nothing is lost).
    #[default]
    Wait,
    /// The oldest queued event is dropped (counted in `cortex_events_dropped_total` and logged)
    /// to make room: for subscribers that only care about the latest state.
    DropOldest,
    /// The publish fails with [`PublishError::Full`](crate::PublishError::Full) for this
    /// subscriber (the others still get the event).
    Fail,
}

pub(crate) enum Pushed<T> {
    Queued,
    /// Queued, after dropping this (the oldest).
    Dropped(T),
    /// The queue is full and the policy is `Fail`.
    Full(T),
    /// The queue is closed.
    Closed(T),
}

/// A bounded queue with one reader (a subscriber's worker or stream) and any number of writers.
pub(crate) struct Queue<T> {
    items: Mutex<VecDeque<T>>,
    /// `items.len()`, written under the lock, read without it (the queue-depth gauge).
    len: AtomicUsize,
    capacity: usize,
    overflow: Overflow,
    closed: AtomicBool,
    /// Signalled when an item is pushed or the queue closes.
    readable: Notify,
    /// Signalled when an item is taken or the queue closes.
    writable: Notify,
}

impl<T> Queue<T> {
    pub(crate) fn new(capacity: usize, overflow: Overflow) -> Self {
        Queue {
            items: Mutex::new(VecDeque::with_capacity(capacity.min(64))),
            len: AtomicUsize::new(0),
            capacity: capacity.max(1),
            overflow,
            closed: AtomicBool::new(false),
            readable: Notify::new(),
            writable: Notify::new(),
        }
    }

    /// How many items are queued (a snapshot: it may change at once).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Adds an item, per the overflow policy (`Wait` waits here for room).
    pub(crate) async fn push(&self, item: T) -> Pushed<T> {
        // Most pushes find room: no waiter is made for them.
        let mut item = match self.try_push(item) {
            Err(item) => item,
            Ok(pushed) => return pushed,
        };
        loop {
            // Registered before checking again, so a pop (or a close) between the check and the
            // wait is not missed.
            let writable = self.writable.notified();
            item = match self.try_push(item) {
                Err(item) => item,
                Ok(pushed) => return pushed,
            };
            // Spurious wake-ups loop back and check again.
            writable.await;
        }
    }

    /// Adds an item unless the queue is full and the policy is `Wait` (then gives it back).
    pub(crate) fn try_push(&self, item: T) -> Result<Pushed<T>, T> {
        let mut items = self.items.lock().expect("queue lock");
        if self.is_closed() {
            return Ok(Pushed::Closed(item));
        }
        if items.len() < self.capacity {
            items.push_back(item);
            let len = items.len();
            self.len.store(len, Ordering::Relaxed);
            drop(items);
            // The queue's one reader waits only after finding it empty: the push that ends the
            // emptiness wakes it, the pushes after that find it awake (or about to look).
            if len == 1 {
                self.readable.notify_one();
            }
            return Ok(Pushed::Queued);
        }
        match self.overflow {
            Overflow::Wait => Err(item),
            Overflow::Fail => Ok(Pushed::Full(item)),
            Overflow::DropOldest => {
                let oldest = items.pop_front().expect("a full queue has an item");
                items.push_back(item);
                drop(items);
                Ok(Pushed::Dropped(oldest))
            }
        }
    }

    /// Takes the next item; `None` once the queue is closed and empty.
    pub(crate) async fn pop(&self) -> Option<T> {
        // Most pops find an item: no waiter is made for them.
        if let Some(item) = self.try_pop() {
            return Some(item);
        }
        loop {
            let readable = self.readable.notified();
            if let Some(item) = self.try_pop() {
                return Some(item);
            }
            if self.is_closed() {
                return None;
            }
            readable.await;
        }
    }

    /// Resolves once an item is queued (`true`, the item left in place) or the queue is closed
    /// and empty (`false`).
    pub(crate) async fn readable(&self) -> bool {
        loop {
            let readable = self.readable.notified();
            if !self.items.lock().expect("queue lock").is_empty() {
                return true;
            }
            if self.is_closed() {
                return false;
            }
            readable.await;
        }
    }

    /// How many items a reader may take at once without changing what the overflow policy
    /// means: with `Wait` all of them (the publishers only wait for room), with `DropOldest`
    /// and `Fail` one (the events taken out can no longer be dropped or make the queue full,
    /// so taking more would enlarge the queue).
    pub(crate) fn batch_limit(&self) -> usize {
        match self.overflow {
            Overflow::Wait => self.capacity,
            Overflow::DropOldest | Overflow::Fail => 1,
        }
    }

    /// Takes up to `max` items at once into `batch` (empty on entry), under one lock; `false`
    /// once the queue is closed and empty. What a worker does: one lock and one wake-up of a
    /// waiting publisher per batch, not per item.
    pub(crate) async fn pop_batch(&self, batch: &mut VecDeque<T>, max: usize) -> bool {
        if self.try_pop_batch(batch, max) {
            return true;
        }
        loop {
            let readable = self.readable.notified();
            if self.try_pop_batch(batch, max) {
                return true;
            }
            if self.is_closed() {
                return false;
            }
            readable.await;
        }
    }

    fn try_pop_batch(&self, batch: &mut VecDeque<T>, max: usize) -> bool {
        let taken = {
            let mut items = self.items.lock().expect("queue lock");
            let taken = items.len().min(max);
            if taken == items.len() && batch.is_empty() {
                // All of it: the two buffers trade places, nothing is moved.
                std::mem::swap(&mut *items, batch);
            } else {
                batch.extend(items.drain(..taken));
            }
            self.len.store(items.len(), Ordering::Relaxed);
            taken
        };
        match taken {
            0 => false,
            1 => {
                self.writable.notify_one();
                true
            }
            // Room for several waiting publishers.
            _ => {
                self.writable.notify_waiters();
                true
            }
        }
    }

    /// Puts items taken by [`pop_batch`](Self::pop_batch) but not handled back at the front, in
    /// their order (a worker stopped in the middle of a batch: the shutdown's drain finds
    /// them). May exceed the capacity for a moment.
    pub(crate) fn unpop(&self, batch: &mut VecDeque<T>) {
        if batch.is_empty() {
            return;
        }
        let mut items = self.items.lock().expect("queue lock");
        while let Some(item) = batch.pop_back() {
            items.push_front(item);
        }
        self.len.store(items.len(), Ordering::Relaxed);
    }

    pub(crate) fn try_pop(&self) -> Option<T> {
        let item = {
            let mut items = self.items.lock().expect("queue lock");
            let item = items.pop_front();
            self.len.store(items.len(), Ordering::Relaxed);
            item
        };
        if item.is_some() {
            self.writable.notify_one();
        }
        item
    }

    /// Refuses new items; `pop` returns what is queued, then `None`. Waiting publishers get
    /// `Closed`.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.readable.notify_waiters();
        self.writable.notify_waiters();
    }

    /// Everything still queued (after a close, for the dead letters).
    pub(crate) fn drain(&self) -> Vec<T> {
        let drained: Vec<T> = {
            let mut items = self.items.lock().expect("queue lock");
            self.len.store(0, Ordering::Relaxed);
            items.drain(..).collect()
        };
        self.writable.notify_waiters();
        drained
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn wait_blocks_until_room() {
        let queue = Arc::new(Queue::new(1, Overflow::Wait));
        assert!(matches!(queue.push(1).await, Pushed::Queued));
        let pusher = tokio::spawn({
            let queue = Arc::clone(&queue);
            async move { matches!(queue.push(2).await, Pushed::Queued) }
        });
        // The second push cannot finish while the queue is full.
        tokio::task::yield_now().await;
        assert!(!pusher.is_finished());
        assert_eq!(queue.pop().await, Some(1));
        assert!(
            tokio::time::timeout(Duration::from_secs(5), pusher)
                .await
                .unwrap()
                .unwrap()
        );
        assert_eq!(queue.pop().await, Some(2));
    }

    #[tokio::test]
    async fn drop_oldest_and_fail() {
        let queue = Queue::new(2, Overflow::DropOldest);
        for i in 0..2 {
            assert!(matches!(queue.push(i).await, Pushed::Queued));
        }
        assert!(matches!(queue.push(2).await, Pushed::Dropped(0)));
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.pop().await, Some(1));

        let queue = Queue::new(1, Overflow::Fail);
        assert!(matches!(queue.push(1).await, Pushed::Queued));
        assert!(matches!(queue.push(2).await, Pushed::Full(2)));
        assert_eq!(queue.len(), 1);
    }

    #[tokio::test]
    async fn close_lets_the_queue_empty_then_ends_it() {
        let queue = Arc::new(Queue::new(1, Overflow::Wait));
        assert!(matches!(queue.push(1).await, Pushed::Queued));
        let waiting = tokio::spawn({
            let queue = Arc::clone(&queue);
            async move { matches!(queue.push(2).await, Pushed::Closed(2)) }
        });
        tokio::task::yield_now().await;
        queue.close();
        assert!(
            tokio::time::timeout(Duration::from_secs(5), waiting)
                .await
                .unwrap()
                .unwrap()
        );
        assert!(matches!(queue.push(3).await, Pushed::Closed(3)));
        assert_eq!(queue.pop().await, Some(1));
        assert_eq!(queue.pop().await, None);
    }
}
