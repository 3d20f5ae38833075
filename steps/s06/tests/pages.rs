//! Step 06's pages in headless Chromium: the checks are in `pages.mjs`, next
//! to this file; see docs/browser-tests.md for what they need.

use serde_json::json;
use shared::testing::{TestApp, browser};

#[test]
fn the_pages_work_in_a_real_browser() {
    let app = TestApp::start(env!("CARGO_BIN_EXE_s06"));
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
        "s06",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pages.mjs"),
    );
}
