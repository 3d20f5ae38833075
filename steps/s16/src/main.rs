//! Step 16: the messages page opens a WebSocket to the server.
//!
//! The whole app at this step, read from top to bottom; `main`, at the end,
//! wires the routes. The machinery taught in earlier steps has files of its
//! own: the database thread in `db.rs` (step 01b) and errors as JSON in
//! `errors.rs` (step 02b). The lesson is in README.md.

mod db;
mod errors;

use std::path::Path;
use std::time::{Duration, Instant};

use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, get, middleware, post, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, MessageStream, Session};
use maud::{DOCTYPE, Markup, html};
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use db::Db;
use errors::{ApiError, no_such_route, reject_bad_json, reject_bad_path};

/// What `/api/version` reports: this step's name.
const VERSION: &str = "16";

// ---------------------------------------------------------------- the data

/// A user, as stored and as the API answers it (serde writes the JSON).
#[derive(Serialize)]
struct User {
    id: i64,
    name: String,
    email: String,
    nickname: String,
}

impl User {
    /// Reads a row of `SELECT id, name, email, nickname ...` into a `User`.
    fn from_row(row: &Row) -> rusqlite::Result<User> {
        User::from_columns(row, 0)
    }

    /// Reads a user from four columns of a row (id, name, email, nickname),
    /// starting at column `first`.
    fn from_columns(row: &Row, first: usize) -> rusqlite::Result<User> {
        Ok(User {
            id: row.get(first)?,
            name: row.get(first + 1)?,
            email: row.get(first + 2)?,
            nickname: row.get(first + 3)?,
        })
    }
}

/// The body `POST /api/users` takes. serde rejects a body that lacks a field
/// or has one of the wrong type, before our handler even runs.
#[derive(Deserialize)]
struct NewUser {
    name: String,
    email: String,
    nickname: String,
}

/// A message, as stored and as the API answers it.
#[derive(Serialize)]
struct Message {
    id: i64,
    content: String,
    date: String,
    author_id: i64,
    recipient_id: i64,
}

impl Message {
    /// Reads a row of `SELECT id, content, date, author_id, recipient_id ...`.
    fn from_row(row: &Row) -> rusqlite::Result<Message> {
        Ok(Message {
            id: row.get(0)?,
            content: row.get(1)?,
            date: row.get(2)?,
            author_id: row.get(3)?,
            recipient_id: row.get(4)?,
        })
    }
}

/// A message with its author and recipient in full, as a conversation lists it.
#[derive(Serialize)]
struct MessageWithUsers {
    id: i64,
    content: String,
    date: String,
    author: User,
    recipient: User,
}

impl MessageWithUsers {
    /// Reads a row of `MESSAGES_WITH_USERS` (below): the message's columns,
    /// then its author's four, then its recipient's.
    fn from_row(row: &Row) -> rusqlite::Result<MessageWithUsers> {
        Ok(MessageWithUsers {
            id: row.get(0)?,
            content: row.get(1)?,
            date: row.get(2)?,
            author: User::from_columns(row, 3)?,
            recipient: User::from_columns(row, 7)?,
        })
    }
}

/// One query for messages and their users: each message joined to its two
/// users, in the columns `MessageWithUsers::from_row` reads. A query adds its
/// own `WHERE`; the values still go as parameters, never into the text.
const MESSAGES_WITH_USERS: &str = "
    SELECT m.id, m.content, m.date,
           a.id, a.name, a.email, a.nickname,
           r.id, r.name, r.email, r.nickname
    FROM messages AS m
    JOIN users AS a ON a.id = m.author_id
    JOIN users AS r ON r.id = m.recipient_id";

/// The body `POST /api/messages` takes. The ids are any JSON value here, and
/// `user_id` reads them: a number (`1`) or a string of digits (`"1"`), which
/// is what httpie's `author_id=1` sends.
#[derive(Deserialize)]
struct NewMessage {
    author_id: Value,
    recipient_id: Value,
    content: String,
}

// ------------------------------------------------------------ the database

