//! The bad-input matrix: the odd things a client can send to an endpoint,
//! sent to the running step, each with the answer it must get.
//!
//! Whatever the case, the step must answer a 4xx with `{"error": "..."}`
//! naming the problem, or store the input and answer it exactly as sent;
//! never a 5xx; the table in the database file gains exactly one row for a
//! stored case and none for a refused one; and the server answers the next
//! request. In a step's `tests/step/bad_input.rs`:
//! ```ignore
//! let app = shared::test_app!();
//! let fields = [Field::Text("name"), Field::Text("email"), Field::Text("nickname")];
//! let cases = bad_input::body_cases(&user_json(USERS[0]), &fields);
//! bad_input::check_body(&app, "/api/users", "users", &cases);
//! bad_input::check_ids(&app, "/api/users/", 1, Answer::Json);
//! ```
//! Every case is checked, and one failure lists all the cases that failed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Reply, TestApp};

/// actix-web's limit for a JSON body (`web::JsonConfig`'s default): 2 MiB.
pub const JSON_LIMIT: usize = 2 * 1024 * 1024;

/// A field of a JSON body, and what the step accepts in it.
#[derive(Clone, Copy, Debug)]
pub enum Field {
    /// A string that must not be blank, stored as sent.
    Text(&'static str),
    /// The same, at most this many bytes long (a message's content, step 18).
    LimitedText(&'static str, usize),
    /// A user's id: a number or a string of digits, of a user who exists.
    UserId(&'static str),
    /// A password of at least this many characters (step 20): stored, but
    /// never answered, nor anything named after it (its hash).
    Password(&'static str, usize),
}

impl Field {
    /// The field's name in the JSON body.
    pub fn name(self) -> &'static str {
        match self {
            Field::Text(name)
            | Field::LimitedText(name, _)
            | Field::UserId(name)
            | Field::Password(name, _) => name,
        }
    }
}

/// One request of the matrix and the answer it must get.
#[derive(Debug)]
pub struct Case {
    /// What is odd about it, as the failure report says.
    pub what: String,
    pub method: &'static str,
    /// `None`: no `Content-Type` header at all.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub expect: Expect,
}

/// The answer a [`Case`] must get.
#[derive(Debug)]
pub enum Expect {
    /// This status, with a JSON error whose message contains the hint; nothing written.
    Refused(u16, String),
    /// 201, with each of these fields answered as given; one row more. A
    /// field given as `null` must be absent, and so must any whose name
    /// contains its name (a password, and its hash).
    Stored(Vec<(&'static str, Value)>),
    /// Some 4xx, whatever its body (refused by the HTTP layer, before the app).
    AnyClientError,
}

const JSON: &str = "application/json";

/// Strings a learner may paste, each stored and answered exactly as sent.
pub const ODD_TEXTS: [&str; 8] = [
    "<script>alert('ran')</script>",
    "<img src=x onerror=\"alert(1)\">&amp; <b>bold?</b>",
    "'); DROP TABLE users; --",
    "1 OR 1=1; SELECT * FROM messages WHERE \"a\" = \"a\"",
    "Zoë 🐱 中文 عربى \u{202e}reversed\u{202c} e\u{301}",
    "tab\tnew line\nreturn\r back\\slash \"quotes\"",
    "nul \u{0} and bell \u{7}",
    "42",
];

/// The cases for a `POST` endpoint whose valid body is `valid` (a JSON
/// object with a good value for each of `fields`): the body as a whole
/// (Content-Types, malformed JSON, not an object, bad bytes, too large),
/// then each field missing, blank, of each wrong type, odd, very long.
pub fn body_cases(valid: &Value, fields: &[Field]) -> Vec<Case> {
    let text = valid.to_string();
    let stored_valid = || stored(fields, valid);
    let mut cases = Vec::new();

    // The Content-Type: JSON's, in any case, with any parameter, is read;
    // any other, or none, gets 415 (a 422 when the body is empty, too).
    for (content_type, expect) in [
        (Some(JSON), stored_valid()),
        (Some("application/json; charset=utf-8"), stored_valid()),
        (Some("APPLICATION/JSON"), stored_valid()),
        (None, unsupported()),
        (Some("text/plain"), unsupported()),
        (Some("application/x-www-form-urlencoded"), unsupported()),
        (Some("multipart/form-data; boundary=x"), unsupported()),
        (Some("application/xml"), unsupported()),
    ] {
        let what = format!("Content-Type {}", content_type.unwrap_or("none"));
        cases.push(case(&what, content_type, text.clone(), expect));
    }
    cases.push(case(
        "an empty body",
        Some(JSON),
        String::new(),
        refused("the body is empty"),
    ));
    cases.push(case(
        "an empty body, no type",
        None,
        String::new(),
        refused("the body is empty"),
    ));

    // Not JSON, or JSON that is not the object.
    let half = &text[..text.len() / 2];
    let without_brace = &text[..text.len() - 1];
    for (what, body, hint) in [
        ("spaces", "  \n ".to_string(), "EOF while parsing"),
        ("not JSON", "not json".into(), "expected ident"),
        ("cut short", half.into(), "EOF while parsing"),
        (
            "keys unquoted",
            "{name: \"x\"}".into(),
            "key must be a string",
        ),
        (
            "single quotes",
            "{'name': 'x'}".into(),
            "key must be a string",
        ),
        (
            "a trailing comma",
            format!("{without_brace},}}"),
            "trailing comma",
        ),
        ("trailing text", format!("{text} x"), "trailing characters"),
        (
            "two objects",
            format!("{text}{text}"),
            "trailing characters",
        ),
        ("null", "null".into(), "invalid type: null"),
        ("a number", "42".into(), "invalid type: integer"),
        ("a string", "\"text\"".into(), "invalid type: string"),
        ("an empty object", "{}".into(), "missing field"),
        ("an empty list", "[]".into(), "invalid length 0"),
        ("the object in a list", format!("[{text}]"), "invalid"),
        (
            "nested 100,000 deep",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            "invalid",
        ),
    ] {
        cases.push(case(what, Some(JSON), body, refused(hint)));
    }
    // serde's derived Deserialize also reads a struct from the list of its
    // fields' values, in order: stored as if sent as an object.
    let values = Value::from_iter(fields.iter().map(|f| valid[f.name()].clone()));
    cases.push(case(
        "the values in a list",
        Some(JSON),
        values.to_string(),
        stored_valid(),
    ));
    cases.push(case(
        "an unknown field besides",
        Some(JSON),
        with(valid, "unknown", json!(1)).to_string(),
        stored_valid(),
    ));

    // Bytes that are no UTF-8 text: a byte-order mark before the JSON (which
    // JSON forbids), UTF-16, a byte 0xFF alone.
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    for (what, body) in [
        (
            "a byte-order mark first",
            [b"\xEF\xBB\xBF", text.as_bytes()].concat(),
        ),
        ("UTF-16", utf16),
        ("a byte 0xFF", b"\xFF".to_vec()),
    ] {
        cases.push(raw(what, body, refused("invalid JSON body")));
    }

    // Other methods: the path answers GET and POST only.
    for method in ["PUT", "DELETE", "PATCH"] {
        let expect = Expect::Refused(405, format!("{method} is not allowed"));
        cases.push(Case {
            method,
            ..case(method, Some(JSON), text.clone(), expect)
        });
    }

    // The size limit is on the body, on either side of it: a body of
    // exactly 2 MiB is read, one byte more gets 413. Spaces after the object
    // make up the size (JSON allows them), so what is stored stays small and
    // the listings that follow stay quick; the fields' own long cases show
    // that a long text is stored whole.
    let padded = |size: usize| format!("{text}{}", " ".repeat(size - text.len()));
    cases.push(case(
        "2 MiB",
        Some(JSON),
        padded(JSON_LIMIT),
        stored_valid(),
    ));
    let too_large = Expect::Refused(413, "larger than allowed".into());
    cases.push(case(
        "2 MiB and 1 byte",
        Some(JSON),
        padded(JSON_LIMIT + 1),
        too_large,
    ));

    for field in fields {
        field_cases(valid, fields, *field, &mut cases);
    }
    cases
}

/// The cases of one field, the others valid.
fn field_cases(valid: &Value, fields: &[Field], field: Field, cases: &mut Vec<Case>) {
    let name = field.name();
    let set = |value: &Value| with(valid, name, value.clone());
    let refuse = |value: Value, hint: &str| {
        case(
            &format!("{name} {value}"),
            Some(JSON),
            set(&value).to_string(),
            refused(hint),
        )
    };
    let keep = |what: String, value: Value| {
        let body = set(&value);
        case(&what, Some(JSON), body.to_string(), stored(fields, &body))
    };
    // Raw JSON text as the value, what serde_json cannot build.
    let refuse_raw = |what: &str, value: &[u8], hint: &str| {
        raw(
            &format!("{name} {what}"),
            set_raw(valid, name, value),
            refused(hint),
        )
    };

    let mut missing = valid.clone();
    missing.as_object_mut().map(|object| object.remove(name));
    let hint = format!("missing field `{name}`");
    cases.push(case(
        &format!("{name} missing"),
        Some(JSON),
        missing.to_string(),
        refused(&hint),
    ));
    // Bytes that are not UTF-8 in the string; a `\u` escape of half a
    // UTF-16 pair, which no text has.
    cases.push(refuse_raw(
        "not UTF-8",
        b"\"a\xFF\xFEb\"",
        "invalid unicode code point",
    ));
    cases.push(refuse_raw(
        "a lone surrogate",
        b"\"\\ud800\"",
        "invalid JSON body",
    ));

    match field {
        Field::Password(_, shortest) => {
            let invalid = [
                (json!(null), "invalid type: null, expected a string"),
                (json!(42), "invalid type: integer `42`, expected a string"),
                (json!(true), "invalid type: boolean `true`"),
                (json!(["a"]), "invalid type: sequence, expected a string"),
            ];
            for (value, hint) in invalid {
                cases.push(refuse(value, hint));
            }
            // Characters are counted, not bytes ("é" is two), and blanks count.
            let short = format!("{name} must be at least {shortest} characters long");
            for too_short in [
                String::new(),
                "é".repeat(shortest - 1),
                " ".repeat(shortest - 1),
            ] {
                cases.push(refuse(json!(too_short), &short));
            }
            for long_enough in [
                "é".repeat(shortest),
                " ".repeat(shortest),
                "é".repeat(50_000),
            ] {
                let what = format!("{name} of {} characters", long_enough.chars().count());
                cases.push(keep(what, json!(long_enough)));
            }
            for odd in ODD_TEXTS {
                let padded = format!("{odd}{}", "x".repeat(shortest));
                cases.push(keep(format!("{name} {odd:?}"), json!(padded)));
            }
        }
        Field::Text(_) | Field::LimitedText(..) => {
            let blank = format!("{name} must not be empty");
            for (value, hint) in [
                (json!(null), "invalid type: null, expected a string"),
                (json!(""), blank.as_str()),
                (json!(" \t\n "), blank.as_str()),
                (json!(42), "invalid type: integer `42`, expected a string"),
                (json!(-1.5), "invalid type: floating point `-1.5`"),
                (json!(true), "invalid type: boolean `true`"),
                (json!(["a"]), "invalid type: sequence, expected a string"),
                (json!({"a": "b"}), "invalid type: map, expected a string"),
            ] {
                cases.push(refuse(value, hint));
            }
            for odd in ODD_TEXTS {
                cases.push(keep(format!("{name} {odd:?}"), json!(odd)));
            }
            let long = "é".repeat(50_000);
            match field {
                Field::LimitedText(_, limit) => {
                    // The limit counts bytes: "é" is two.
                    let at_limit = format!("{}{}", "é".repeat(limit / 2), "x".repeat(limit % 2));
                    cases.push(keep(format!("{name} of {limit} bytes"), json!(at_limit)));
                    let over = format!("{name} must be at most {limit} bytes long");
                    cases.push(refuse(json!(format!("{at_limit}x")), &over));
                    cases.push(refuse(json!(long), &over));
                }
                _ => cases.push(keep(format!("{name} 100 KB long"), json!(long))),
            }
        }
        Field::UserId(_) => {
            let not_an_id = format!("{name} must be a user's id");
            for bad in [
                json!(null),
                json!(true),
                json!(1.5),
                json!(1.0),
                json!(1e3),
                json!([1]),
                json!({"id": 1}),
                json!(""),
                json!(" 1"),
                json!("1.0"),
                json!("one"),
                json!("0x1"),
                json!("<script>alert(1)</script>"),
                json!("1; DROP TABLE messages"),
                json!("99999999999999999999"),
                json!(u64::MAX),
            ] {
                cases.push(refuse(bad, &not_an_id));
            }
            // Past i64, written out: serde_json reads these as floats, or
            // not at all.
            for huge in ["9223372036854775808", "-9223372036854775809"] {
                cases.push(refuse_raw(huge, huge.as_bytes(), &not_an_id));
            }
            cases.push(refuse_raw("1e400", b"1e400", "number out of range"));
            for (unknown, shown) in [
                (json!(99), "99"),
                (json!("99"), "99"),
                (json!(0), "0"),
                (json!(-1), "-1"),
                (json!(i64::MAX), "9223372036854775807"),
                (json!(i64::MIN), "-9223372036854775808"),
            ] {
                cases.push(refuse(unknown, &format!("{name}: no user with id {shown}")));
            }
            // The valid id spelled both ways: a string of digits, a number.
            let id = answered(field, &valid[name]);
            cases.push(keep(
                format!("{name} {id} as a string"),
                json!(id.to_string()),
            ));
            cases.push(keep(format!("{name} {id} as a number"), id));
        }
    }
}

/// The answer to a stored `body`: 201 with each field as [`answered`].
fn stored(fields: &[Field], body: &Value) -> Expect {
    Expect::Stored(
        fields
            .iter()
            .map(|f| (f.name(), answered(*f, &body[f.name()])))
            .collect(),
    )
}

/// How the step answers a field it stored: a text as sent, an id as a
/// number, a password not at all.
fn answered(field: Field, value: &Value) -> Value {
    match (field, value) {
        (Field::Password(..), _) => Value::Null,
        (Field::UserId(_), Value::String(digits)) => {
            json!(digits.parse::<i64>().expect("a valid id"))
        }
        _ => value.clone(),
    }
}

/// Sends every case to `path`, checking each (see the module's doc). Fails
/// the test with the list of the cases that went wrong; answers how many ran.
#[track_caller]
pub fn check_body(app: &TestApp, path: &str, table: &str, cases: &[Case]) -> usize {
    let mut failures = Vec::new();
    for case in cases {
        let before = app.count_rows(table);
        let headers: Vec<(&str, &str)> = case
            .content_type
            .iter()
            .map(|ct| ("Content-Type", ct.as_str()))
            .collect();
        let sent = try_send(app, case.method, path, &headers, &case.body);
        // An answer lost with nothing stored is asked for once more (see
        // `answered_or_again`); one lost after a row was stored fails.
        let stored = app.count_rows(table) > before;
        let reply = match sent {
            Err(why) if stored => panic!("{why}, and a row was stored"),
            sent => answered_or_again(sent, &case.what, || {
                send(app, case.method, path, &headers, &case.body)
            }),
        };
        let after = app.count_rows(table);
        if let Err(why) = judge(&reply, &case.expect, after - before) {
            failures.push(format!("{} {path}, {}: {why}", case.method, case.what));
        }
        if let Err(why) = answers_next(app) {
            failures.push(format!("after {}: {why}", case.what));
        }
    }
    report(&failures, cases.len())
}

/// `GET path` lists every row of `table`, with each of `texts` as sent, and
/// so it does whatever the query string or a body says (it reads neither).
/// Answers how many requests ran.
#[track_caller]
pub fn check_list(app: &TestApp, path: &str, table: &str, texts: &[&str]) -> usize {
    let rows = app.count_rows(table);
    let first = send(app, "GET", path, &[], b"");
    if let Err(why) = lists(&first, rows, texts) {
        panic!("GET {path}: {why}");
    }
    // The same list, byte for byte, whatever else the request says.
    let mut failures = Vec::new();
    let odd_queries = [
        "?id=abc",
        "?limit=-1&offset=99999999999999999999",
        "?%FF=%3Cb%3E",
        "?'OR'1'='1",
    ];
    for query in odd_queries {
        let reply = send(app, "GET", &format!("{path}{query}"), &[], b"");
        if reply.status != 200 || reply.body != first.body {
            failures.push(format!(
                "GET {path}{query}: {} {}",
                reply.status,
                short(&reply.body)
            ));
        }
    }
    let reply = send(
        app,
        "GET",
        path,
        &[("Content-Type", JSON)],
        b"{\"id\": \"abc\"}",
    );
    if reply.status != 200 || reply.body != first.body {
        failures.push(format!(
            "GET {path} with a body: {} {}",
            reply.status,
            short(&reply.body)
        ));
    }
    report(&failures, odd_queries.len() + 2)
}

fn lists(reply: &Reply, rows: i64, texts: &[&str]) -> Result<(), String> {
    if reply.status != 200 {
        return Err(format!(
            "expected 200, got {}: {}",
            reply.status,
            short(&reply.body)
        ));
    }
    let list: Value = serde_json::from_str(&reply.body).map_err(|e| format!("not JSON ({e})"))?;
    let listed = list.as_array().map_or(0, Vec::len);
    if listed as i64 != rows {
        return Err(format!("{listed} listed, {rows} rows in the table"));
    }
    for text in texts {
        if !list
            .as_array()
            .into_iter()
            .flatten()
            .any(|item| has_value(item, text))
        {
            return Err(format!("{text:?} is not listed as sent"));
        }
    }
    Ok(())
}

/// Does `value`, or any value inside it, equal the string `text`?
fn has_value(value: &Value, text: &str) -> bool {
    match value {
        Value::String(s) => s == text,
        Value::Array(items) => items.iter().any(|item| has_value(item, text)),
        Value::Object(map) => map.values().any(|item| has_value(item, text)),
        _ => false,
    }
}

/// The page at `path` shows each of `texts` as text: HTML-escaped, never as
/// markup.
#[track_caller]
pub fn check_page_shows(app: &TestApp, path: &str, texts: &[&str]) {
    let page = send(app, "GET", path, &[], b"");
    assert_eq!(page.status, 200, "{path}: {}", short(&page.body));
    assert!(
        page.content_type.starts_with("text/html"),
        "{path}: {:?}",
        page.content_type
    );
    for text in texts {
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        assert!(
            page.body.contains(&escaped),
            "{path} does not show {text:?} as text ({escaped:?})"
        );
    }
    assert!(
        !page.body.contains("<script>alert"),
        "{path} has markup from the data"
    );
    assert!(
        !page.body.contains("<img src=x"),
        "{path} has markup from the data"
    );
}

/// How a step answers a URL that names a thing: JSON, or a page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Answer {
    /// The API: the thing, or a JSON 404.
    Json,
    /// A page: the page, or a 404 page that shows the id as text.
    Page,
}

/// Asks for `prefix` + each odd id (`/api/users/-1`, `/api/users/abc`...):
/// only `known` (also spelled `01` and `+1`, which Rust's `i64` parser
/// reads too) is found; any other whole number is a 404 saying no user has
/// it, anything else a 404 saying ids are whole numbers, and a URL longer
/// than the server reads is refused before the app. Answers how many ran.
#[track_caller]
pub fn check_ids(app: &TestApp, prefix: &str, known: i64, answer: Answer) -> usize {
    let long = "9".repeat(10_000);
    let mut cases: Vec<(String, Option<&str>)> = vec![
        (known.to_string(), None),
        (format!("0{known}"), None),
        (format!("+{known}"), None),
    ];
    for unknown in [
        "0",
        "-1",
        "99",
        "9223372036854775807",
        "-9223372036854775808",
    ] {
        cases.push((unknown.to_string(), Some("no user with id")));
    }
    for odd in [
        "abc",
        "1.5",
        "1e3",
        "0x1",
        "-",
        "1%20",
        "%20",
        "1%00",
        "%FF",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "%27%20OR%201%3D1--",
        "1%3B%20DROP%20TABLE%20users",
        "9223372036854775808",
        "99999999999999999999",
        &long,
    ] {
        cases.push((odd.to_string(), Some("ids are whole numbers")));
    }
    let mut failures = Vec::new();
    for (id, hint) in &cases {
        let url = format!("{prefix}{id}");
        let reply = send(app, "GET", &url, &[], b"");
        let shown = if url.len() > 80 {
            format!("{}...", &url[..80])
        } else {
            url.clone()
        };
        if let Err(why) = judge_id(&reply, *hint, answer) {
            failures.push(format!("GET {shown}: {why}"));
        }
    }
    // Past the size of request head actix-web reads (32 KiB), the URL never
    // reaches the app: a 400 with no body.
    let too_long = format!("{prefix}{}", "9".repeat(40_000));
    let reply = send(app, "GET", &too_long, &[], b"");
    if let Err(why) = judge(&reply, &Expect::AnyClientError, 0) {
        failures.push(format!("GET a 40,000-character URL: {why}"));
    }
    if let Err(why) = answers_next(app) {
        failures.push(why);
    }
    report(&failures, cases.len() + 1)
}

fn judge_id(reply: &Reply, hint: Option<&str>, answer: Answer) -> Result<(), String> {
    let Some(hint) = hint else {
        return match reply.status {
            200 => Ok(()),
            status => Err(format!(
                "expected 200, got {status}: {}",
                short(&reply.body)
            )),
        };
    };
    if reply.status != 404 {
        return Err(format!(
            "expected 404, got {}: {}",
            reply.status,
            short(&reply.body)
        ));
    }
    match answer {
        Answer::Json => error_says(reply, hint),
        Answer::Page => {
            if !reply.content_type.starts_with("text/html") {
                return Err(format!("expected a page, got {:?}", reply.content_type));
            }
            // The id shows as text: no markup of it reaches the page.
            if reply.body.contains("<script>alert") || !reply.body.contains("No such user") {
                return Err(format!("the 404 page: {}", short(&reply.body)));
            }
            Ok(())
        }
    }
}

/// Checks one answer against what was expected; `added` is the table's row
/// count after, less before.
fn judge(reply: &Reply, expect: &Expect, added: i64) -> Result<(), String> {
    if reply.status >= 500 {
        return Err(format!(
            "a {} (never a 5xx): {}",
            reply.status,
            short(&reply.body)
        ));
    }
    let wanted_rows = i64::from(matches!(expect, Expect::Stored(_)));
    if added != wanted_rows {
        return Err(format!(
            "{added} row(s) written, expected {wanted_rows} (answer {}: {})",
            reply.status,
            short(&reply.body)
        ));
    }
    match expect {
        Expect::AnyClientError => match reply.status {
            400..=499 => Ok(()),
            status => Err(format!("expected a 4xx, got {status}")),
        },
        Expect::Refused(status, hint) => {
            if reply.status != *status {
                return Err(format!(
                    "expected {status}, got {}: {}",
                    reply.status,
                    short(&reply.body)
                ));
            }
            error_says(reply, hint)
        }
        Expect::Stored(fields) => {
            if reply.status != 201 {
                return Err(format!(
                    "expected 201, got {}: {}",
                    reply.status,
                    short(&reply.body)
                ));
            }
            let stored: Value =
                serde_json::from_str(&reply.body).map_err(|e| format!("not JSON ({e})"))?;
            for (name, value) in fields {
                let named = stored.as_object().into_iter().flat_map(|o| o.keys());
                if let Some(key) = named
                    .clone()
                    .find(|key| value.is_null() && key.contains(name))
                {
                    return Err(format!("{key} is answered: it never should be"));
                }
                let got = answered_id(&stored, name);
                if got != *value {
                    return Err(format!(
                        "{name} answered as {}, sent {}",
                        short(&got.to_string()),
                        short(&value.to_string())
                    ));
                }
            }
            Ok(())
        }
    }
}

/// The id of the user `field` (`author_id`) names in an answer: the field
/// itself, or from step 15 on, the user answered in full (`author.id`).
pub fn answered_id(answer: &Value, field: &str) -> Value {
    match (&answer[field], field.strip_suffix("_id")) {
        (Value::Null, Some(user)) => answer[user]["id"].clone(),
        (id, _) => id.clone(),
    }
}

/// A JSON error answer whose message contains `hint`.
fn error_says(reply: &Reply, hint: &str) -> Result<(), String> {
    if !reply.content_type.starts_with("application/json") {
        return Err(format!(
            "not JSON: {:?} {}",
            reply.content_type,
            short(&reply.body)
        ));
    }
    let body: Value = serde_json::from_str(&reply.body)
        .map_err(|e| format!("not JSON ({e}): {}", short(&reply.body)))?;
    match body["error"].as_str() {
        Some(error) if error.contains(hint) => Ok(()),
        _ => Err(format!("{} should say {hint:?}", short(&reply.body))),
    }
}

/// The answer; or, for a connection closed without a word, the answer to
/// `again()`, saying so on stderr with `what` was sent. Seen in about one
/// run in eight of `scripts/exercise verify` (16 runs of a step's tests
/// each), never with one step's tests alone: a POST of the matrix, or the
/// GET after one, got no answer. The cause is not known yet (the stderr line
/// names the case); a server that is gone still fails the second try.
fn answered_or_again(
    sent: Result<Reply, String>,
    what: &str,
    again: impl FnOnce() -> Reply,
) -> Reply {
    sent.unwrap_or_else(|why| {
        let _ = writeln!(std::io::stderr(), "{why} ({what}): tried again");
        std::thread::sleep(Duration::from_millis(200));
        again()
    })
}

/// The server still answers: `GET /api/version` is a 200.
fn answers_next(app: &TestApp) -> Result<(), String> {
    let sent = try_send(app, "GET", "/api/version", &[], b"");
    let reply = answered_or_again(sent, "after a case", || {
        send(app, "GET", "/api/version", &[], b"")
    });
    match reply.status {
        200 => Ok(()),
        status => Err(format!(
            "the next request got {status}: {}",
            short(&reply.body)
        )),
    }
}

#[track_caller]
fn report(failures: &[String], ran: usize) -> usize {
    assert!(
        failures.is_empty(),
        "{} of {ran} cases went wrong:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    ran
}

/// Sends one request as raw bytes over a new connection, exactly as given:
/// headers as listed (no `Content-Type` unless listed), any body bytes; and
/// the app's cookies, unless a `Cookie` header is listed.
pub fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    try_send(app, method, path, headers, body).unwrap_or_else(|why| panic!("{why}"))
}

/// [`send`], or why there was no answer.
fn try_send(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Reply, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", app.port))
        .unwrap_or_else(|e| panic!("cannot connect: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
        app.port
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    // The app's cookies (step 20 on: the session it logged in with).
    let cookie_given = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("cookie"));
    if let Some(cookies) = app.cookies.header().filter(|_| !cookie_given) {
        request.push_str(&format!("Cookie: {cookies}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    // Written from a thread of its own: the server may answer (413) before
    // it has read it all, and the answer is read here meanwhile.
    let mut writer = stream.try_clone().expect("a second handle");
    let writing = std::thread::spawn(move || {
        let _ = writer.write_all(&bytes);
    });
    let answer = read_answer(&mut stream);
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = writing.join();
    parse_reply(&answer).ok_or_else(|| {
        format!(
            "no HTTP answer to {method} {}: {:?}",
            short(path),
            short(&String::from_utf8_lossy(&answer))
        )
    })
}

/// Reads an answer until its body is complete (the server may keep the
/// connection open a while after, reading what was sent).
fn read_answer(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buffer = [0; 64 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return answer,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
        let complete = parse_reply(&answer).is_some_and(|reply| {
            let head = find(&answer, b"\r\n\r\n").unwrap_or_default() + 4;
            let length = reply.header("content-length").and_then(|l| l.parse().ok());
            length.is_some_and(|length: usize| answer.len() - head >= length)
        });
        if complete {
            return answer;
        }
    }
}

fn parse_reply(answer: &[u8]) -> Option<Reply> {
    let end = find(answer, b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    Some(Reply {
        status,
        content_type: header("content-type").unwrap_or_default(),
        location: header("location"),
        body: String::from_utf8_lossy(&answer[end + 4..]).into_owned(),
        headers,
    })
}

/// `text` with every byte but letters, digits and `-._~` percent-encoded:
/// any string as one segment of a URL path.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn case(what: &str, content_type: Option<&str>, body: String, expect: Expect) -> Case {
    Case {
        what: what.to_string(),
        method: "POST",
        content_type: content_type.map(str::to_string),
        body: body.into_bytes(),
        expect,
    }
}

fn raw(what: &str, body: Vec<u8>, expect: Expect) -> Case {
    Case {
        what: what.to_string(),
        method: "POST",
        content_type: Some(JSON.to_string()),
        body,
        expect,
    }
}

fn refused(hint: &str) -> Expect {
    Expect::Refused(422, hint.to_string())
}

fn unsupported() -> Expect {
    Expect::Refused(415, "Content-Type: application/json".into())
}

/// The JSON text of `object` with `name` set to the raw bytes `value`.
fn set_raw(object: &Value, name: &str, value: &[u8]) -> Vec<u8> {
    let marker = "\u{1}MARK\u{1}";
    let text = with(object, name, json!(marker)).to_string();
    let quoted = serde_json::to_string(marker).expect("a string");
    let at = text.find(&quoted).expect("the marker");
    let mut bytes = text.as_bytes()[..at].to_vec();
    bytes.extend_from_slice(value);
    bytes.extend_from_slice(&text.as_bytes()[at + quoted.len()..]);
    bytes
}

/// `object` with `name` set to `value`.
fn with(object: &Value, name: &str, value: Value) -> Value {
    let mut object = object.clone();
    object[name] = value;
    object
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// At most 120 characters of `text`, for the failure report.
fn short(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}... ({} bytes)", &text[..at], text.len()),
        None => text.to_string(),
    }
}
