//! The tutorial's commands and the lesson's, typed verbatim into the real
//! httpie and curl clients (`:5001` becomes the test's port).

use shared::testing::httpie_is_installed;

#[test]
fn the_tutorial_commands_work_verbatim() {
    if !httpie_is_installed() {
        return;
    }
    let app = shared::test_app!();
    assert_eq!(
        app.httpie_text("http :5001/"),
        "hello, this is a chat app! (version 00)"
    );
}