/// Opens (or creates) the database file and creates the tables that are missing.
fn open_db(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    // Write-ahead logging: a commit no longer waits for the disk twice, which
    // makes writes about 30 times faster, and readers never wait for writers.
    connection.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS users (
            id       INTEGER PRIMARY KEY,
            name     TEXT NOT NULL,
            email    TEXT NOT NULL,
            nickname TEXT NOT NULL
        )",
    )?;
    // A message refers to two users. With foreign keys on (SQLite checks
    // them only when asked, on each connection), the database itself refuses
    // a message whose author or recipient does not exist.
    connection.execute_batch("PRAGMA foreign_keys = ON;")?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS messages (
            id           INTEGER PRIMARY KEY,
            content      TEXT NOT NULL,
            author_id    INTEGER NOT NULL REFERENCES users (id),
            recipient_id INTEGER NOT NULL REFERENCES users (id),
            date         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        )",
    )?;
    // A conversation is found by author and by recipient: an index on each
    // lets SQLite go straight to those rows instead of reading every message.
    connection.execute_batch(
        "CREATE INDEX IF NOT EXISTS messages_by_author ON messages (author_id);
         CREATE INDEX IF NOT EXISTS messages_by_recipient ON messages (recipient_id);",
    )?;
    Ok(connection)
}

// ------------------------------------------------------------------ the API

// try it: http :5001/db/alive
#[get("/db/alive")]
async fn db_alive(db: web::Data<Db>) -> HttpResponse {
    let answer = db
        .run(|connection| connection.query_row("SELECT 1", [], |row| row.get::<_, i64>(0)))
        .await;
    match answer {
        Ok(_) => HttpResponse::Ok().json(json!({
            "status": "healthy",
            "message": "Database connection is alive",
        })),
        Err(e) => {
            // The details are for the server's log, not for the client.
            log::error!("GET /db/alive: {e}");
            HttpResponse::ServiceUnavailable().json(json!({
                "status": "unhealthy",
                "error": "the database does not answer",
            }))
        }
    }
}

// try it: http :5001/api/version
#[get("/api/version")]
async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "version": VERSION }))
}

