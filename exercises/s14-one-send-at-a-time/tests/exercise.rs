//! Exercise s14-one-send-at-a-time: the Send button is disabled while a
//! message is on its way. The checks are in exercise.mjs, in Chromium.

use shared::testing::browser;

#[test]
fn the_send_button_waits_for_the_answer_in_a_real_browser() {
    let app = shared::test_app!();
    app.add_sample_users();
    let ran = browser::check_pages(
        &app,
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/step/exercise.mjs"),
    );
    if ran {
        // exercise.mjs sends two messages that the server stores (the first
        // with a click and Enter pressed again while it was on its way).
        assert_eq!(
            app.count_rows("messages"),
            2,
            "the page checks send two messages the server should store, once each"
        );
    }
}
