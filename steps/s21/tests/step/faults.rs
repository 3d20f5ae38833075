//! Faults under a running step: a query that panics among many writers, the
//! database file moved away or made read-only, the server killed in the
//! middle of writing. Nothing acknowledged is lost, and the step says what
//! is wrong until it can work again. The writers are alice, logged in (step
//! 20), and stay logged in across a restart.

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::testing::{TestApp, assert_json_error};

/// A message to bob, as `POST /api/messages` takes it (from alice, logged in).
fn message(content: &str) -> Value {
    json!({"recipient_id": 2, "content": content})
}

/// The app with the sample users, logged in as alice.
fn app_as_alice() -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app.log_in_as("alice");
    app
}

/// The database cannot be used: a write and a read get a JSON error without
/// details, `/db/alive` is unhealthy, and the log says `why`.
#[track_caller]
fn refused_because(app: &TestApp, why: &str) {
    let write = app.post_json("/api/messages", &message("lost?"));
    assert_json_error(&write, 503, "the database cannot be used now");
    assert!(!write.body.contains("chat.db"), "{}", write.body);
    assert_json_error(&app.get("/api/messages"), 503, "cannot be used now");
    assert_eq!(app.get("/db/alive").status, 503);
    assert!(app.log().contains(why), "the log should say {why:?}");
}

#[test]
fn a_query_that_panics_among_many_writers_fails_alone_and_writes_nothing() {
    let app = app_as_alice();
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let client = app.client();
            thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        let body = message(&format!("writer {writer}, message {i}"));
                        client.post_json("/api/messages", &body).expect("an answer")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(20));
    app.make_the_next_query_panic();
    let replies: Vec<_> = writers
        .into_iter()
        .flat_map(|writer| writer.join().expect("a writer"))
        .collect();
    let failed: Vec<_> = replies.iter().filter(|reply| reply.status != 201).collect();
    assert_eq!(failed.len(), 1, "one query panicked: {failed:?}");
    assert_json_error(failed[0], 500, "database error");
    assert_eq!(
        app.count_rows("messages"),
        199,
        "every 201 is a row, and only they"
    );
    assert_eq!(app.get("/db/alive").status, 200);
}

#[test]
fn a_handler_that_panics_answers_500_and_the_server_goes_on() {
    let app = app_as_alice();
    let pid = app.pid();
    app.make_the_next_request_panic();
    let reply = app.post_json("/api/messages", &message("never stored"));
    assert_json_error(&reply, 500, "internal error");
    assert!(
        app.log().contains("this handler panics"),
        "the log should say so"
    );
    assert_eq!(app.count_rows("messages"), 0, "the handler never ran");
    // The same process, its database usable, serving the next requests.
    let reply = app.post_json("/api/messages", &message("stored"));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(
        app.get("/api/messages").json().as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(app.get("/db/alive").status, 200);
    assert_eq!(app.pid(), pid);
}

#[test]
fn a_database_file_moved_away_refuses_work_and_loses_nothing_once_it_is_back() {
    let app = app_as_alice();
    app.add_sample_messages_as_their_authors();
    let moved = app.db_path().with_extension("moved");
    fs::rename(app.db_path(), &moved).expect("move the file away");
    // Without the check, this write would go to the file that moved away,
    // and a restart would start a new, empty database.
    refused_because(&app, "is gone (deleted or moved)");
    fs::rename(&moved, app.db_path()).expect("move the file back");
    assert_eq!(app.get("/db/alive").status, 200);
    let reply = app.post_json("/api/messages", &message("back"));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let app = app.restart();
    assert_eq!(
        app.count_rows("messages"),
        8,
        "the seven, and the one after"
    );
    // Still logged in, after the restart: alice's six, and the one after.
    assert_eq!(
        app.get("/api/messages").json().as_array().map(Vec::len),
        Some(7)
    );
}

#[test]
fn a_read_only_database_file_refuses_work_until_it_is_writable_again() {
    let app = app_as_alice();
    app.set_database_read_only(true);
    // Root may write to a read-only file, and so may a connection opened
    // before the mark: only the step's own check refuses here, the same for
    // root and anyone else.
    refused_because(&app, "is read-only");
    app.set_database_read_only(false);
    let reply = app.post_json("/api/messages", &message("writable again"));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(app.count_rows("messages"), 1);
}

#[test]
fn a_server_killed_while_writing_loses_no_message_it_acknowledged() {
    let app = app_as_alice();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (client, stop) = (app.client(), stop.clone());
            thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    let body = message(&format!("writer {writer}, message {i}"));
                    // No answer: the server is gone.
                    let Some(reply) = client.post_json("/api/messages", &body) else {
                        break;
                    };
                    assert_eq!(reply.status, 201, "{}", reply.body);
                    acknowledged.push(reply.json()["id"].as_i64().expect("an id"));
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                }
                acknowledged
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    // `restart` kills the server as `kill -9` does (SIGKILL: no clean-up at
    // all), in the middle of the writes, then starts it on the same file.
    let killed = Instant::now();
    let app = app.restart();
    let restarted = killed.elapsed();
    stop.store(true, Ordering::SeqCst);
    let acknowledged: Vec<i64> = writers
        .into_iter()
        .flat_map(|writer| writer.join().expect("a writer"))
        .collect();
    assert!(acknowledged.len() > 50, "the writers barely started");
    let stored: Vec<i64> = app
        .get("/api/messages")
        .json()
        .as_array()
        .expect("a list")
        .iter()
        .map(|message| message["id"].as_i64().expect("an id"))
        .collect();
    let lost: Vec<_> = acknowledged.iter().filter(|id| !stored.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    eprintln!(
        "killed while writing: {} messages acknowledged, {} rows after the restart \
         (restarted in {restarted:?})",
        acknowledged.len(),
        stored.len()
    );
}