// try it: http :5001/api/users name="Alice Caroll" email="alice@foo.com" nickname="alice"
#[post("/api/users")]
async fn create_user(
    db: web::Data<Db>,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner();
    for (field, value) in [
        ("name", &new.name),
        ("email", &new.email),
        ("nickname", &new.nickname),
    ] {
        if value.trim().is_empty() {
            return Err(ApiError::BadInput(format!("{field} must not be empty")));
        }
    }
    // `RETURNING` hands back the stored row, with the id SQLite chose.
    let user = db
        .run(move |connection| {
            connection.query_row(
                "INSERT INTO users (name, email, nickname) VALUES (?1, ?2, ?3)
                 RETURNING id, name, email, nickname",
                (&new.name, &new.email, &new.nickname),
                User::from_row,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(user))
}

// try it: http :5001/api/users
#[get("/api/users")]
async fn list_users(db: web::Data<Db>) -> Result<web::Json<Vec<User>>, ApiError> {
    Ok(web::Json(db.run(select_users).await?))
}

/// All the users, in id order.
fn select_users(connection: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut statement =
        connection.prepare("SELECT id, name, email, nickname FROM users ORDER BY id")?;
    statement.query_map([], User::from_row)?.collect()
}

// try it: http :5001/api/users/1
#[get("/api/users/{id}")]
async fn get_user(db: web::Data<Db>, id: web::Path<i64>) -> Result<web::Json<User>, ApiError> {
    let id = id.into_inner();
    let user = db
        .run(move |connection| select_user(connection, id))
        .await?;
    match user {
        Some(user) => Ok(web::Json(user)),
        None => Err(ApiError::NotFound(format!("no user with id {id}"))),
    }
}

/// The user with this id, if there is one.
fn select_user(connection: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    connection
        .query_row(
            "SELECT id, name, email, nickname FROM users WHERE id = ?1",
            [id],
            User::from_row,
        )
        .optional()
}

// try it: http :5001/api/messages author_id=1 recipient_id=2 content="trois petits chats"
#[post("/api/messages")]
async fn create_message(
    db: web::Data<Db>,
    body: web::Json<NewMessage>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner();
    let author_id = user_id("author_id", &new.author_id)?;
    let recipient_id = user_id("recipient_id", &new.recipient_id)?;
    if new.content.trim().is_empty() {
        return Err(ApiError::BadInput("content must not be empty".into()));
    }
    let message = db
        .run(move |connection| {
            // The database thread runs one job at a time: nothing can remove
            // a user between these checks and the INSERT.
            for (field, id) in [("author_id", author_id), ("recipient_id", recipient_id)] {
                if !user_exists(connection, id)? {
                    return Err(ApiError::BadInput(format!("{field}: no user with id {id}")));
                }
            }
            let id: i64 = connection.query_row(
                "INSERT INTO messages (content, author_id, recipient_id) VALUES (?1, ?2, ?3)
                 RETURNING id",
                (&new.content, author_id, recipient_id),
                |row| row.get(0),
            )?;
            // The answer: the stored message as a conversation lists it, with
            // its two users in full, so a page can show their nicknames.
            let message = connection.query_row(
                &format!("{MESSAGES_WITH_USERS} WHERE m.id = ?1"),
                [id],
                MessageWithUsers::from_row,
            )?;
            Ok(message)
        })
        .await?;
    Ok(HttpResponse::Created().json(message))
}

// try it: http :5001/api/messages
#[get("/api/messages")]
async fn list_messages(db: web::Data<Db>) -> Result<web::Json<Vec<Message>>, ApiError> {
    let messages = db
        .run(|connection| {
            let mut statement = connection.prepare(
                "SELECT id, content, date, author_id, recipient_id FROM messages ORDER BY id",
            )?;
            statement.query_map([], Message::from_row)?.collect()
        })
        .await?;
    Ok(web::Json(messages))
}

// try it: http :5001/api/messages/with/1
#[get("/api/messages/with/{user_id}")]
async fn list_messages_with(
    db: web::Data<Db>,
    user_id: web::Path<i64>,
) -> Result<web::Json<Vec<MessageWithUsers>>, ApiError> {
    let user_id = user_id.into_inner();
    let messages = db
        .run(move |connection| {
            if !user_exists(connection, user_id)? {
                return Err(ApiError::NotFound(format!("no user with id {user_id}")));
            }
            Ok(select_conversation(connection, user_id)?)
        })
        .await?;
    Ok(web::Json(messages))
}

/// The messages to and from a user, oldest first, each with its two users.
fn select_conversation(
    connection: &Connection,
    user_id: i64,
) -> rusqlite::Result<Vec<MessageWithUsers>> {
    let mut statement = connection.prepare(&format!(
        "{MESSAGES_WITH_USERS} WHERE m.author_id = ?1 OR m.recipient_id = ?1 ORDER BY m.id"
    ))?;
    statement
        .query_map([user_id], MessageWithUsers::from_row)?
        .collect()
}

/// Reads a user id sent as a number (`1`) or as a string of digits (`"1"`).
fn user_id(field: &str, value: &Value) -> Result<i64, ApiError> {
    let id = match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    };
    id.ok_or_else(|| {
        ApiError::BadInput(format!(
            "{field} must be a user's id: a whole number, like 1 or \"1\""
        ))
    })
}

/// Is there a user with this id?
fn user_exists(connection: &Connection, id: i64) -> rusqlite::Result<bool> {
    connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
        [id],
        |row| row.get(0),
    )
}

// ---------------------------------------------------------------- the pages

// try it: open http://localhost:5001/ (it redirects to /front/users)
#[get("/")]
async fn index() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/front/users"))
        .finish()
}

// try it: open http://localhost:5001/front/users
#[get("/front/users")]
async fn front_users(db: web::Data<Db>) -> Result<Markup, ApiError> {
    let users = db.run(select_users).await?;
    Ok(users_page(&users))
}

/// The users page. maud escapes every `(value)` it splices in, so a nickname
/// like `<script>` shows as text and never runs.
fn users_page(users: &[User]) -> Markup {
    let body = html! {
        h1 { "Users " span.version { "(version " (VERSION) ")" } }
        ul.users {
            @for user in users {
                li {
                    a href={ "/front/messages/" (user.id) } {
                        (user.nickname) " (" (user.name) ")"
                    }
                    " "
                    a.email href={ "mailto:" (user.email) } { (user.email) }
                }
            }
        }
        @if users.is_empty() {
            p.empty { "No users yet." }
        }
    };
    page("Users", body)
}

