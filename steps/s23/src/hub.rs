//! The hub (step 18): which pages are open for which user, so that the
//! server can send events to one user's pages. The same file in every later
//! step. Replaced at step 23: it can also send an event to every page.
//!
//! Each open page has a queue of its own, which its connection's task
//! empties into its WebSocket. Sending only puts an event in queues, never
//! waits: a page that is slow or gone cannot hold up the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytestring::ByteString;
use tokio::sync::mpsc;

/// How many events may wait for one page. A page that falls this far behind
/// is dropped: its connection is closed, and it must connect again.
const QUEUE: usize = 64;

/// The open pages of each user.
#[derive(Default)]
pub struct Hub {
    pages: Mutex<Pages>,
    next_page: AtomicU64,
}

/// By user id, the user's open pages: each page's number, and its queue.
type Pages = HashMap<i64, Vec<(u64, mpsc::Sender<ByteString>)>>;

impl Hub {
    /// A page of `user_id` wants that user's events: they come out of the
    /// subscription, until it is dropped, which takes the page out of the hub.
    pub fn subscribe(self: &Arc<Self>, user_id: i64) -> Subscription {
        let (sender, events) = mpsc::channel(QUEUE);
        let page = self.next_page.fetch_add(1, Ordering::Relaxed);
        self.lock().entry(user_id).or_default().push((page, sender));
        Subscription {
            hub: Arc::clone(self),
            user_id,
            page,
            events,
        }
    }

    /// Puts `event` (a frame's JSON text) in the queue of each open page of
    /// `user_id`, and answers how many. Each gets the same bytes, not a
    /// copy. A page whose queue is full is dropped instead.
    pub fn send(&self, user_id: i64, event: &ByteString) -> usize {
        let mut pages = self.lock();
        let Some(queues) = pages.get_mut(&user_id) else {
            return 0;
        };
        queues.retain(|(_, queue)| queue.try_send(event.clone()).is_ok());
        let sent = queues.len();
        if sent == 0 {
            pages.remove(&user_id);
        }
        sent
    }

    /// Puts `event` in the queue of every open page, whoever's (step 23).
    /// A page whose queue is full is dropped instead.
    pub fn send_to_everyone(&self, event: &ByteString) {
        let mut pages = self.lock();
        for queues in pages.values_mut() {
            queues.retain(|(_, queue)| queue.try_send(event.clone()).is_ok());
        }
        pages.retain(|_, queues| !queues.is_empty());
    }

    /// How many pages are open, for all the users together.
    pub fn pages_open(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// The map, locked. Nothing here awaits while holding it, and a panic
    /// while it was held leaves it usable (`into_inner`).
    fn lock(&self) -> MutexGuard<'_, Pages> {
        self.pages.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One page's place in the hub, and the events that come to it.
pub struct Subscription {
    hub: Arc<Hub>,
    user_id: i64,
    page: u64,
    events: mpsc::Receiver<ByteString>,
}

impl Subscription {
    /// The page's next event; `None` once the hub has dropped the page.
    pub async fn next(&mut self) -> Option<ByteString> {
        self.events.recv().await
    }
}

impl Drop for Subscription {
    /// The page's connection ended: it leaves the hub, and so does its user
    /// when it was their last page.
    fn drop(&mut self) {
        let mut pages = self.hub.lock();
        if let Some(queues) = pages.get_mut(&self.user_id) {
            queues.retain(|(page, _)| *page != self.page);
            if queues.is_empty() {
                pages.remove(&self.user_id);
            }
        }
    }
}
