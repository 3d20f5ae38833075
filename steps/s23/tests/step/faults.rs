//! Faults under a running step: a query that panics among many writers, the
//! database file moved away or made read-only, the server killed in the
//! middle of writing. Nothing acknowledged is lost, and the step says what
//! is wrong until it can work again. The writers are alice, logged in (step
//! 20), and stay logged in across a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
fn a_server_killed_while_writing_loses_no_message_it_acknowledged() {
    let app = app_as_alice();
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let (client, stop, answered) = (app.client(), stop.clone(), answered.clone());
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
                    answered.fetch_add(1, Ordering::SeqCst);
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                }
                acknowledged
            })
        })
        .collect();
    // In the middle of the writes: once a hundred are acknowledged (on a
    // busy machine, that may take longer than the 200 ms it takes alone).
    let started = Instant::now();
    while answered.load(Ordering::SeqCst) < 100 && started.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(10));
    }
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
    assert!(
        acknowledged.len() > 50,
        "the writers barely started: {}",
        acknowledged.len()
    );
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

#[test]
fn postgresql_stopped_gets_a_json_503_and_the_step_is_back_by_itself_when_it_returns() {
    use shared::services::Kind;
    // A PostgreSQL of this test's own, which it stops and starts again.
    let Some(mut services) = shared::testing::services(&[Kind::Postgres], &[]) else {
        return;
    };
    let url = services.database_url().expect("PostgreSQL runs");
    let bin = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));
    let app = TestApp::start_on_database(bin, &url);
    app.add_sample_users();
    app.log_in_as("alice");
    assert_eq!(
        app.post_json("/api/messages", &message("before")).status,
        201
    );

    let port = services.stop_postgres().expect("PostgreSQL ran");
    refused_because(&app, "database error");
    assert_eq!(
        app.get("/db/alive").json(),
        json!({"status": "unhealthy", "error": "the database does not answer"})
    );

    services.start_postgres_again(port).expect("start PostgreSQL again");
    // Back by itself: the pool opens new connections as they are needed.
    assert_eq!(app.get("/db/alive").status, 200, "{}", app.log());
    let reply = app.post_json("/api/messages", &message("after"));
    assert_eq!(reply.status, 201, "{}", reply.body);
    let listed = app.get("/api/messages").json();
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(2),
        "nothing lost: {listed}"
    );
}
