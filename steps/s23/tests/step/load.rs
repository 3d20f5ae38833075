//! Many writers at once: 50 clients create 1,000 messages together, each
//! logged in as its author. Each is stored once and answered once, and each
//! open page gets every message of its user once, in the order the messages
//! were stored.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::json;
use shared::testing::{Client, Socket, TestApp, account_json};

const USERS: i64 = 10;
const PAGES_PER_USER: usize = 2;
const WRITERS: i64 = 50;
const MESSAGES_PER_WRITER: i64 = 20;

/// A page of a user, read by a thread of its own: the ids of the messages
/// it got, in the order they came, and when each came.
pub struct Reader {
    pub user_id: i64,
    got: Arc<Mutex<Vec<(i64, Instant)>>>,
    thread: JoinHandle<()>,
}

impl Reader {
    /// Reads `socket`, a page of `user_id` (subscribed to their events by
    /// its session), until `stop`.
    pub fn start(mut socket: Socket, user_id: i64, stop: &Arc<AtomicBool>) -> Reader {
        assert_eq!(
            socket.next_event(Duration::from_secs(5)),
            Some(json!({"event": "subscribed", "data": user_id}))
        );
        let got = Arc::new(Mutex::new(Vec::new()));
        let (arrivals, stop) = (got.clone(), stop.clone());
        let thread = thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let waited = Instant::now();
                match socket.next_event(Duration::from_millis(100)) {
                    Some(event) => {
                        assert_eq!(event["event"], "message", "{event}");
                        let id = event["data"]["id"].as_i64().expect("a message id");
                        arrivals.lock().unwrap().push((id, Instant::now()));
                    }
                    // Closed (it answers at once): do not spin.
                    None if waited.elapsed() < Duration::from_millis(50) => {
                        thread::sleep(Duration::from_millis(50));
                    }
                    None => {}
                }
            }
        });
        Reader {
            user_id,
            got,
            thread,
        }
    }

    /// How many messages it got so far.
    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    /// The ids it got and when, once its thread is told to stop.
    pub fn finish(self) -> Vec<(i64, Instant)> {
        self.thread.join().expect("the reader's thread");
        Arc::try_unwrap(self.got).expect("the thread is done").into_inner().unwrap()
    }
}

/// Creates `count` users through the API, ids 1 to `count`; answers a
/// client logged in as each, in the order of the ids.
fn add_users(app: &TestApp, count: i64) -> Vec<Client> {
    (1..=count)
        .map(|i| {
            let name = format!("User {i}");
            let email = format!("user{i}@foo.com");
            let (nickname, password) = (format!("user{i}"), format!("password {i}"));
            let user = account_json((&name, &email, &nickname), &password);
            let reply = app.post_json("/api/users", &user);
            assert_eq!(reply.status, 201, "{}", reply.body);
            let client = app.client();
            let reply = client.log_in(&nickname, &password).expect("an answer");
            assert_eq!(reply.status, 200, "{}", reply.body);
            client
        })
        .collect()
}

#[test]
fn fifty_writers_store_a_thousand_messages_and_every_page_gets_its_own_once_in_order() {
    let app = shared::test_app!();
    let users = add_users(&app, USERS);
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<Reader> = (1..=USERS)
        .flat_map(|user_id| (0..PAGES_PER_USER).map(move |_| user_id))
        .map(|user_id| {
            let page = users[(user_id - 1) as usize].websocket("/ws");
            Reader::start(page, user_id, &stop)
        })
        .collect();
    let memory_before = app.memory_kib();

    // All the writers start at once; each writes as one author, logged in,
    // to several recipients, itself now and then.
    let start = Arc::new(Barrier::new(WRITERS as usize + 1));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let author_id = 1 + writer % USERS;
            let client = users[(author_id - 1) as usize].clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                (0..MESSAGES_PER_WRITER)
                    .map(|i| {
                        let recipient_id = 1 + (writer + 1 + i) % USERS;
                        let body = json!({
                            "recipient_id": recipient_id,
                            "content": format!("writer {writer}, message {i}"),
                        });
                        let reply = client.post_json("/api/messages", &body).expect("an answer");
                        assert_eq!(reply.status, 201, "{}", reply.body);
                        let stored = reply.json();
                        assert_eq!(stored["content"], body["content"]);
                        (stored["id"].as_i64().unwrap(), author_id, recipient_id)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let stored: Vec<(i64, i64, i64)> = writers
        .into_iter()
        .flat_map(|writer| writer.join().expect("a writer"))
        .collect();
    let writing = began.elapsed();
    let memory_during = app.memory_kib();

    // 1,000 answers, 1,000 distinct ids, 1,000 rows.
    let total = (WRITERS * MESSAGES_PER_WRITER) as usize;
    assert_eq!(stored.len(), total);
    let mut ids: Vec<i64> = stored.iter().map(|(id, _, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "an id was answered twice");
    assert_eq!(app.count_rows("messages"), total as i64);

    // What each user's pages must get: the messages to or from the user, in
    // the order they were stored (by id).
    let mut expected: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for &(id, author_id, recipient_id) in &stored {
        expected.entry(recipient_id).or_default().push(id);
        if author_id != recipient_id {
            expected.entry(author_id).or_default().push(id);
        }
    }
    for ids in expected.values_mut() {
        ids.sort_unstable();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline
        && readers.iter().any(|reader| reader.count() < expected[&reader.user_id].len())
    {
        thread::sleep(Duration::from_millis(20));
    }
    let delivered = began.elapsed();
    // A little longer: a message sent twice would show now.
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    for reader in readers {
        let user_id = reader.user_id;
        let got: Vec<i64> = reader.finish().iter().map(|(id, _)| *id).collect();
        let want = &expected[&user_id];
        if &got != want {
            let mut sorted = got.clone();
            sorted.sort_unstable();
            let first_difference = got.iter().zip(want).position(|(a, b)| a != b);
            panic!(
                "a page of user {user_id} got {} messages, {} expected; {}; first difference \
                 at position {first_difference:?}",
                got.len(),
                want.len(),
                if &sorted == want {
                    "the same ones, in another order"
                } else {
                    "not the same ones"
                }
            );
        }
    }
    eprintln!(
        "{total} messages by {WRITERS} writers: written in {writing:?}, all delivered to \
         {} pages after {delivered:?}; server memory (KiB) before {memory_before:?}, \
         after writing {memory_during:?}, at the end {:?}",
        USERS as usize * PAGES_PER_USER,
        app.memory_kib()
    );
}
