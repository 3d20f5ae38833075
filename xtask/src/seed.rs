//! `--seed`: the tutorial's sample users, then its sample messages, created
//! through a running step's API as the lessons' httpie commands do, then the
//! messages' dates spread over a few minutes, so that the messages page's
//! Date column reads like a conversation. One copy of it, for
//! `scripts/switch --seed`, `scripts/switch reset --seed` and
//! `scripts/exercise run --seed`. From step 20, which has accounts, the
//! users get their sample passwords, and each message is sent logged in as
//! its author, as the step's lesson does with httpie's `--session`.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::{Value, json};
use shared::sample::{MESSAGES, PASSWORDS, USERS};

#[cfg(unix)]
use shared::testing::postgres::psql;

use crate::switch::{agent, is_url};

/// How many minutes apart the sample messages are, in turn (the last one
/// "now"): a conversation of a few minutes rather than seven messages sent
/// in the same second, which the Date column (to the minute) would show as one.
const MINUTES_APART: [u32; 4] = [1, 2, 1, 3];

/// Seeds the step `step` that answers on `port` and uses `database`. What the
/// step has is read from its database, which it set up before answering:
/// users go into a `users` table that is empty, messages into a `messages`
/// table that exists and is empty. A table with rows is left alone. Answers
/// what was done, in a few words.
pub(crate) fn sample_data(step: &str, database: &Path, port: u16) -> Result<String, String> {
    let Some(users_before) = count_rows(database, "users")? else {
        return Ok(format!("nothing: {step} has no users table yet"));
    };
    let http = agent(Duration::from_secs(10));
    // POSTs `body` with the session `cookie`, if any: the answer's cookie
    // when it was stored (`Some`), `None` when the step has no such path yet.
    let post = |path: &str, body: Value, cookie: &str| -> Result<Option<String>, String> {
        let mut request = http.post(format!("http://127.0.0.1:{port}{path}"));
        if !cookie.is_empty() {
            request = request.header("Cookie", cookie);
        }
        let mut reply = request
            .send_json(&body)
            .map_err(|e| format!("POST {path}: {e}"))?;
        match reply.status().as_u16() {
            200..=299 => Ok(Some(session_cookie(&reply))),
            404 | 405 => Ok(None),
            status => Err(format!(
                "POST {path} {body} answered {status}: {}",
                reply.body_mut().read_to_string().unwrap_or_default()
            )),
        }
    };

    if users_before == 0 {
        for ((name, email, nickname), password) in USERS.into_iter().zip(PASSWORDS) {
            // The password is read from step 20 on; the steps before ignore it.
            let user = json!({
                "name": name,
                "email": email,
                "nickname": nickname,
                "password": password,
            });
            if post("/api/users", user, "")?.is_none() {
                return Ok(format!("nothing: {step} has no POST /api/users yet"));
            }
        }
    }
    let messages_before = count_rows(database, "messages")?;
    // When the step has accounts (step 20 on), each sample user's session,
    // to send the messages as their authors.
    let mut sessions = Vec::new();
    if messages_before == Some(0) {
        for ((_, _, nickname), password) in USERS.into_iter().zip(PASSWORDS) {
            let login = json!({ "nickname": nickname, "password": password });
            match post("/api/login", login, "")? {
                Some(cookie) => sessions.push(cookie),
                None => break,
            }
        }
    }
    let users = match users_before {
        0 if !sessions.is_empty() => format!(
            "{} users (passwords: {})",
            USERS.len(),
            PASSWORDS.join(", ")
        ),
        0 => format!("{} users", USERS.len()),
        n => format!("{n} users"),
    };
    if messages_before == Some(0) {
        for (author_id, recipient_id, content) in MESSAGES {
            // With accounts, the author is whoever is logged in.
            let author = usize::try_from(author_id - 1)
                .ok()
                .and_then(|i| sessions.get(i));
            let message = match author {
                Some(_) => json!({ "recipient_id": recipient_id, "content": content }),
                None => json!({
                    "author_id": author_id,
                    "recipient_id": recipient_id,
                    "content": content,
                }),
            };
            let cookie = author.map_or("", String::as_str);
            if post("/api/messages", message, cookie)?.is_none() {
                return Ok(match users_before {
                    0 => format!("{users} ({step} has no POST /api/messages yet)"),
                    _ => format!("none added: it has {users}"),
                });
            }
        }
    }
    let messages = match messages_before {
        Some(0) => {
            let minutes = spread_dates(database)?;
            format!("{} messages over {minutes} minutes", MESSAGES.len())
        }
        Some(n) => format!("{n} messages"),
        None => String::new(),
    };
    Ok(match (users_before, messages_before) {
        (0, None) => format!("{users} ({step} has no messages yet)"),
        (0, _) => format!("{users}, {messages}"),
        (_, None) => format!("none added: it has {users}"),
        (_, Some(0)) => format!("{messages} (it had {users} already)"),
        (_, Some(_)) => format!("none added: it has {users} and {messages}"),
    })
}

