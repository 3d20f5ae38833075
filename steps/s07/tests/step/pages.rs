//! The pages (steps 04 and 05): their HTML as sent, then in headless
//! Chromium (the checks in `pages.mjs`, next to this file; see docs/browser-tests.md).

use serde_json::json;
use shared::testing::{USERS, browser};

#[test]
fn the_users_page_links_each_user_to_their_messages() {
    let app = shared::test_app!();
    app.add_sample_users();
    let page = app.get("/front/users");
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.body.contains("(version 07)"));
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
}

#[test]
fn the_users_page_shows_markup_in_names_as_text() {
    let app = shared::test_app!();
    let reply = app.post_json(
        "/api/users",
        &json!({"name": "<b>x</b>", "email": "e\"@x.org", "nickname": "<script>alert(1)</script>"}),
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
fn the_pages_work_in_a_real_browser() {
    let app = shared::test_app!();
    app.add_sample_users();
    // A user whose nickname and name are markup: the page must show it as text.
    let marked = json!({
        "name": "<b>x</b><img src=x onerror=\"alert('name ran')\">",
        "email": "marked@foo.com",
        "nickname": "<script>alert('nickname ran')</script>",
    });
    assert_eq!(app.post_json("/api/users", &marked).status, 201);

    browser::check_pages(
        &app,
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/step/pages.mjs"),
    );
}
