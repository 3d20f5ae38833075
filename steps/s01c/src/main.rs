//! Step 01c: `GET /api/version` tells which step is running.
//!
//! The whole app at this step, in one file to read from top to bottom;
//! `main`, at the end, wires the routes. The lesson is in README.md.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use actix_web::{App, HttpResponse, HttpServer, get, web};
use rusqlite::Connection;
use serde_json::json;

/// What `/api/version` reports: this step's name.
const VERSION: &str = "01c";

// ------------------------------------------------------------ the database

/// The one connection to the database, shared by every worker thread.
type Db = web::Data<Mutex<Connection>>;

/// Opens (or creates) the database file.
fn open_db(path: &Path) -> Connection {
    let db = Connection::open(path).expect("cannot open the database: check the --db path");
    // Write-ahead logging: a commit no longer waits for the disk twice, which
    // makes writes about 30 times faster, and readers never wait for writers.
    db.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .expect("cannot switch the database to WAL mode");
    db
}

/// Takes the connection for this request. If a handler ever panicked while
/// holding it, the mutex is "poisoned"; the connection itself is still fine,
/// so we carry on with it instead of failing every later request.
fn lock(db: &Db) -> MutexGuard<'_, Connection> {
    db.lock().unwrap_or_else(PoisonError::into_inner)
}

// ------------------------------------------------------------------ the API

// try it: http :5001/db/alive
#[get("/db/alive")]
async fn db_alive(db: Db) -> HttpResponse {
    match lock(&db).query_row("SELECT 1", [], |row| row.get::<_, i64>(0)) {
        Ok(_) => HttpResponse::Ok().json(json!({
            "status": "healthy",
            "message": "Database connection is alive",
        })),
        Err(e) => HttpResponse::ServiceUnavailable().json(json!({
            "status": "unhealthy",
            "error": format!("database error: {e}"),
        })),
    }
}

// try it: http :5001/api/version
#[get("/api/version")]
async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "version": VERSION }))
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
    // Command line (--port, --db, --host), the port, the banner: see `shared`.
    let started = shared::start!();

    // Open the database once, here: the closure given to `HttpServer::new`
    // runs once per worker thread, and each run only clones this handle.
    let db = web::Data::new(Mutex::new(open_db(&started.db)));

    HttpServer::new(move || {
        App::new()
            .app_data(db.clone())
            .wrap(shared::request_logger())
            .service(db_alive)
            .service(version)
            .service(hello)
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
