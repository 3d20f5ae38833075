//! The tutorial's own commands, typed verbatim into the real httpie client.

use serde_json::json;
use shared::testing::{TestApp, httpie_is_installed};

#[test]
fn the_tutorial_commands_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    let app = TestApp::start(env!("CARGO_BIN_EXE_s01b"));

    assert_eq!(
        app.httpie("http :5001/db/alive"),
        json!({"status": "healthy", "message": "Database connection is alive"})
    );
}
