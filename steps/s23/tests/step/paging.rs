//! A conversation in pages (step 21): `GET /api/messages/with/<id>?before=<id>&limit=<n>`,
//! the `Link` header to the page before, bad queries, and the query's plan.

use serde_json::{Value, json};
use shared::testing::{Reply, TestApp, assert_json_error, bad_input};

/// The app with the tutorial's three users, logged in as alice (user 1),
/// and `count` messages: alice to bob, bob to alice, alice to herself, and
/// bob to charlie (not alice's), in turn. Written straight into the
/// database, in one transaction: these tests are about reading them.
fn app_with_messages(count: usize) -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app.log_in_as("alice");
    // In one statement: 0 to count - 1, each message's users in turn.
    app.sql(&format!(
        "INSERT INTO messages (content, author_id, recipient_id)
         SELECT 'message ' || i, (ARRAY[1, 2, 1, 2])[i % 4 + 1], (ARRAY[2, 1, 1, 3])[i % 4 + 1]
         FROM generate_series(0, {count} - 1) AS i ORDER BY i"
    ));
    app
}

/// The ids of alice's conversation, oldest first, as the database has them.
fn alices_ids(app: &TestApp) -> Vec<i64> {
    app.sql("SELECT id FROM messages WHERE author_id = 1 OR recipient_id = 1 ORDER BY id")
        .lines()
        .map(|id| id.parse().unwrap())
        .collect()
}

/// The ids of a page's messages, in the order listed.
fn ids(reply: &Reply) -> Vec<i64> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    let list = reply.json();
    let list = list.as_array().unwrap_or_else(|| panic!("a list: {list}"));
    list.iter().map(|message| message["id"].as_i64().unwrap()).collect()
}

/// The URL of the page before, from `Link: <url>; rel="prev"`, if there is one.
fn prev(reply: &Reply) -> Option<String> {
    let link = reply.header("link")?;
    let url = link.strip_prefix('<')?.strip_suffix(">; rel=\"prev\"");
    Some(url.unwrap_or_else(|| panic!("Link: {link}")).to_string())
}

#[test]
fn paging_back_from_the_newest_page_walks_every_message_once_in_order() {
    let app = app_with_messages(300);
    let expected = alices_ids(&app);
    assert_eq!(expected.len(), 225);
    // 45 divides 225: the fifth page is the last, and says so (no Link).
    for limit in [37, 45, 200] {
        let mut pages = Vec::new();
        let mut url = Some(format!("/api/messages/with/1?limit={limit}"));
        while let Some(next) = url {
            let reply = app.get(&next);
            let page = ids(&reply);
            assert!(!page.is_empty() && page.len() <= limit, "{next}: {page:?}");
            assert!(page.is_sorted(), "oldest first within a page: {page:?}");
            url = prev(&reply);
            if url.is_some() {
                assert_eq!(page.len(), limit, "only the oldest page is short");
            }
            pages.push(page);
        }
        assert_eq!(pages.len(), expected.len().div_ceil(limit), "limit {limit}");
        let walked: Vec<i64> = pages.into_iter().rev().flatten().collect();
        assert_eq!(walked, expected, "limit {limit}");
    }
}

