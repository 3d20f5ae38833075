//! Accounts (step 20): sign up, log in, log out; the session cookie and
//! what the server makes of a cookie it did not make; the Origin check; the
//! limit on wrong passwords.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::cookie::{Cookie, CookieJar, Key};
use argon2::{Argon2, PasswordVerifier};
use serde_json::{Value, json};
use shared::testing::{PASSWORDS, TestApp, USERS, account_json, assert_json_error};

/// The app with the tutorial's three users (alice is 1, bob 2, charlie 3).
fn app_with_users() -> TestApp {
    let app = shared::test_app!();
    app.add_sample_users();
    app
}

/// What `POST /api/login` answers to a wrong password, and to a nickname
/// nobody has.
const WRONG: &str = "wrong nickname or password";
/// What a request without a (valid) session gets.
const LOG_IN_FIRST: &str = "log in first: POST /api/login with your nickname and password";

/// A message to bob, as `POST /api/messages` takes it.
fn to_bob(content: &str) -> Value {
    json!({"recipient_id": 2, "content": content})
}

#[test]
fn the_stored_password_is_an_argon2id_hash_with_a_salt_of_its_own() {
    // Through the API, as a learner signs up (`add_sample_users` writes
    // quicker hashes), then a fourth user with alice's password: the same
    // password, another hash.
    let app = shared::test_app!();
    let dora = ("Dora", "dora@foo.com", "dora");
    for (user, password) in
        USERS.into_iter().chain([dora]).zip(PASSWORDS.into_iter().chain([PASSWORDS[0]]))
    {
        assert_eq!(
            app.post_json("/api/users", &account_json(user, password)).status,
            201
        );
    }
    let hashes = app.sql("SELECT password_hash FROM users ORDER BY id");
    let hashes: Vec<String> = hashes.lines().map(str::to_string).collect();
    for hash in &hashes {
        // The PHC string format: algorithm, version, OWASP's minimum
        // parameters (19 MiB, 2 passes, 1 lane), then the salt and the hash.
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(hash.split('$').count(), 6, "{hash}");
        for password in PASSWORDS {
            assert!(!hash.contains(password), "{hash}");
        }
    }
    // Any Argon2 library reads them: here, the argon2 crate's own verifier.
    let argon2 = Argon2::default();
    assert!(argon2.verify_password(PASSWORDS[0].as_bytes(), hashes[0].as_str()).is_ok());
    assert!(argon2.verify_password(b"not-the-password", hashes[0].as_str()).is_err());
    assert!(argon2.verify_password(PASSWORDS[1].as_bytes(), hashes[1].as_str()).is_ok());
    assert_ne!(hashes[0], hashes[3], "alice's and dora's hashes");
    let salt = |hash: &str| hash.split('$').nth(4).unwrap().to_string();
    assert_ne!(salt(&hashes[0]), salt(&hashes[3]));
    // Nor is the password in the log.
    for password in PASSWORDS {
        assert!(!app.log().contains(password), "{}", app.log());
    }
}

#[test]
fn a_nickname_already_taken_gets_409_and_nothing_is_stored() {
    let app = app_with_users();
    let again = account_json(
        ("Alice Again", "other@foo.com", "alice"),
        "another-password",
    );
    assert_json_error(
        &app.post_json("/api/users", &again),
        409,
        r#"the nickname "alice" is taken: choose another one"#,
    );
    assert_eq!(app.count_rows("users"), 3);
    // And the first alice's password still opens her account, not the other's.
    assert_eq!(app.log_in("alice", "another-password").status, 401);
    assert_eq!(app.log_in("alice", PASSWORDS[0]).status, 200);
}

#[test]
fn a_password_shorter_than_8_characters_is_refused() {
    let app = shared::test_app!();
    for short in ["", "1234567", "ééééééé"] {
        let body = account_json(USERS[0], short);
        assert_json_error(
            &app.post_json("/api/users", &body),
            422,
            "password must be at least 8 characters long",
        );
    }
    assert_eq!(app.count_rows("users"), 0);
    let eight = account_json(USERS[0], "éééééééé");
    assert_eq!(app.post_json("/api/users", &eight).status, 201);
}