// try it: open http://localhost:5001/front/messages/1
#[get("/front/messages/{user_id}")]
async fn front_messages(
    db: web::Data<Db>,
    user_id: web::Path<String>,
) -> Result<(Markup, StatusCode), ApiError> {
    // A page, not the API: an id that is not a number gets the 404 page.
    let Ok(id) = user_id.parse::<i64>() else {
        return Ok((no_such_user_page(&user_id), StatusCode::NOT_FOUND));
    };
    // The user, their messages and everyone they can write to, read in one
    // job: the same queries as the API's.
    let found = db
        .run(move |connection| -> rusqlite::Result<_> {
            let Some(user) = select_user(connection, id)? else {
                return Ok(None);
            };
            let messages = select_conversation(connection, id)?;
            Ok(Some((user, messages, select_users(connection)?)))
        })
        .await?;
    match found {
        Some((user, messages, users)) => {
            Ok((messages_page(&user, &messages, &users), StatusCode::OK))
        }
        None => Ok((no_such_user_page(&user_id), StatusCode::NOT_FOUND)),
    }
}

/// The messages page: one user's conversation, oldest first, and a form to
/// send a message to any other user.
fn messages_page(user: &User, messages: &[MessageWithUsers], users: &[User]) -> Markup {
    let body = html! {
        p { a href="/front/users" { "← all the users" } }
        h1 { "Messages of " (user.nickname) " (" (user.name) ")" }
        table.messages {
            thead {
                tr { th { "Date" } th { "From" } th { "To" } th { "Message" } }
            }
            tbody {
                @for message in messages {
                    tr {
                        td { time datetime=(message.date) { (readable_date(&message.date)) } }
                        td { (message.author.nickname) }
                        td { (message.recipient.nickname) }
                        td { (message.content) }
                    }
                }
            }
        }
        @if messages.is_empty() {
            p.empty { "No messages yet." }
        }
        // static/script.js sends this form as JSON; the author is this page's user.
        form #send {
            input type="hidden" name="author_id" value=(user.id);
            label for="recipient" { "To" }
            select #recipient name="recipient_id" {
                @for other in users.iter().filter(|other| other.id != user.id) {
                    option value=(other.id) { (other.nickname) }
                }
            }
            label for="content" { "Message" }
            input #content type="text" name="content" autocomplete="off";
            button type="submit" { "Send" }
            // Where the script says why a message could not be sent.
            p.error role="alert" hidden {}
        }
        script src="/static/script.js" {}
    };
    page(&format!("Messages of {}", user.nickname), body)
}

/// `2026-11-26T09:30:00Z`, as people read it: `2026-11-26 09:30 UTC`.
fn readable_date(date: &str) -> String {
    match (date.get(..10), date.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => date.to_string(),
    }
}

/// The page for a user who does not exist, with the way back.
fn no_such_user_page(user_id: &str) -> Markup {
    let body = html! {
        h1 { "No such user" }
        p { "There is no user " (user_id) ". " a href="/front/users" { "See all the users." } }
    };
    page("No such user", body)
}

/// What every page shares: the head, with the stylesheet, around its body.
fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/static/style.css";
            }
            body { (body) }
        }
    }
}

/// The stylesheet is compiled into the binary: the step serves it whatever
/// the current directory is.
#[get("/static/style.css")]
async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../static/style.css"))
}

/// The messages page's script, compiled into the binary like the stylesheet.
#[get("/static/script.js")]
async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("../static/script.js"))
}

/// What a page may load: scripts, styles and images from this server only
/// (`data:` for the empty icon), and no other site may show it in a frame.
const PAGE_POLICY: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

// ------------------------------------------------------------ the WebSocket

/// What a page says over its WebSocket. Each frame is JSON text naming an
/// event and carrying its data, `{"event": "connect-ack", "data": "..."}`:
/// what Socket.IO's `emit(event, data)` sends, written out.
#[derive(Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "kebab-case")]
enum PageEvent {
    /// The page is connected (step 16): the server logs it.
    ConnectAck(String),
}

