//! The chat app at this step. This file: the routes, the API's handlers
//! and `main`; the modules below: the rest. The lesson is README.md.

/// The database thread (step 01b).
mod db;
/// Errors as JSON answers (step 02b).
mod errors;
/// The stored data: the tables, the rows as structs, the queries (step 02).
mod models;
/// The HTML pages (step 04).
mod pages;

use actix_web::{App, HttpResponse, HttpServer, middleware, web};
use serde_json::json;

use db::Db;
use errors::{ApiError, no_such_route, reject_bad_json, reject_bad_path};
use models::{
    Message, NewMessage, NewUser, User, open_db, parse_user_id, select_conversation, select_user,
    select_users, user_exists,
};
use pages::PAGE_POLICY;

/// What `/api/version` reports: this step's name.
const VERSION: &str = "10";

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

// try it: http :5001/api/users name="Alice Caroll" email="alice@foo.com" nickname="alice"
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

// try it: http :5001/api/messages author_id=1 recipient_id=2 content="trois petits chats"
async fn create_message(
    db: web::Data<Db>,
    body: web::Json<NewMessage>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner();
    let author_id = parse_user_id("author_id", &new.author_id)?;
    let recipient_id = parse_user_id("recipient_id", &new.recipient_id)?;
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
            let message = connection.query_row(
                "INSERT INTO messages (content, author_id, recipient_id) VALUES (?1, ?2, ?3)
                 RETURNING id, content, date, author_id, recipient_id",
                (&new.content, author_id, recipient_id),
                Message::from_row,
            )?;
            Ok(message)
        })
        .await?;
    Ok(HttpResponse::Created().json(message))
}

// try it: http :5001/api/messages
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
async fn list_messages_with(
    db: web::Data<Db>,
    user_id: web::Path<i64>,
) -> Result<web::Json<Vec<Message>>, ApiError> {
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
            .service(web::resource("/db/alive").get(db_alive))
            .service(web::resource("/api/version").get(version))
            .service(web::resource("/api/users").get(list_users).post(create_user))
            .service(web::resource("/api/users/{id}").get(get_user))
            .service(web::resource("/api/messages").get(list_messages).post(create_message))
            .service(web::resource("/api/messages/with/{user_id}").get(list_messages_with))
            .service(web::resource("/").get(pages::index))
            .service(web::resource("/front/users").get(pages::front_users))
            .service(web::resource("/front/messages/{user_id}").get(pages::front_messages))
            .service(web::resource("/static/style.css").get(pages::style))
            .default_service(web::to(no_such_route))
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
