//! `GET /api/version` (step 01c).

use serde_json::json;

#[test]
fn version_names_this_step() {
    let reply = shared::test_app!().get("/api/version");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"version": "23"}));
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let app = shared::test_app!();
    let reply = app.request("HEAD", "/api/version", &[]);
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("application/json"));
    assert_eq!(reply.body, "");
}