#[test]
fn logging_in_answers_the_user_and_sets_a_session_cookie_out_of_scripts_reach() {
    let app = app_with_users();
    let reply = app.log_in("alice", PASSWORDS[0]);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), app.get("/api/users/1").json());
    let cookie = reply.header("set-cookie").expect("a session cookie");
    assert!(cookie.starts_with("session="), "{cookie}");
    // HttpOnly: no script reads it; SameSite=Lax: another site's pages do
    // not send it; no Secure over plain HTTP; a week long.
    assert!(
        cookie.ends_with("; HttpOnly; SameSite=Lax; Path=/; Max-Age=604800"),
        "{cookie}"
    );
    // Its content is encrypted: neither the id nor the nickname shows.
    let value = app.cookies.get("session").unwrap();
    assert!(
        !value.contains("user_id") && !value.contains("alice"),
        "{value}"
    );
    // The session works.
    assert_eq!(app.post_json("/api/messages", &to_bob("hi")).status, 201);
}

#[test]
fn served_over_https_the_cookie_is_secure() {
    let bin = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));
    let app = TestApp::start_with_env(bin, &[], &[("CHAT_HTTPS", "1")]);
    app.add_sample_users();
    let cookie = app.log_in("alice", PASSWORDS[0]).header("set-cookie").unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("; HttpOnly"), "{cookie}");
}

