//! `GET /api/version` (step 01c).

use serde_json::json;

#[test]
fn version_names_this_step() {
    let reply = shared::test_app!().get("/api/version");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"version": "04"}));
}