/// The session cookie an answer sets, `session=...`, as a `Cookie` header
/// sends it back; empty when there is none.
fn session_cookie(reply: &ureq::http::Response<ureq::Body>) -> String {
    let set = reply.headers().get_all("set-cookie").iter();
    set.filter_map(|value| value.to_str().ok())
        .find(|cookie| cookie.starts_with("session="))
        .and_then(|cookie| cookie.split(';').next())
        .unwrap_or_default()
        .to_string()
}

/// Dates the messages, which were all just created in the same second, a
/// few minutes apart: the last one now, each one before it
/// `MINUTES_APART` earlier. The date is written as the steps' database
/// writes it (`strftime('%Y-%m-%dT%H:%M:%SZ', 'now')`: 2026-11-26T09:30:00Z).
/// Called only when the table was empty before seeding: its messages are
/// the sample's. Answers how many minutes they span.
fn spread_dates(database: &Path) -> Result<u32, String> {
    if is_url(database) {
        return spread_dates_in_postgres(&database.to_string_lossy());
    }
    let failed = |e: rusqlite::Error| format!("cannot date the messages: {e}");
    let mut connection = Connection::open(database).map_err(failed)?;
    // The step's own connection may be writing: wait for it rather than fail.
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(failed)?;
    let transaction = connection.transaction().map_err(failed)?;
    let ids: Vec<i64> = transaction
        .prepare("SELECT id FROM messages ORDER BY id")
        .and_then(|mut query| query.query_map([], |row| row.get(0))?.collect())
        .map_err(failed)?;
    // Minutes before now, from the last message back to the first.
    let mut before = vec![0; ids.len()];
    for k in (0..ids.len().saturating_sub(1)).rev() {
        before[k] = before[k + 1] + MINUTES_APART[k % MINUTES_APART.len()];
    }
    for (id, minutes) in ids.iter().zip(&before) {
        transaction
            .execute(
                "UPDATE messages SET date = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?1) \
                 WHERE id = ?2",
                (format!("-{minutes} minutes"), id),
            )
            .map_err(failed)?;
    }
    transaction.commit().map_err(failed)?;
    Ok(before.first().copied().unwrap_or(0))
}

/// psql is not run on Windows, where no step on PostgreSQL starts.
#[cfg(not(unix))]
fn psql(_: &str, _: &str) -> Result<String, String> {
    Err("PostgreSQL's steps need Linux (or WSL)".into())
}

/// [`spread_dates`] for a step on PostgreSQL (22 on), with psql.
fn spread_dates_in_postgres(url: &str) -> Result<u32, String> {
    let failed = |e: String| format!("cannot date the messages: {e}");
    let ids = psql(url, "SELECT id FROM messages ORDER BY id").map_err(failed)?;
    let ids: Vec<&str> = ids.lines().collect();
    let mut before = vec![0; ids.len()];
    for k in (0..ids.len().saturating_sub(1)).rev() {
        before[k] = before[k + 1] + MINUTES_APART[k % MINUTES_APART.len()];
    }
    let values: Vec<String> = ids
        .iter()
        .zip(&before)
        .map(|(id, minutes)| format!("({id}, {minutes})"))
        .collect();
    if !values.is_empty() {
        let update = format!(
            "UPDATE messages SET date = to_char((now() - make_interval(mins => m.minutes)) \
             AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             FROM (VALUES {}) AS m (id, minutes) WHERE messages.id = m.id",
            values.join(", ")
        );
        psql(url, &update).map_err(failed)?;
    }
    Ok(before.first().copied().unwrap_or(0))
}

/// How many rows `table` has in the step's database; `None` when the database
/// or the table does not exist. A connection of its own, read-only and
/// closed at once, so the running step is never kept waiting.
pub(crate) fn count_rows(database: &Path, table: &str) -> Result<Option<i64>, String> {
    if is_url(database) {
        // From step 22: PostgreSQL's, with psql; no such table reads as none.
        let url = database.to_string_lossy();
        let count = psql(&url, &format!("SELECT count(*) FROM {table}"));
        return Ok(count.ok().and_then(|count| count.trim().parse().ok()));
    }
    if !database.exists() {
        return Ok(None);
    }
    let failed = |e: rusqlite::Error| format!("cannot read {}: {e}", database.display());
    let connection =
        Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(failed)?;
    connection
        .busy_timeout(Duration::from_secs(2))
        .map_err(failed)?;
    let exists = connection
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |_| Ok(()),
        )
        .optional()
        .map_err(failed)?
        .is_some();
    if !exists {
        return Ok(None);
    }
    // `table` is one of our two names, never the learner's input.
    let count = connection
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .map_err(failed)?;
    Ok(Some(count))
}

/// What a database holds, for a report: "4 users, 9 messages", "no users",
/// "no tables"; `None` when there is no database.
pub(crate) fn contents(database: &Path) -> Option<String> {
    if !database.exists() && !is_url(database) {
        return None;
    }
    let count = |table| count_rows(database, table).ok().flatten();
    Some(match (count("users"), count("messages")) {
        (None, _) => "no users table".to_string(),
        (Some(users), None) => format!("{users} users"),
        (Some(users), Some(messages)) => format!("{users} users, {messages} messages"),
    })
}
