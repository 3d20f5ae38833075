//! The tutorial's commands and the lesson's, typed verbatim into the real
//! httpie and curl clients (`:5001` becomes the test's port). From step 20,
//! httpie's `--session=NAME` keeps each user's session cookie, in a config
//! folder of the test's own (never the learner's httpie sessions).

use serde_json::{Value, json};
use shared::testing::httpie_is_installed;

#[test]
fn the_tutorial_commands_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    let app = shared::test_app!();

    assert_eq!(
        app.httpie("http :5001/db/alive"),
        json!({"status": "healthy", "message": "Database connection is alive"})
    );
    assert_eq!(
        app.httpie("http :5001/api/version"),
        json!({"version": "23"})
    );

    let alice = app.httpie(
        r#"http :5001/api/users name="Alice Caroll" email="alice@foo.com" nickname="alice" \
            password="alice-password""#,
    );
    let bob = app.httpie(
        r#"http :5001/api/users name="Bob Morane" email="bob@foo.com" nickname="bob" \
            password="bob-password""#,
    );
    let charlie = app.httpie(
        r#"http :5001/api/users name="Charlie Chaplin" email="charlie@foo.com" nickname="charlie" \
            password="charlie-password""#,
    );
    assert_eq!(
        alice,
        json!({"id": 1, "name": "Alice Caroll", "email": "alice@foo.com", "nickname": "alice"})
    );
    assert_eq!(bob["id"], 2);
    assert_eq!(charlie["id"], 3);

    assert_eq!(
        app.httpie("http :5001/api/users"),
        json!([alice, bob, charlie])
    );
    assert_eq!(app.httpie("http :5001/api/users/1"), alice);

    // Each user logs in once; httpie keeps their cookie in their session.
    assert_eq!(
        app.httpie("http --session=alice :5001/api/login nickname=alice password=alice-password"),
        alice
    );
    assert_eq!(
        app.httpie("http --session=bob :5001/api/login nickname=bob password=bob-password"),
        bob
    );
    let dialog = [
        r#"http --session=alice :5001/api/messages recipient_id=2 content="trois petits chats""#,
        r#"http --session=bob :5001/api/messages recipient_id=1 content="chapeau de paille""#,
        r#"http --session=alice :5001/api/messages recipient_id=2 content="paillasson""#,
        r#"http --session=bob :5001/api/messages recipient_id=1 content="somnambule""#,
        r#"http --session=alice :5001/api/messages recipient_id=2 content="bulletin""#,
        r#"http --session=bob :5001/api/messages recipient_id=1 content="tintamarre""#,
        r#"http --session=bob :5001/api/messages recipient_id=3 content="not visible by 1""#,
    ];
    for (i, line) in dialog.into_iter().enumerate() {
        let message = app.httpie(line);
        assert_eq!(message["id"], i + 1, "{message}");
        assert!(line.contains(message["content"].as_str().unwrap()));
        let author = if line.contains("--session=alice") {
            "alice"
        } else {
            "bob"
        };
        assert_eq!(message["author"]["nickname"], author);
    }
    assert_eq!(app.count_rows("messages"), 7);

    let hers = app.httpie("http --session=alice :5001/api/messages");
    assert_eq!(hers.as_array().map(Vec::len), Some(6), "{hers}");

    let with_1 = app.httpie("http --session=alice :5001/api/messages/with/1");
    assert_eq!(with_1.as_array().map(Vec::len), Some(6), "{with_1}");
}