#[test]
fn a_wrong_password_and_an_unknown_nickname_get_the_same_answer_in_the_same_time() {
    let app = shared::test_app!();
    // Fifteen accounts, each tried once with a wrong password: well within
    // the limit of each; and fifteen nicknames that nobody has.
    for i in 0..15 {
        let user = account_json(
            (&format!("U{i}"), "u@foo.com", &format!("known{i}")),
            "a-password",
        );
        assert_eq!(app.post_json("/api/users", &user).status, 201);
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..15 {
        for (nickname, times) in [
            (format!("known{i}"), &mut known),
            (format!("nobody{i}"), &mut unknown),
        ] {
            let started = Instant::now();
            let reply = app.log_in(&nickname, "not-the-password");
            times.push(started.elapsed());
            assert_json_error(&reply, 401, WRONG);
            assert_eq!(reply.body, format!(r#"{{"error":"{WRONG}"}}"#));
        }
    }
    known.sort();
    unknown.sort();
    let (known, unknown) = (known[7], unknown[7]);
    eprintln!("median login time: wrong password {known:?}, unknown nickname {unknown:?}");
    // Alone, the two medians are within a few percent; the margin is for a
    // machine busy with other tests. Without nobody's hash, an unknown
    // nickname would be answered in a tenth of the time.
    let (shorter, longer) = (known.min(unknown), known.max(unknown));
    assert!(
        longer.as_secs_f64() < shorter.as_secs_f64() * 1.5 + 0.002,
        "a wrong password takes {known:?}, an unknown nickname {unknown:?}"
    );
}

#[test]
fn logging_out_deletes_the_cookie_and_the_next_request_is_refused() {
    let app = app_with_users();
    app.log_in_as("alice");
    let reply = app.request("POST", "/api/logout", &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"status": "logged out"}));
    let cookie = reply.header("set-cookie").expect("the cookie's deletion");
    assert!(
        cookie.starts_with("session=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    assert_eq!(app.cookies.get("session"), None);
    assert_json_error(
        &app.post_json("/api/messages", &to_bob("hi")),
        401,
        LOG_IN_FIRST,
    );
    assert_eq!(app.count_rows("messages"), 0);
}

/// The session key of a running app, as its database keeps it (step 22).
fn key_bytes(app: &TestApp) -> Vec<u8> {
    let hex = app.sql("SELECT encode(key, 'hex') FROM session_key");
    let hex = hex.trim();
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
        .collect()
}

fn key_of(app: &TestApp) -> Key {
    Key::from(&key_bytes(app))
}

/// A session cookie's value, as the server would make it with `key`, for
/// user `user_id`, valid until `until` (seconds since 1970).
fn forged(key: &Key, user_id: i64, until: i64) -> String {
    // actix-session's cookie store: the session's values, each as JSON
    // text, in a JSON object; then encrypted and signed (AES-GCM).
    let state = json!({"user_id": user_id.to_string(), "until": until.to_string()});
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(Cookie::new("session", state.to_string()));
    jar.get("session").unwrap().value().to_string()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn a_cookie_tampered_with_expired_or_made_with_another_key_is_no_session() {
    let app = app_with_users();
    let key = key_of(&app);
    let week = 7 * 24 * 60 * 60;
    // First, that a cookie made so is one the server takes: the refusals
    // below are for what is wrong with each, not for the way they are made.
    app.cookies.set("session", &forged(&key, 2, now() + week));
    let reply = app.post_json(
        "/api/messages",
        &json!({"recipient_id": 1, "content": "hi"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["author"]["nickname"], "bob");

    app.log_in_as("alice");
    let real = app.cookies.get("session").unwrap();
    let mut tampered = real.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let refused = [
        ("tampered with", String::from_utf8(tampered).unwrap()),
        ("cut short", real[..real.len() - 4].to_string()),
        ("expired", forged(&key, 1, now() - 1)),
        ("a week and a second old", forged(&key, 1, now() - week - 1)),
        (
            "made with another key",
            forged(&Key::generate(), 1, now() + week),
        ),
        (
            "made with another key, for user 2",
            forged(&Key::generate(), 2, now() + week),
        ),
        (
            "not encrypted at all",
            r#"{"user_id":"1","until":"99999999999"}"#.to_string(),
        ),
        ("empty", String::new()),
    ];
    for (what, value) in refused {
        app.cookies.set("session", &value);
        let reply = app.post_json("/api/messages", &to_bob(what));
        assert_eq!(reply.status, 401, "a cookie {what}: {}", reply.body);
        assert_json_error(&reply, 401, LOG_IN_FIRST);
        assert_eq!(app.get("/api/messages").status, 401, "{what}");
        assert!(app.websocket_with("/ws", &[]).is_err(), "{what}");
        let page = app.get("/front/messages");
        assert_eq!(page.status, 401, "{what}");
        assert!(page.body.contains(r#"<form id="login">"#), "{what}");
    }
    assert_eq!(app.count_rows("messages"), 1, "bob's, with the good cookie");
}

#[test]
fn a_restart_keeps_everyone_logged_in() {
    let app = app_with_users();
    app.log_in_as("alice");
    let key = key_bytes(&app);
    assert_eq!(key.len(), 64);
    let app = app.restart();
    let reply = app.post_json("/api/messages", &to_bob("after the restart"));
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["author"]["nickname"], "alice");
    // The same key, read again, not made anew.
    assert_eq!(key_bytes(&app), key);
    assert_eq!(app.count_rows("session_key"), 1);
}

#[test]
fn another_database_has_another_key_and_logs_everyone_out() {
    let app = app_with_users();
    app.log_in_as("alice");
    // The same cookie, shown to a server with another database: no session.
    let cookie = app.cookies.get("session").unwrap();
    let other = shared::test_app!();
    other.add_sample_users();
    assert_ne!(key_bytes(&other), key_bytes(&app));
    other.cookies.set("session", &cookie);
    assert_eq!(other.get("/api/messages").status, 401);
}

#[test]
fn a_page_of_another_origin_may_not_post_even_with_a_valid_cookie() {
    let app = app_with_users();
    app.log_in_as("alice");
    let own = format!("http://127.0.0.1:{}", app.port);
    // A page of another program on this machine: the same site for the
    // browser (SameSite lets the cookie go), another origin (another port).
    let other_port = format!("http://127.0.0.1:{}", app.port + 1);
    let json = ("Content-Type", "application/json");
    let login = json!({"nickname": "alice", "password": PASSWORDS[0]}).to_string();
    let message = to_bob("forged?").to_string();
    for origin in [other_port.as_str(), "http://localhost:5001", "null"] {
        for (path, body) in [
            ("/api/messages", message.as_str()),
            ("/api/login", login.as_str()),
            ("/api/logout", ""),
            ("/api/users", ""),
        ] {
            let reply = shared::testing::bad_input::send(
                &app,
                "POST",
                path,
                &[json, ("Origin", origin)],
                body.as_bytes(),
            );
            // Refused by the step, or before it for "null" (shared's plumbing).
            assert_json_error(&reply, 403, origin);
        }
    }
    assert_eq!(app.count_rows("messages"), 0);
    // Still logged in: the forged logout did nothing.
    let reply = shared::testing::bad_input::send(
        &app,
        "POST",
        "/api/messages",
        &[json, ("Origin", &own)],
        message.as_bytes(),
    );
    assert_eq!(reply.status, 201, "its own page: {}", reply.body);
    // Reading is not refused: a page of another origin cannot read the answer.
    let reply = app.request("GET", "/api/messages", &[("Origin", &other_port)]);
    assert_eq!(reply.status, 200);
}

#[test]
fn a_thousand_wrong_passwords_are_refused_after_five_and_the_right_one_works_after_the_wait() {
    let app = app_with_users();
    let started = Instant::now();
    let (mut wrong, mut refused, mut waits) = (0, 0, Vec::new());
    for i in 0..1000 {
        let reply = app.log_in("alice", &format!("guess number {i}"));
        match reply.status {
            401 => {
                assert_eq!(reply.json()["error"], WRONG);
                wrong += 1;
            }
            429 => {
                let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
                assert_json_error(&reply, 429, &format!("try again in {wait} s"));
                waits.push(wait);
                refused += 1;
            }
            status => panic!("guess {i}: {status} {}", reply.body),
        }
    }
    eprintln!(
        "1,000 wrong passwords in {:?}: {wrong} checked, {refused} refused unchecked, waits {:?}",
        started.elapsed(),
        (waits.iter().min(), waits.iter().max())
    );
    // Five checked, then refused; once a wait is over, one more each time.
    assert!((5..=8).contains(&wrong), "{wrong} checked");
    assert_eq!(wrong + refused, 1000);
    // While alice must wait, her right password is refused too, unchecked.
    let reply = app.log_in("alice", PASSWORDS[0]);
    assert_eq!(reply.status, 429, "{}", reply.body);
    let wait = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(wait <= 8, "{wait} s");
    // Other nicknames are not held up meanwhile.
    assert_eq!(app.log_in("bob", PASSWORDS[1]).status, 200);
    thread::sleep(Duration::from_secs(wait));
    assert_eq!(app.log_in("alice", PASSWORDS[0]).status, 200);
    // And her tries start again: a wrong one is checked, not refused.
    assert_eq!(app.log_in("alice", "wrong again").status, 401);
}

#[test]
fn a_nickname_nobody_has_is_limited_the_same_way() {
    let app = app_with_users();
    let answers = |nickname: &str| -> Vec<u16> {
        (0..7).map(|_| app.log_in(nickname, "not-the-password").status).collect()
    };
    let (known, unknown) = (answers("alice"), answers("nobody"));
    assert_eq!(known, [401, 401, 401, 401, 401, 429, 429]);
    assert_eq!(
        unknown, known,
        "the limit says nothing of who has an account"
    );
}

#[test]
fn logins_sent_all_at_once_are_limited_too() {
    let app = app_with_users();
    let client = app.client();
    let guesses: Vec<_> = (0..40)
        .map(|i| {
            let client = client.clone();
            thread::spawn(move || {
                let reply = client.log_in("alice", &format!("guess {i}")).expect("an answer");
                reply.status
            })
        })
        .collect();
    let statuses: Vec<u16> = guesses.into_iter().map(|g| g.join().unwrap()).collect();
    // Five; a try that came more than a second after the fifth (on an
    // overloaded machine) is checked too, once that wait is over.
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert!(
        (5..=7).contains(&checked),
        "{checked} checked: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [401, 429].contains(s)),
        "{statuses:?}"
    );
}

#[test]
fn a_burst_of_100_logins_keeps_the_server_answering_and_within_200_mb() {
    let app = app_with_users();
    // 100 accounts, so that no login is held by the limit.
    for i in 0..100 {
        let user = account_json(
            ("Many", "many@foo.com", &format!("many{i}")),
            "the-password",
        );
        assert_eq!(app.post_json("/api/users", &user).status, 201);
    }
    let before = app.memory_kib();
    let client = app.client();
    let logins: Vec<_> = (0..100)
        .map(|i| {
            let client = client.clone();
            thread::spawn(move || {
                let reply = client.log_in(&format!("many{i}"), "the-password").expect("an answer");
                reply.status
            })
        })
        .collect();
    // Meanwhile, the version: answered at once by the workers, which do
    // not compute the hashes (the blocking threads do).
    let mut slowest = Duration::ZERO;
    let mut peak = before.unwrap_or(0);
    while logins.iter().any(|login| !login.is_finished()) {
        let asked = Instant::now();
        assert_eq!(app.get("/api/version").status, 200);
        slowest = slowest.max(asked.elapsed());
        peak = peak.max(app.memory_kib().unwrap_or(0));
        thread::sleep(Duration::from_millis(5));
    }
    let statuses: Vec<u16> = logins.into_iter().map(|login| login.join().unwrap()).collect();
    assert!(statuses.iter().all(|&status| status == 200), "{statuses:?}");
    eprintln!(
        "100 logins at once: /api/version at most {slowest:?} meanwhile; memory {before:?} KiB \
         before, {peak} KiB at most"
    );
    assert!(slowest < Duration::from_millis(500), "{slowest:?}");
    if before.is_some() {
        assert!(peak < 200 * 1024, "{peak} KiB");
    }
}
