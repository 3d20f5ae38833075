//! Step 01: the app opens a SQLite database.
//!
//! The whole app at this step, in one file to read from top to bottom;
//! `main`, at the end, wires the routes. The lesson is in README.md.

use std::path::Path;
use std::sync::Mutex;

use actix_web::{App, HttpServer, get, web};
use rusqlite::Connection;

/// This step's name.
const VERSION: &str = "01";

// ------------------------------------------------------------ the database

/// Opens (or creates) the database file.
fn open_db(path: &Path) -> Connection {
    let db = Connection::open(path).expect("cannot open the database: check the --db path");
    // Write-ahead logging: a commit no longer waits for the disk twice, which
    // makes writes about 30 times faster, and readers never wait for writers.
    db.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .expect("cannot switch the database to WAL mode");
    db
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
            .service(hello)
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
