//! Step 03: `GET /api/users` lists the users.
//!
//! The whole app at this step, read from top to bottom; `main`, at the end,
//! wires the routes. The machinery taught in earlier steps has files of its
//! own: the database thread in `db.rs` (step 01b) and errors as JSON in
//! `errors.rs` (step 02b). The lesson is in README.md.

mod db;
mod errors;

use std::path::Path;

use actix_web::{App, HttpResponse, HttpServer, get, post, web};
use rusqlite::{Connection, Row};
use serde::{Deserialize, Serialize};
use serde_json::json;

use db::Db;
use errors::{ApiError, no_such_route, reject_bad_json, reject_bad_path};

/// What `/api/version` reports: this step's name.
const VERSION: &str = "03";

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
        Ok(User {
            id: row.get(0)?,
            name: row.get(1)?,
            email: row.get(2)?,
            nickname: row.get(3)?,
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

// ---------------------------------------------------------------- the pages

// try it: http :5001/
#[get("/")]
async fn hello() -> String {
    format!("hello, this is a chat app! (version {VERSION})")
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
            // The request log, HEAD answered like GET, the Host check: see `shared`.
            .wrap(shared::plumbing())
            .service(db_alive)
            .service(version)
            .service(create_user)
            .service(list_users)
            .service(hello)
            .default_service(web::to(no_such_route))
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
