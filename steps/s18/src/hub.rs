//! The hub (step 18): which pages are open for which user, so that the
//! server can send events to one user's pages. The same file in every later
//! step.
//!
//! Each open page has a queue of its own, which its connection's task
//! empties into its WebSocket. Sending only puts an event in queues, never
//! waits: a page that is slow or gone cannot hold up the others.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;

/// How many events may wait for one page. A page that falls this far behind
/// is dropped: its connection is closed, and it must connect again.
const QUEUE: usize = 64;

/// The open pages of each user, by user id.
#[derive(Default)]
pub struct Hub {
    pages: Mutex<HashMap<i64, Vec<mpsc::Sender<String>>>>,
}

impl Hub {
    /// A page of `user_id` wants that user's events: they come out of the
    /// receiver. The page stops receiving when it drops the receiver.
    pub fn subscribe(&self, user_id: i64) -> mpsc::Receiver<String> {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let mut pages = self.lock();
        let senders = pages.entry(user_id).or_default();
        // Forget the pages of this user that have closed since.
        senders.retain(|sender| !sender.is_closed());
        senders.push(sender);
        receiver
    }

    /// Puts `event` (a frame's JSON text) in the queue of each open page of
    /// `user_id`, and answers how many. A page whose queue is full or closed
    /// is dropped instead.
    pub fn send(&self, user_id: i64, event: &str) -> usize {
        let mut pages = self.lock();
        let Some(senders) = pages.get_mut(&user_id) else {
            return 0;
        };
        senders.retain(|sender| sender.try_send(event.to_string()).is_ok());
        let sent = senders.len();
        if sent == 0 {
            pages.remove(&user_id);
        }
        sent
    }

    /// The map, locked. Nothing here awaits while holding it, and a panic
    /// while it was held leaves it usable (`into_inner`).
    fn lock(&self) -> MutexGuard<'_, HashMap<i64, Vec<mpsc::Sender<String>>>> {
        self.pages.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