#[test]
fn the_lesson_commands_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    let app = shared::test_app!();
    app.add_sample_users();
    let log_in_first =
        json!({"error": "log in first: POST /api/login with your nickname and password"});

    // Without a session.
    assert_eq!(
        app.httpie(r#"http :5001/api/messages recipient_id=2 content="hello?""#),
        log_in_first
    );
    assert_eq!(
        app.httpie("http --session=alice :5001/api/login nickname=alice password=wrong-password"),
        json!({"error": "wrong nickname or password"})
    );
    assert_eq!(
        app.httpie("http --session=alice :5001/api/login nickname=alison password=alice-password"),
        json!({"error": "wrong nickname or password"})
    );
    // Logged in.
    let alice =
        app.httpie("http --session=alice :5001/api/login nickname=alice password=alice-password");
    assert_eq!(alice["nickname"], "alice");
    let stored = app.httpie(
        r#"http --session=alice :5001/api/messages recipient_id=2 content="trois petits chats""#,
    );
    assert_eq!(stored["author"], alice);
    assert_eq!(
        app.httpie("http --session=alice :5001/api/messages/with/1"),
        json!([stored])
    );
    assert_eq!(
        app.httpie("http --session=alice :5001/api/messages/with/2"),
        json!({"error": "only user 2 may read their messages"})
    );
    assert_eq!(
        app.httpie(r#"http --session=alice :5001/api/messages author_id=2 recipient_id=1 content="as bob?""#),
        json!({"error": "author_id: leave it out, the author is whoever is logged in"})
    );
    assert_eq!(
        app.httpie(r#"http :5001/api/users name="Alice Again" email="a@foo.com" nickname="alice" password="12345678""#),
        json!({"error": "the nickname \"alice\" is taken: choose another one"})
    );
    // The cookie, as the server sets it.
    let answer = app.curl(
        r#"curl -i localhost:5001/api/login -H 'Content-Type: application/json' \
     -d '{"nickname": "alice", "password": "alice-password"}'"#,
    );
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let cookie = answer
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("set-cookie: session="))
        .unwrap_or_else(|| panic!("no session cookie: {answer}"));
    assert!(
        cookie.ends_with("; HttpOnly; SameSite=Lax; Path=/; Max-Age=604800"),
        "{cookie}"
    );
    // Logged out: the session is gone from httpie's file too.
    assert_eq!(
        app.httpie("http --session=alice POST :5001/api/logout"),
        json!({"status": "logged out"})
    );
    assert_eq!(
        app.httpie("http --session=alice :5001/api/messages"),
        log_in_first
    );
    assert_eq!(app.count_rows("messages"), 1);
}

#[test]
fn the_paging_commands_of_the_lesson_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    let app = shared::test_app!();
    app.add_sample_users();
    app.add_sample_messages_as_their_authors();
    let ids = |answer: Value| -> Vec<i64> {
        let list = answer.as_array().cloned().unwrap_or_else(|| panic!("a list: {answer}"));
        list.iter().map(|message| message["id"].as_i64().unwrap()).collect()
    };
    app.httpie("http --session=alice :5001/api/login nickname=alice password=alice-password");
    // Alice's six messages are 1 to 6 (the seventh is bob's to charlie).
    assert_eq!(
        ids(app.httpie("http --session=alice :5001/api/messages/with/1 limit==2")),
        [5, 6]
    );
    assert_eq!(
        ids(app.httpie("http --session=alice :5001/api/messages/with/1 before==5 limit==2")),
        [3, 4]
    );
    assert_eq!(
        app.httpie("http --session=alice :5001/api/messages/with/1 limit==500"),
        json!({"error": "limit must be a whole number from 1 to 200"})
    );
    // What httpie shows above the body in a terminal: the Link header.
    let headers =
        app.httpie_text("http --session=alice --headers :5001/api/messages/with/1 limit==2");
    assert!(
        headers.contains("link: </api/messages/with/1?before=5&limit=2>; rel=\"prev\""),
        "{headers}"
    );
    let headers = app
        .httpie_text("http --session=alice --headers :5001/api/messages/with/1 before==3 limit==2");
    assert!(
        !headers.contains("Link:"),
        "messages 1 and 2: the start\n{headers}"
    );
}

#[test]
fn the_lessons_commands_through_nginx_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    // Step 23: three instances behind nginx, whose port replaces 5010.
    let Some(chat) = shared::test_instances!() else {
        return;
    };
    chat.add_sample_users();
    assert_eq!(
        chat.httpie("http --session=alice :5010/api/login nickname=alice password=alice-password"),
        json!({"id": 1, "name": "Alice Caroll", "email": "alice@foo.com", "nickname": "alice"})
    );
    // Logged in through one instance, the session holds on the others.
    let stored = chat.httpie(
        r#"http --session=alice :5010/api/messages recipient_id=2 content="through any instance""#,
    );
    assert_eq!(stored["author"]["nickname"], "alice");
    assert_eq!(stored["recipient"]["nickname"], "bob");
    assert_eq!(stored["content"], "through any instance");
    assert_eq!(chat.sql("SELECT count(*) FROM messages").trim(), "1");
}