/// The largest frame a page may send: a chat's events are small.
const LARGEST_FRAME: usize = 64 * 1024;

// try it: open http://localhost:5001/front/messages/1 (the server logs "connect-ack")
#[get("/ws")]
async fn websocket(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    // A frame over that size is refused as soon as its header arrives
    // (actix-ws alone would keep all of it before refusing it: see `shared`).
    let body = shared::limit_frames(&req, body, LARGEST_FRAME);
    // The handshake: the answer switches the connection from HTTP to WebSocket.
    let (response, session, frames) = actix_ws::handle(&req, body)?;
    // The connection then lives on in a task of its own.
    actix_web::rt::spawn(page_connection(session, frames));
    Ok(response)
}

/// How often the server pings a quiet page, and when it gives up on one
/// that answers nothing (a closed laptop, a dropped network).
const PING_EVERY: Duration = Duration::from_secs(5);
const GONE_AFTER: Duration = Duration::from_secs(15);

/// One page's WebSocket, until it closes: reads the page's events, and pings
/// it now and then to notice a page that is gone.
async fn page_connection(mut session: Session, frames: MessageStream) {
    // A frame, or a message sent in several frames, over that size is refused.
    let mut frames = frames
        .max_frame_size(LARGEST_FRAME)
        .aggregate_continuations()
        .max_continuation_size(LARGEST_FRAME);
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = Instant::now();
    let close = loop {
        tokio::select! {
            frame = frames.recv() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(AggregatedMessage::Text(text))) => {
                        match serde_json::from_str::<PageEvent>(&text) {
                            Ok(PageEvent::ConnectAck(data)) => log::info!("connect-ack: {data}"),
                            // A frame that is no event of ours: said in the log, then ignored.
                            Err(e) => log::warn!("a page sent an event we do not know: {e}"),
                        }
                    }
                    Some(Ok(AggregatedMessage::Ping(bytes))) => {
                        if session.pong(&bytes).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(AggregatedMessage::Close(reason))) => break reason,
                    Some(Ok(_)) => {} // a pong, or binary: nothing to do
                    // A broken or oversized frame: close, saying why.
                    Some(Err(e)) => break Some(CloseReason {
                        code: CloseCode::Policy,
                        description: Some(e.to_string()),
                    }),
                    None => return, // the connection is gone
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > GONE_AFTER || session.ping(b"").await.is_err() {
                    break Some(CloseCode::Away.into());
                }
            }
        }
    };
    let _ = session.close(close).await;
}

// --------------------------------------------------------------------- main

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // The command line, the database, the port, the banner: see `shared`.
    // A bad --db path stops the step here, with one line saying so.
    let started = shared::start!(open_db);

    let sqlite: String = started
        .db
        .query_row("SELECT sqlite_version()", [], |row| row.get(0))
        .expect("the database does not answer");
    eprintln!("database ready: SQLite {sqlite}");

    // One database thread for the whole server, started here: the closure
    // given to `HttpServer::new` runs once per worker thread, and each run
    // only clones this handle.
    let db = web::Data::new(Db::start(started.db));

    HttpServer::new(move || {
        App::new()
            .app_data(db.clone())
            // actix-web's own errors, answered as JSON too (errors.rs).
            .app_data(web::JsonConfig::default().error_handler(reject_bad_json))
            .app_data(web::PathConfig::default().error_handler(reject_bad_path))
            .wrap(
                middleware::DefaultHeaders::new()
                    .add(("Content-Security-Policy", PAGE_POLICY))
                    .add(("X-Content-Type-Options", "nosniff")),
            )
            // The request log, HEAD answered like GET, the Host check: see `shared`.
            .wrap(shared::plumbing())
            .service(db_alive)
            .service(version)
            .service(create_user)
            .service(list_users)
            .service(get_user)
            .service(create_message)
            .service(list_messages)
            .service(list_messages_with)
            .service(index)
            .service(front_users)
            .service(front_messages)
            .service(style)
            .service(script)
            .service(websocket)
            .default_service(web::to(no_such_route))
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
