//! Step 01: the app opens a SQLite database.
//!
//! The whole app at this step, in one file to read from top to bottom;
//! `main`, at the end, wires the routes. The lesson is in README.md.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;
use std::thread;

use actix_web::{App, HttpServer, get, web};
use rusqlite::Connection;
use tokio::sync::oneshot;

/// This step's name.
const VERSION: &str = "01";

// ------------------------------------------------------------ the database

/// Opens (or creates) the database file.
fn open_db(path: &Path) -> Connection {
    let connection = Connection::open(path).expect("cannot open the database: check the --db path");
    // Write-ahead logging: a commit no longer waits for the disk twice, which
    // makes writes about 30 times faster, and readers never wait for writers.
    connection
        .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .expect("cannot switch the database to WAL mode");
    connection
}

/// The database: one connection, owned by a thread of its own. Handlers send
/// it work and `.await` the answer, so a slow query never holds up the worker
/// threads that serve the other requests.
struct Db {
    jobs: mpsc::Sender<Job>,
}

/// A piece of work for the database thread.
type Job = Box<dyn FnOnce(&Connection) + Send>;

impl Db {
    /// Moves the connection to a new thread that runs the jobs one at a time.
    fn start(connection: Connection) -> Db {
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::spawn(move || {
            for job in queue {
                // A job that panics is dropped; the thread goes on with the next.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| job(&connection)));
            }
        });
        Db { jobs }
    }

    /// Runs `query` on the database thread and waits for its result, without
    /// blocking this worker thread meanwhile.
    async fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> rusqlite::Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let _ = reply.send(query(connection));
        });
        // No answer means the job panicked (or the thread is gone).
        let no_answer = || {
            let abort = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT);
            rusqlite::Error::SqliteFailure(abort, Some("the query did not finish".into()))
        };
        if self.jobs.send(job).is_err() {
            return Err(no_answer());
        }
        answer.await.unwrap_or_else(|_| Err(no_answer()))
    }
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
    let db = web::Data::new(Db::start(open_db(&started.db)));

    // A first query, so that a broken database stops us now, not at the first request.
    let sqlite: String = db
        .run(|connection| connection.query_row("SELECT sqlite_version()", [], |row| row.get(0)))
        .await
        .expect("the database does not answer");
    eprintln!("database ready: SQLite {sqlite}");

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
