//! The chat app at this step, read from top to bottom: `main`, at the
//! end, wires the routes. The lesson is README.md.

use std::path::Path;

use actix_web::{App, HttpServer, web};
use rusqlite::Connection;

/// This step's name.
const VERSION: &str = "01";

/// Opens (or creates) the database file.
fn open_db(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    // Write-ahead logging: a commit no longer waits for the disk twice, which
    // makes writes about 30 times faster, and readers never wait for writers.
    // NORMAL: a commit survives the step being killed, but a power cut may
    // lose the last few.
    connection.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    Ok(connection)
}

// try it: http :5001/
async fn hello() -> String {
    format!("hello, this is a chat app! (version {VERSION})")
}

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

    HttpServer::new(|| {
        App::new()
            // The request log, HEAD answered like GET, the Host check: see `shared`.
            .wrap(shared::plumbing())
            .service(web::resource("/").get(hello))
    })
    .listen(started.listener)?
    .shutdown_signal(shared::ctrl_c())
    .run()
    .await
}
