//! The chat app at this step. This file: the routes, the API's handlers
//! and `main`; the modules below: the rest. The lesson is README.md.

/// Accounts: sign up, log in, log out (step 20).
mod accounts;
/// The database thread (step 01b).
mod db;
/// Errors as JSON answers (step 02b).
mod errors;
/// Which pages are open for which user (step 18).
mod hub;
/// The stored data: the tables, the rows as structs, the queries (step 02).
mod models;
/// The HTML pages (step 04).
mod pages;
/// A conversation in pages: its API and its query (step 21).
mod paging;
/// Passwords: their hashes, and the limit on guessing them (step 20).
mod passwords;
/// Once logged in, who is asking: the session cookie (step 20).
mod sessions;
/// The WebSocket: `/ws` and each page's connection (step 16).
mod websocket;

use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use bytestring::ByteString;
use serde_json::json;

use db::Db;
use errors::{ApiError, no_such_route, reject_bad_json, reject_bad_path};
use hub::Hub;
use models::{
    MESSAGES_WITH_USERS, Message, MessageWithUsers, NewMessage, User, open_db, parse_user_id,
    select_user, select_users, user_exists,
};
use pages::PAGE_POLICY;
use sessions::LoggedIn;

/// What `/api/version` reports: this step's name.
const VERSION: &str = "21";

// try it: http :5001/db/alive
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
async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "version": VERSION }))
}

// try it: http :5001/api/users
async fn list_users(db: web::Data<Db>) -> Result<web::Json<Vec<User>>, ApiError> {
    Ok(web::Json(db.run(select_users).await?))
}

// try it: http :5001/api/users/1
async fn get_user(db: web::Data<Db>, id: web::Path<i64>) -> Result<web::Json<User>, ApiError> {
    let id = id.into_inner();
    let user = db.run(move |connection| select_user(connection, id)).await?;
    match user {
        Some(user) => Ok(web::Json(user)),
        None => Err(ApiError::NotFound(format!("no user with id {id}"))),
    }
}

/// The longest content a message may have, in bytes (step 18): a page's
/// queue of events (hub.rs) then holds at most about 64 times that.
const LONGEST_CONTENT: usize = 16 * 1024;

// try it: http --session=alice :5001/api/messages recipient_id=2 content="trois petits chats"
async fn create_message(
    db: web::Data<Db>,
    hub: web::Data<Hub>,
    me: LoggedIn,
    body: web::Json<NewMessage>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner();
    // The author is whoever is logged in: the server decides, not the body.
    let author_id = me.user_id;
    if new.author_id.is_some() {
        let why = "author_id: leave it out, the author is whoever is logged in";
        return Err(ApiError::BadInput(why.into()));
    }
    let recipient_id = parse_user_id("recipient_id", &new.recipient_id)?;
    if new.content.trim().is_empty() {
        return Err(ApiError::BadInput("content must not be empty".into()));
    }
    if new.content.len() > LONGEST_CONTENT {
        let limit = format!("content must be at most {LONGEST_CONTENT} bytes long");
        return Err(ApiError::BadInput(limit));
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
            // Stored: the recipient's open pages hear of it at once (step 18),
            // and so do the author's other pages (step 19). Sent from the
            // database thread, which stores one message at a time, so each
            // page gets its messages in the order they were stored.
            let event =
                ByteString::from(json!({ "event": "message", "data": message }).to_string());
            hub.send(message.recipient.id, &event);
            if message.author.id != message.recipient.id {
                hub.send(message.author.id, &event);
            }
            Ok(message)
        })
        .await?;
    Ok(HttpResponse::Created().json(message))
}

// try it: http --session=alice :5001/api/messages
async fn list_messages(
    db: web::Data<Db>,
    me: LoggedIn,
) -> Result<web::Json<Vec<Message>>, ApiError> {
    let messages = db
        .run(move |connection| {
            let mut statement = connection.prepare(
                "SELECT id, content, date, author_id, recipient_id FROM messages
                 WHERE author_id = ?1 OR recipient_id = ?1 ORDER BY id",
            )?;
            statement.query_map([me.user_id], Message::from_row)?.collect()
        })
        .await?;
    Ok(web::Json(messages))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // The command line, the database, the port, the banner: see `shared`.
    // A bad --db path stops the step here, with one line saying so.
    let started = shared::start!(open_db);

    // SQLite's version, and whether it checks foreign keys (step 07).
    let (sqlite, keys): (String, bool) = started
        .db
        .query_row(
            "SELECT sqlite_version(), foreign_keys FROM pragma_foreign_keys",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("the database does not answer");
    eprintln!(
        "database ready: SQLite {sqlite}, foreign keys {}",
        if keys { "on" } else { "off" }
    );

    // The key of the session cookies, kept beside the database (step 20).
    let key = sessions::session_key(&started.db);
    // One database thread for the whole server, started here: the closure
    // given to `HttpServer::new` runs once per worker thread, and each run
    // only clones this handle.
    let db = web::Data::new(Db::start(started.db));
    // The open pages of each user (step 18), one hub for all the workers.
    let hub = web::Data::new(Hub::default());
    let passwords = web::Data::new(passwords::Passwords::new());

    HttpServer::new(move || {
        App::new()
            .app_data(db.clone())
            .app_data(hub.clone())
            .app_data(passwords.clone())
            // actix-web's own errors, answered as JSON too (errors.rs).
            .app_data(web::JsonConfig::default().error_handler(reject_bad_json))
            .app_data(web::PathConfig::default().error_handler(reject_bad_path))
            .wrap(
                middleware::DefaultHeaders::new()
                    .add(("Content-Security-Policy", PAGE_POLICY))
                    .add(("X-Content-Type-Options", "nosniff")),
            )
            // Who is asking (step 20): their session, and the page they use.
            .wrap(middleware::from_fn(sessions::refuse_foreign_posts))
            .wrap(sessions::sessions(key.clone()))
            // The request log, HEAD answered like GET, the Host check: see `shared`.
            .wrap(shared::plumbing())
            .service(web::resource("/db/alive").get(db_alive))
            .service(web::resource("/api/version").get(version))
            .service(web::resource("/api/users").get(list_users).post(accounts::create_user))
            .service(web::resource("/api/users/{id}").get(get_user))
            .service(web::resource("/api/messages").get(list_messages).post(create_message))
            .service(web::resource("/api/messages/with/{user_id}").get(paging::list_messages_with))
            .service(web::resource("/api/login").post(accounts::login))
            .service(web::resource("/api/logout").post(accounts::logout))
            .service(web::resource("/").get(pages::index))
            .service(web::resource("/front/users").get(pages::front_users))
            .service(web::resource("/front/signup").get(pages::front_signup))
            .service(web::resource("/front/login").get(pages::front_login))
            .service(web::resource("/front/messages").get(pages::front_messages))
            .service(web::resource("/front/messages/{user_id}").get(pages::front_messages))
            .service(web::resource("/static/style.css").get(pages::style))
            .service(web::resource("/static/script.js").get(pages::script))
            .service(web::resource("/static/accounts.js").get(pages::accounts_script))
            .service(web::resource("/ws").get(websocket::handshake))
            .default_service(web::to(no_such_route))
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