#[test]
fn without_a_query_the_newest_50_come_with_the_link_to_the_page_before() {
    let app = app_with_messages(300);
    let expected = alices_ids(&app);
    let reply = app.get("/api/messages/with/1");
    assert_eq!(ids(&reply), expected[expected.len() - 50..]);
    let before = expected[expected.len() - 50];
    assert_eq!(
        reply.header("link").as_deref(),
        Some(format!(r#"</api/messages/with/1?before={before}&limit=50>; rel="prev""#).as_str())
    );
    // The shape of each message is the one every step since 11 has answered.
    let first = &reply.json()[0];
    let mut keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["author", "content", "date", "id", "recipient"]);
}

#[test]
fn a_conversation_of_one_page_has_no_link() {
    let app = app_with_messages(8);
    let reply = app.get("/api/messages/with/1");
    assert_eq!(ids(&reply), alices_ids(&app));
    assert_eq!(reply.header("link"), None);
    let reply = app.get("/api/messages/with/1?limit=6");
    assert_eq!(ids(&reply).len(), 6);
    assert_eq!(
        reply.header("link"),
        None,
        "6 messages, a page of 6: nothing before"
    );
}

#[test]
fn any_whole_number_is_a_before_even_an_id_that_is_not_in_the_conversation() {
    let app = app_with_messages(40);
    let expected = alices_ids(&app);
    let newest = ids(&app.get("/api/messages/with/1"));
    // Beyond the newest message: the newest page.
    assert_eq!(ids(&app.get("/api/messages/with/1?before=100000")), newest);
    assert_eq!(
        ids(&app.get(&format!("/api/messages/with/1?before={}", i64::MAX))),
        newest
    );
    // Before the first message, or no id at all: an empty page, and no link.
    for before in ["1", "0", "-5", &i64::MIN.to_string()] {
        let reply = app.get(&format!("/api/messages/with/1?before={before}"));
        assert_eq!(reply.json(), json!([]), "before={before}");
        assert_eq!(reply.header("link"), None);
    }
    // Message 4 is bob's to charlie: the page is alice's messages older than it.
    assert!(!expected.contains(&4));
    let older: Vec<i64> = expected.iter().copied().filter(|&id| id < 4).collect();
    assert_eq!(ids(&app.get("/api/messages/with/1?before=4")), older);
}

#[test]
fn a_bad_limit_or_before_is_a_422_naming_the_field() {
    let app = app_with_messages(8);
    let limit = "limit must be a whole number from 1 to 200";
    let before = "before must be a message's id: a whole number, like 120";
    for (query, hint) in [
        ("limit=0", limit),
        ("limit=-1", limit),
        ("limit=201", limit),
        ("limit=100000", limit),
        ("limit=abc", limit),
        ("limit=", limit),
        ("limit=1.5", limit),
        ("limit=99999999999999999999", limit),
        ("before=abc", before),
        ("before=", before),
        ("before=1.5", before),
        ("before=99999999999999999999", before),
        ("before=1&limit=0", limit),
    ] {
        let reply = app.get(&format!("/api/messages/with/1?{query}"));
        assert_json_error(&reply, 422, hint);
    }
    for (query, length) in [
        ("limit=1", 1),
        ("limit=200", 6),
        ("limit=%32", 2),
        ("after=3", 6),
    ] {
        let reply = app.get(&format!("/api/messages/with/1?{query}"));
        assert_eq!(ids(&reply).len(), length, "{query}");
    }
}

#[test]
fn odd_queries_never_get_a_5xx() {
    let app = app_with_messages(8);
    for query in [
        "%FF=%3Cb%3E",
        "before=%FF",
        "limit=%00",
        "'OR'1'='1",
        "before=1;DROP%20TABLE%20messages",
        "limit=50&before=7&before=8",
        "&&&",
        "limit",
        "before=+3",
    ] {
        let path = format!("/api/messages/with/1?{query}");
        let reply = bad_input::send(&app, "GET", &path, &[], b"");
        assert!(
            reply.status == 200 || reply.status == 422,
            "?{query}: {} {}",
            reply.status,
            reply.body
        );
        let answer: Value = serde_json::from_str(&reply.body).expect("JSON");
        assert!(
            answer.is_array() || answer["error"].is_string(),
            "?{query}: {answer}"
        );
    }
    // Another user's page is still theirs, whatever the query.
    assert_json_error(
        &app.get("/api/messages/with/2?limit=abc"),
        403,
        "only user 2 may read their messages",
    );
    assert_eq!(app.count_rows("messages"), 8);
}

/// PostgreSQL's plan for `query`, its `$1`, `$2`... given as `values`, as
/// `EXPLAIN` prints it. With so few rows, reading the whole table would be
/// cheaper: the plan is asked for as if the table were large.
fn plan(app: &TestApp, query: &str, values: &[i64]) -> String {
    let mut query = query.to_string();
    for (at, value) in values.iter().enumerate().rev() {
        query = query.replace(&format!("${}", at + 1), &value.to_string());
    }
    app.sql(&format!(
        "SET enable_seqscan = off; EXPLAIN (COSTS OFF) {query}"
    ))
}

/// The page's query, as `select_page` (paging.rs) runs it.
const PAGE_QUERY: &str = "SELECT m.id, m.content, m.date,
           a.id, a.name, a.email, a.nickname,
           r.id, r.name, r.email, r.nickname
    FROM messages AS m
    JOIN users AS a ON a.id = m.author_id
    JOIN users AS r ON r.id = m.recipient_id WHERE m.id IN (
                 (SELECT id FROM messages WHERE author_id = $1 AND id < $2
                  ORDER BY id DESC LIMIT $3)
                 UNION ALL
                 (SELECT id FROM messages
                  WHERE recipient_id = $1 AND author_id <> $1 AND id < $2
                  ORDER BY id DESC LIMIT $3)
                 ORDER BY id DESC LIMIT $3
             ) ORDER BY m.id";

#[test]
fn a_page_is_two_range_scans_of_the_indexes() {
    let app = app_with_messages(8);
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/paging.rs"));
    let src = src.unwrap();
    for line in PAGE_QUERY.lines().skip(6) {
        assert!(src.contains(line), "paging.rs runs another query: {line}");
    }
    let keyset = plan(&app, PAGE_QUERY, &[1, 1000, 51]);
    eprintln!("the page's plan:\n{keyset}");
    // Each side: at most a page, read backwards from its index, from
    // `before` down, and the two merged in id order (no sort of them).
    assert!(keyset.contains("->  Merge Append"), "{keyset}");
    for index in ["messages_by_author", "messages_by_recipient"] {
        let scan = format!("Scan Backward using {index}");
        let limited = keyset.lines().zip(keyset.lines().skip(1)).any(|(above, line)| {
            above.trim() == "->  Limit" && line.contains("->  Index") && line.contains(&scan)
        });
        assert!(limited, "{keyset}");
    }
    // The indexes hold the user's id, then the message's.
    let indexes = app.sql("SELECT indexdef FROM pg_indexes WHERE tablename = 'messages'");
    for columns in ["(author_id, id)", "(recipient_id, id)"] {
        assert!(indexes.contains(columns), "{indexes}");
    }
}
