//! Several instances behind nginx (step 23), with real PostgreSQL, Redis and
//! nginx (`shared::test_instances!()`): a message posted through one
//! instance reaches the pages on all of them, once each, in the order of
//! the ids, and a thousand pages over the three. What survives an instance,
//! Redis or PostgreSQL going down is checked in a real browser (pages.mjs).
//! And the lesson's lines of nginx.conf are the file's.

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::testing::{Instances, Socket};

/// Three instances behind nginx, with the sample users.
fn chat() -> Option<Instances> {
    let chat = shared::test_instances!()?;
    chat.add_sample_users();
    Some(chat)
}

/// A page of `nickname` connected to instance `i`, once subscribed.
fn page_on(chat: &Instances, i: usize, nickname: &str) -> Socket {
    let mut page = chat.instance(i).client_as(nickname).websocket("/ws");
    let subscribed = page.next_event(Duration::from_secs(5));
    assert_eq!(
        subscribed.as_ref().map(|e| &e["event"]),
        Some(&json!("subscribed"))
    );
    page
}

/// The ids of the next `count` message events of `page`, as they arrive.
fn next_ids(page: &mut Socket, count: usize) -> Vec<i64> {
    (0..count)
        .map(|n| {
            let event = page
                .next_event(Duration::from_secs(5))
                .unwrap_or_else(|| panic!("message {n} of {count} did not arrive"));
            assert_eq!(event["event"], "message", "{event}");
            event["data"]["id"].as_i64().expect("an id")
        })
        .collect()
}

#[test]
fn messages_posted_through_all_three_at_once_reach_a_page_on_each_once_in_the_order_of_their_ids() {
    let Some(chat) = chat() else { return };
    let mut pages: Vec<Socket> = (0..3).map(|i| page_on(&chat, i, "bob")).collect();
    let mut charlie = page_on(&chat, 1, "charlie");
    // alice writes to bob through the three instances at once, 40 each.
    let acknowledged: Vec<i64> = thread::scope(|scope| {
        let writers: Vec<_> = (0..3)
            .map(|i| {
                let alice = chat.instance(i).client_as("alice");
                scope.spawn(move || {
                    (0..40)
                        .map(|n| {
                            let body = json!({"recipient_id": 2, "content": format!("{i}.{n}")});
                            let reply = alice.post_json("/api/messages", &body).expect("an answer");
                            assert_eq!(reply.status, 201, "{}", reply.body);
                            reply.json()["id"].as_i64().expect("an id")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers.into_iter().flat_map(|w| w.join().expect("a writer")).collect()
    });
    let mut expected = acknowledged.clone();
    expected.sort_unstable();
    for page in &mut pages {
        // Each page gets all 120, each once, in the order of their ids:
        // one instance at a time stores and publishes (the turn).
        assert_eq!(next_ids(page, 120), expected);
        assert_eq!(page.next_event(Duration::from_millis(200)), None);
    }
    assert_eq!(charlie.next_event(Duration::from_millis(200)), None);
}

#[test]
fn a_thousand_pages_over_the_three_instances_each_get_their_users_messages_once() {
    let Some(chat) = chat() else { return };
    // 500 pages of bob and 500 of charlie, spread by nginx over the instances.
    let bob = chat.front_as("bob");
    let charlie = chat.front_as("charlie");
    let mut pages: Vec<(i64, Socket)> = (0..1000)
        .map(|n| match n % 2 {
            0 => (2, bob.websocket("/ws")),
            _ => (3, charlie.websocket("/ws")),
        })
        .collect();
    for (_, page) in &mut pages {
        let subscribed = page.next_event(Duration::from_secs(5)).expect("subscribed");
        assert_eq!(subscribed["event"], "subscribed");
    }
    // Each instance has a third of them, give or take.
    for (i, instance) in chat.instances().iter().enumerate() {
        let opened = instance.log().matches("subscribe: a page of user").count();
        assert!(
            (250..=420).contains(&opened),
            "instance {i} has {opened} pages"
        );
    }
    // alice writes five messages to each, through one instance.
    let alice = chat.instance(0).client_as("alice");
    let posted = Instant::now();
    let mut sent: Vec<Value> = Vec::new();
    for n in 0..5 {
        for recipient in [2, 3] {
            let body = json!({"recipient_id": recipient, "content": format!("to all {n}")});
            let reply = alice.post_json("/api/messages", &body).expect("an answer");
            assert_eq!(reply.status, 201, "{}", reply.body);
            sent.push(reply.json());
        }
    }
    for (user, page) in &mut pages {
        let theirs: Vec<i64> = sent
            .iter()
            .filter(|message| message["recipient"]["id"] == *user)
            .map(|message| message["id"].as_i64().expect("an id"))
            .collect();
        assert_eq!(next_ids(page, theirs.len()), theirs);
    }
    let all_delivered = posted.elapsed();
    for (_, page) in pages.iter_mut().step_by(97) {
        assert_eq!(page.next_event(Duration::from_millis(50)), None);
    }
    eprintln!(
        "1,000 pages over 3 instances: 10 messages posted and delivered in {all_delivered:?}"
    );
}

#[test]
fn the_lessons_nginx_lines_are_the_steps_nginx_conf() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let lesson = std::fs::read_to_string(format!("{dir}/README.md")).expect("the lesson");
    let conf = std::fs::read_to_string(format!("{dir}/nginx.conf")).expect("nginx.conf");
    let blocks: Vec<String> = lesson
        .split("```nginx\n")
        .skip(1)
        .map(|rest| {
            let block = rest.split("```").next().unwrap_or_default();
            // The block as the lesson indents it in its list.
            block
                .lines()
                .map(|line| line.strip_prefix("  ").unwrap_or(line))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert!(!blocks.is_empty(), "the lesson shows nginx.conf");
    for block in blocks {
        assert!(
            conf.contains(block.trim_end()),
            "not in nginx.conf:\n{block}"
        );
    }
}
