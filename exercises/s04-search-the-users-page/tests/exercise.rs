//! Exercise s04-search-the-users-page: `/front/users?q=TEXT`. The page's
//! HTML as sent; each assertion's message says, in words, what was expected.

use shared::testing::TestApp;

/// How each sample user appears on the page: `nickname (name)`.
const ALICE: &str = "alice (Alice Caroll)";
const BOB: &str = "bob (Bob Morane)";
const CHARLIE: &str = "charlie (Charlie Chaplin)";

fn app_with_the_sample_users() -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app
}

/// The page at `path`, which must answer 200.
fn page(app: &TestApp, path: &str) -> String {
    let reply = app.get(path);
    assert_eq!(
        reply.status, 200,
        "GET {path} should answer 200, got {}: {}",
        reply.status, reply.body
    );
    reply.body
}

/// Which of the three sample users the page lists.
fn listed(page: &str) -> Vec<&'static str> {
    [ALICE, BOB, CHARLIE].into_iter().filter(|user| page.contains(user)).collect()
}

#[test]
fn the_users_page_has_a_search_form_that_sends_q() {
    let app = app_with_the_sample_users();
    let page = page(&app, "/front/users");
    assert!(
        page.contains("<form") && page.contains(r#"method="get""#),
        "the users page should have a form with method=\"get\":\n{page}"
    );
    assert!(
        page.contains(r#"name="q""#),
        "the form should have a field named q (name=\"q\"):\n{page}"
    );
}

#[test]
fn searching_lists_only_the_users_who_match() {
    let app = app_with_the_sample_users();
    let got = listed(&page(&app, "/front/users?q=ali"));
    assert_eq!(
        got,
        [ALICE],
        "?q=ali should list only alice (her nickname contains ali), got {got:?}"
    );
}

#[test]
fn the_search_ignores_case_and_looks_at_names_too() {
    let app = app_with_the_sample_users();
    let got = listed(&page(&app, "/front/users?q=MORANE"));
    assert_eq!(
        got,
        [BOB],
        "?q=MORANE should find bob, whose name is Bob Morane (case does not matter), got {got:?}"
    );
}

#[test]
fn the_field_shows_what_was_searched_as_text() {
    let app = app_with_the_sample_users();
    let page = page(&app, "/front/users?q=ali");
    assert!(
        page.contains(r#"value="ali""#),
        "after searching ali, the field should show it (value=\"ali\"):\n{page}"
    );
    let page = self::page(&app, "/front/users?q=%3Cb%3E%22x");
    assert!(
        page.contains(r#"value="&lt;b&gt;&quot;x""#),
        "a search for <b>\"x should be shown in the field escaped, as \
         value=\"&lt;b&gt;&quot;x\":\n{page}"
    );
    assert!(
        !page.contains("<b>"),
        "markup searched for must never become markup:\n{page}"
    );
}

#[test]
fn when_nobody_matches_the_page_says_so() {
    let app = app_with_the_sample_users();
    let page = page(&app, "/front/users?q=zzz");
    assert!(
        listed(&page).is_empty(),
        "nobody's nickname or name contains zzz: nobody should be listed"
    );
    assert!(
        page.contains("No user matches &quot;zzz&quot;.")
            || page.contains("No user matches \"zzz\"."),
        "?q=zzz should say No user matches \"zzz\".:\n{page}"
    );
}

#[test]
fn wildcards_are_plain_characters() {
    let app = app_with_the_sample_users();
    for wildcard in ["%25", "_"] {
        let got = listed(&page(&app, &format!("/front/users?q={wildcard}")));
        assert!(
            got.is_empty(),
            "no nickname or name contains {wildcard:?} (URL-encoded): nobody should be \
             listed, got {got:?}"
        );
    }
}

#[test]
fn without_a_search_or_with_an_empty_one_everyone_is_listed() {
    let app = app_with_the_sample_users();
    for path in ["/front/users", "/front/users?q="] {
        let got = listed(&page(&app, path));
        assert_eq!(
            got,
            [ALICE, BOB, CHARLIE],
            "GET {path} should list every user"
        );
    }
}
