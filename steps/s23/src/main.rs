//! The chat app at this step. This file: the routes, the API's handlers
//! and `main`; the modules below: the rest. The lesson is README.md.

/// Accounts: sign up, log in, log out (step 20).
mod accounts;
/// Errors as JSON answers (step 02b).
mod errors;
/// Which pages are open for which user (step 18).
mod hub;
/// A SQLite step's database copied in: `--import` (step 22).
mod import;
/// The schema, as SQL files applied in order (step 22).
mod migrations;
/// The stored data: the tables, the rows as structs, the queries (step 02).
mod models;
/// The HTML pages (step 04).
mod pages;
/// A conversation in pages: its API and its query (step 21).
mod paging;
/// Passwords: their hashes, and the limit on guessing them (step 20).
mod passwords;
/// New messages, through Redis, to the pages of every instance (step 23).
mod pubsub;
/// Once logged in, who is asking: the session cookie (step 20).
mod sessions;
/// The WebSocket: `/ws` and each page's connection (step 16).
mod websocket;

use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use deadpool_postgres::Pool;
use serde_json::json;

use errors::{ApiError, no_such_route, reject_bad_json, reject_bad_path};
use hub::Hub;
use models::{
    MESSAGES_WITH_USERS, Message, MessageWithUsers, NewMessage, User, open_db, parse_user_id,
    select_user, select_users, user_exists,
};
use pages::PAGE_POLICY;
use pubsub::{Feed, Turn};
use sessions::LoggedIn;

/// What `/api/version` reports: this step's name.
const VERSION: &str = "23";

// try it: http :5001/db/alive
async fn db_alive(db: web::Data<Pool>) -> HttpResponse {
    let answer: Result<_, ApiError> = async {
        let connection = db.get().await?;
        Ok(connection.query_one("SELECT 1", &[]).await?)
    }
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
async fn list_users(db: web::Data<Pool>) -> Result<web::Json<Vec<User>>, ApiError> {
    let connection = db.get().await?;
    Ok(web::Json(select_users(&connection).await?))
}

// try it: http :5001/api/users/1
async fn get_user(db: web::Data<Pool>, id: web::Path<i64>) -> Result<web::Json<User>, ApiError> {
    let id = id.into_inner();
    let connection = db.get().await?;
    let user = select_user(&connection, id).await?;
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
    db: web::Data<Pool>,
    feed: web::Data<Feed>,
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
    let connection = db.get().await?;
    // The users exist (PostgreSQL's foreign keys would refuse it otherwise,
    // with a message less clear than this one).
    for (field, id) in [("author_id", author_id), ("recipient_id", recipient_id)] {
        if !user_exists(&connection, id).await? {
            return Err(ApiError::BadInput(format!("{field}: no user with id {id}")));
        }
    }
    // One message at a time, stored then published, across all the
    // instances: the turn is a lock in the database they share, which this
    // connection holds until it gives it back (pubsub.rs).
    let connection = Turn::take(connection).await?;
    // Each statement is prepared once per connection, then reused.
    let insert = connection
        .prepare_cached(
            "INSERT INTO messages (content, author_id, recipient_id) VALUES ($1, $2, $3)
             RETURNING id",
        )
        .await?;
    let row = connection
        .query_one(&insert, &[&new.content, &author_id, &recipient_id])
        .await?;
    let id: i64 = row.try_get(0)?;
    // The answer: the stored message as a conversation lists it, with
    // its two users in full, so a page can show their nicknames.
    let select = connection
        .prepare_cached(&format!("{MESSAGES_WITH_USERS} WHERE m.id = $1"))
        .await?;
    let row = connection.query_one(&select, &[&id]).await?;
    let message = MessageWithUsers::from_row(&row)?;
    // Stored: every instance hears of it, and sends it to its pages of the
    // recipient and of the author (steps 18, 19 and 23).
    feed.publish(message.clone()).await;
    connection.give_back().await?;
    Ok(HttpResponse::Created().json(message))
}

// try it: http --session=alice :5001/api/messages
async fn list_messages(
    db: web::Data<Pool>,
    me: LoggedIn,
) -> Result<web::Json<Vec<Message>>, ApiError> {
    let connection = db.get().await?;
    let rows = connection
        .query(
            "SELECT id, content, date, author_id, recipient_id FROM messages
             WHERE author_id = $1 OR recipient_id = $1 ORDER BY id",
            &[&me.user_id],
        )
        .await?;
    let messages = rows.iter().map(Message::from_row).collect::<Result<_, _>>()?;
    Ok(web::Json(messages))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // The command line, the database, the port, the banner: see `shared`.
    // Without a PostgreSQL at the URL, the step stops here with one line
    // saying how to start one; `--import` copies a SQLite step's data.
    let started = shared::start_on_postgres!(
        |postgres| async move { open_db(&postgres.url).await },
        |db, path| async move { import::import(&db, &path).await }
    );
    let connection = started.db.get().await.expect("the database does not answer");
    let row = connection.query_one("SHOW server_version", &[]).await;
    let server: String = row.and_then(|row| row.try_get(0)).unwrap_or_default();
    eprintln!("database ready: PostgreSQL {server}");
    drop(connection);

    // The key of the session cookies, kept in the database (step 20).
    let key = sessions::session_key(&started.db)
        .await
        .expect("the session key cannot be read nor stored");
    // The pool of connections, shared by all the workers: cloning a pool
    // gives another handle to the same connections.
    let db = web::Data::new(started.db);
    // The open pages of each user (step 18), one hub for all the workers.
    let hub = web::Data::new(Hub::default());
    // Redis, which all the instances share: this one publishes what it
    // stores, and its relay, a task of its own, hands every instance's
    // messages to the hub (step 23).
    let redis_url = started.redis_url.expect("step 23 has a Redis");
    let feed = Feed::connect(&redis_url).await.expect("Redis does not answer");
    actix_web::rt::spawn(pubsub::relay(redis_url, hub.clone().into_inner()));
    actix_web::rt::spawn(feed.clone().mend());
    let feed = web::Data::new(feed);
    let passwords = web::Data::new(passwords::Passwords::new());

    HttpServer::new(move || {
        App::new()
            .app_data(db.clone())
            .app_data(hub.clone())
            .app_data(feed.clone())
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
