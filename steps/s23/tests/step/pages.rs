//! The pages (steps 04, 05, 12 to 14 and 20): their HTML as sent, then in headless
//! Chromium (the checks in `pages.mjs`, next to this file; see docs/browser-tests.md).

use std::cell::RefCell;

use serde_json::json;
use shared::testing::instances::INSTANCES;
use shared::testing::{Instances, TestApp, USERS, browser};

/// The app with the tutorial's three users, logged in as alice (user 1).
fn app_as_alice() -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app.log_in_as("alice");
    app
}

#[test]
fn the_users_page_links_each_user_to_their_messages() {
    let app = shared::test_app!();
    app.add_sample_users();
    let page = app.get("/front/users");
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("(version 23)"));
    for (i, (name, email, nickname)) in USERS.iter().enumerate() {
        let id = i + 1;
        assert!(
            page.body.contains(&format!(
                r#"<a href="/front/messages/{id}">{nickname} ({name})</a>"#
            )),
            "{}",
            page.body
        );
        assert!(page.body.contains(&format!(r#"href="mailto:{email}""#)));
    }
    assert!(page.body.contains(r#"href="/static/style.css""#));
    // Logged out: the way to log in or to sign up (step 20).
    assert!(
        page.body.contains(r#"<a href="/front/login">Log in</a>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"<a href="/front/signup">Sign up</a>"#));
    assert!(!page.body.contains("Log out"));
    app.log_in_as("bob");
    let page = app.get("/front/users").body;
    assert!(
        page.contains(r#"<a href="/front/messages">Your messages</a>"#),
        "{page}"
    );
    assert!(page.contains(r#"<button id="logout" type="button">Log out</button>"#));
}

#[test]
fn the_users_page_shows_markup_in_names_as_text() {
    let app = shared::test_app!();
    let reply = app.post_json(
        "/api/users",
        &json!({
            "name": "<b>x</b>",
            "email": "e\"@x.org",
            "nickname": "<script>alert(1)</script>",
            "password": "a-password",
        }),
    );
    assert_eq!(reply.status, 201);
    let page = app.get("/front/users").body;
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; (&lt;b&gt;x&lt;/b&gt;)"));
    assert!(page.contains(r#"href="mailto:e&quot;@x.org""#));
    assert!(!page.contains("<script>"));
    assert!(!page.contains("<b>x"));
}

#[test]
fn pages_may_load_only_from_this_server() {
    let app = shared::test_app!();
    let page = app.get("/front/users");
    assert_eq!(
        page.header("content-security-policy").as_deref(),
        Some(
            "default-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
    );
    assert_eq!(
        page.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
}

#[test]
fn the_stylesheet_is_served_from_the_binary() {
    let reply = shared::test_app!().get("/static/style.css");
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("text/css"));
    assert!(reply.body.contains("ul.users"));
}

#[test]
fn the_root_redirects_to_the_users_page() {
    let reply = shared::test_app!().get("/");
    assert_eq!(reply.status, 302);
    assert_eq!(reply.location.as_deref(), Some("/front/users"));
}

#[test]
fn the_signup_and_login_pages_have_their_forms() {
    let app = shared::test_app!();
    let page = app.get("/front/signup");
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"<form id="signup">"#), "{}", page.body);
    for field in [
        r#"<input id="name" type="text" name="name" autocomplete="name" required>"#,
        r#"<input id="email" type="email" name="email" autocomplete="email" required>"#,
        r#"<input id="nickname" type="text" name="nickname" autocomplete="username" required>"#,
        r#"<input id="password" type="password" name="password" autocomplete="new-password" required>"#,
    ] {
        assert!(page.body.contains(field), "{field}\n{}", page.body);
    }
    assert!(page.body.contains(r#"<script src="/static/accounts.js"></script>"#));
    let page = app.get("/front/login");
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r#"<form id="login">"#), "{}", page.body);
    assert!(page.body.contains(r#"autocomplete="current-password""#));
    assert!(page.body.contains(r#"<a href="/front/signup">Sign up.</a>"#));
    let script = app.get("/static/accounts.js");
    assert!(script.content_type.starts_with("text/javascript"));
    assert!(script.body.contains("'/api/login'"));
}

#[test]
fn the_messages_pages_are_the_logged_in_users_only() {
    let app = shared::test_app!();
    app.add_sample_users();
    // Logged out: the login form, with 401, at either address.
    for path in [
        "/front/messages",
        "/front/messages/1",
        "/front/messages/abc",
    ] {
        let page = app.get(path);
        assert_eq!(page.status, 401, "{path}");
        assert!(
            page.body.contains(r#"<form id="login">"#),
            "{path}: {}",
            page.body
        );
    }
    app.log_in_as("alice");
    let mine = app.get("/front/messages");
    assert_eq!(mine.status, 200);
    assert!(mine.body.contains("Messages of alice (Alice Caroll)"));
    assert_eq!(app.get("/front/messages/1").body, mine.body);
    // Anyone else's: 403, with the way to one's own.
    for other in [2, 3, 99] {
        let page = app.get(&format!("/front/messages/{other}"));
        assert_eq!(page.status, 403, "{other}");
        assert!(page.body.contains(&format!("Only user {other} may read their messages.")));
        assert!(page.body.contains(r#"<a href="/front/messages">See yours.</a>"#));
    }
}

#[test]
fn the_messages_page_shows_the_conversation_oldest_first() {
    let app = app_as_alice();
    app.add_sample_messages_as_their_authors();
    let page = app.get("/front/messages");
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("Messages of alice (Alice Caroll)"));
    assert!(page.body.contains(r#"<a href="/front/users">"#));
    let mut from = 0;
    for content in [
        "trois petits chats",
        "chapeau de paille",
        "paillasson",
        "somnambule",
        "bulletin",
        "tintamarre",
    ] {
        let at = page.body[from..]
            .find(&format!("<td>{content}</td>"))
            .unwrap_or_else(|| panic!("{content} missing or out of order:\n{}", page.body));
        from += at;
    }
    assert!(!page.body.contains("not visible by 1"));
    // The exact date stays in the markup; people read it without the T and Z.
    let date = app.get("/api/messages/with/1").json()[0]["date"].as_str().unwrap().to_string();
    let readable = format!("{} {} UTC", &date[..10], &date[11..16]);
    assert!(
        page.body.contains(&format!(r#"<time datetime="{date}">{readable}</time>"#)),
        "{}",
        page.body
    );
}

#[test]
fn the_messages_page_of_an_id_that_is_no_number_is_a_404_page_with_a_way_back() {
    let app = app_as_alice();
    for (path, shown) in [
        ("/front/messages/abc", "There is no user abc."),
        ("/front/messages/%3Cb%3E", "There is no user &lt;b&gt;."),
    ] {
        let page = app.get(path);
        assert_eq!(page.status, 404, "{path}");
        assert!(page.content_type.starts_with("text/html"), "{path}");
        assert!(page.body.contains(shown), "{path}: {}", page.body);
        assert!(page.body.contains(r#"href="/front/users""#), "{path}");
    }
}

#[test]
fn markup_in_a_message_is_shown_as_text() {
    let app = app_as_alice();
    let markup = "<img src=x onerror=alert(1)>";
    let body = json!({"recipient_id": 2, "content": markup});
    assert_eq!(app.post_json("/api/messages", &body).status, 201);
    app.log_in_as("bob");
    let page = app.get("/front/messages").body;
    assert!(
        page.contains("<td>&lt;img src=x onerror=alert(1)&gt;</td>"),
        "{page}"
    );
    assert!(!page.contains("<img"));
}

#[test]
fn the_messages_page_has_a_form_to_write_to_every_other_user() {
    let app = shared::test_app!();
    app.add_sample_users();
    app.log_in_as("bob");
    let page = app.get("/front/messages").body;
    assert!(page.contains(r#"<form id="send">"#), "{page}");
    // No author in the form: the server knows who is logged in (step 20).
    assert!(!page.contains("author_id"), "{page}");
    assert!(page.contains(r#"<button id="logout" type="button">Log out</button>"#));
    assert!(page.contains(r#"<label for="recipient">To</label>"#));
    assert!(page.contains(r#"<option value="1">alice</option>"#));
    assert!(page.contains(r#"<option value="3">charlie</option>"#));
    assert!(!page.contains(r#"<option value="2">"#), "not to oneself");
    assert!(page.contains(r#"<label for="content">Message</label>"#));
    assert!(page.contains(r#"<script src="/static/script.js"></script>"#));
    assert!(page.contains(r#"<p class="error" role="alert" hidden></p>"#));
}

#[test]
fn the_messages_page_tells_its_script_whose_page_it_is_escaped() {
    let app = shared::test_app!();
    let nickname = "\"><script>alert(1)</script>";
    let marked =
        json!({"name": "M", "email": "m@x.org", "nickname": nickname, "password": "password"});
    assert_eq!(app.post_json("/api/users", &marked).status, 201);
    assert_eq!(app.log_in(nickname, "password").status, 200);
    let page = app.get("/front/messages/1").body;
    assert!(
        page.contains(
            r#"<body data-user-id="1" data-nickname="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">"#
        ),
        "{page}"
    );
    assert!(
        app.get("/front/users").body.contains("<body>"),
        "no user there"
    );
}

#[test]
fn the_script_is_served_from_the_binary() {
    let reply = shared::test_app!().get("/static/script.js");
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("text/javascript"));
    assert!(reply.body.contains("fetch('/api/messages'"));
}

#[test]
fn the_pages_work_in_a_real_browser_on_three_instances_behind_nginx() {
    // Step 23: every check goes through nginx, in front of three instances
    // on a PostgreSQL of the test's own, which the last checks stop.
    let bin = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));
    let Some(chat) = Instances::start_with(bin, INSTANCES, true) else {
        return;
    };
    let app = chat.instance(0);
    app.add_sample_users();
    // A user whose nickname and name are markup: the page must show it as text.
    let marked = json!({
        "name": "<b>x</b><img src=x onerror=\"alert('name ran')\">",
        "email": "marked@foo.com",
        "nickname": "<script>alert('nickname ran')</script>",
        "password": "marked-password",
    });
    assert_eq!(app.post_json("/api/users", &marked).status, 201);
    app.add_sample_messages_as_their_authors();
    // Dave (user 5) and 120 notes to himself: more than a page (step 21).
    let dave = json!({
        "name": "Dave Paging",
        "email": "dave@foo.com",
        "nickname": "dave",
        "password": "dave-password",
    });
    assert_eq!(app.post_json("/api/users", &dave).status, 201);
    app.sql(
        "INSERT INTO messages (content, author_id, recipient_id)
         SELECT 'note ' || i, 5, 5 FROM generate_series(0, 119) AS i ORDER BY i",
    );
    // A message whose content is markup, from alice to bob.
    app.log_in_as("alice");
    let marked = json!({
        "recipient_id": 2,
        "content": "<img src=x onerror=\"alert('content ran')\"><b>bold?</b>",
    });
    assert_eq!(app.post_json("/api/messages", &marked).status, 201);

    let before = app.count_rows("messages");
    let front = chat.front_url();
    let chat = RefCell::new(chat);
    let ran = browser::check_pages_with(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/step/pages.mjs"),
        "s23",
        &front,
        &|command| control(&mut chat.borrow_mut(), command),
    );
    // pages.mjs sends ten messages from the form that the server stores
    // (five of odd text), and four it refuses or never receives (one from a
    // script that names an author), and six through the API, each logged in
    // as its author: sixteen are in the file; and dave's 61 more notes, 60
    // while his page is not connected and one once it is again, then 56
    // while a catch-up is held and one from his page's form (step 21).
    // Step 23: nine through the instances, up to 60 while one is killed,
    // four around Redis's stop, one once PostgreSQL is back.
    let chat = chat.into_inner();
    if ran {
        let stored = chat.instance(0).count_rows("messages") - before;
        let expected = 16 + 61 + 57 + 9 + 4 + 1;
        assert!(
            (expected + 50..=expected + 60).contains(&stored),
            "{stored} stored"
        );
        // Each messages page connected its WebSocket (step 16), subscribed
        // to its session's user's events (step 20), on every instance.
        for instance in chat.instances() {
            let log = instance.log();
            assert!(log.contains("connect-ack: \"the messages page of"), "{log}");
            assert!(log.contains("subscribe: a page of user"), "{log}");
        }
    }
}

/// What the page checks ask of the instances (`app.control(...)` in
/// pages.mjs), answered as text.
fn control(chat: &mut Instances, command: &str) -> Result<String, String> {
    let words: Vec<&str> = command.split(' ').collect();
    let instance = |word: &str| {
        word.parse::<usize>()
            .ok()
            .filter(|&i| i < chat.instances().len())
            .ok_or(format!("no instance {word:?}"))
    };
    match words.as_slice() {
        ["instances"] => {
            let urls: Vec<&str> =
                chat.instances().iter().map(|app| app.base_url.as_str()).collect();
            return Ok(json!(urls).to_string());
        }
        // The instances that subscribed a page of that user, by their logs.
        ["instances", "with", "pages", "of", "user", id] => {
            let line = format!("subscribe: a page of user {id} ");
            let serving: Vec<usize> = (0..chat.instances().len())
                .filter(|&i| chat.instance(i).log().contains(&line))
                .collect();
            return Ok(json!(serving).to_string());
        }
        ["restart"] => chat.instances().iter().for_each(|app| {
            app.kill();
            app.start_again();
        }),
        ["stop", "redis"] => chat.stop_redis(),
        ["start", "redis"] => chat.start_redis_again(),
        ["stop", "postgres"] => chat.stop_postgres(),
        ["start", "postgres"] => chat.start_postgres_again(),
        ["kill", i] => chat.instance(instance(i)?).kill(),
        ["start", i] => chat.instance(instance(i)?).start_again(),
        _ => return Err(format!("no command {command:?}")),
    }
    Ok(String::new())
}

#[test]
fn the_messages_page_shows_the_newest_50_and_a_button_for_the_older_ones() {
    let app = app_as_alice();
    let button = r#"<p class="older"><button id="older" type="button">Older messages</button></p>"#;
    for i in 1..=55 {
        let note = json!({"recipient_id": 2, "content": format!("note {i}")});
        assert_eq!(app.post_json("/api/messages", &note).status, 201);
        if i == 50 {
            let page = app.get("/front/messages").body;
            assert_eq!(page.matches("<tr data-id=").count(), 50);
            assert!(!page.contains(button), "50 messages: one page, no button");
        }
    }
    let page = app.get("/front/messages").body;
    assert_eq!(page.matches("<tr data-id=").count(), 50);
    assert!(page.contains(r#"<tr data-id="6">"#) && !page.contains(r#"<tr data-id="5">"#));
    assert!(page.contains(button), "{page}");
}
