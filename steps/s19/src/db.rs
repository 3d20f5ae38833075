//! The database thread (step 01b): one connection to SQLite, owned by a
//! thread of its own. The same file in every later step.
//!
//! rusqlite is blocking: a query holds the thread that runs it until SQLite
//! is done. actix-web serves every request on a few worker threads, so a query
//! run in a handler would hold up all the requests of its worker. Instead,
//! handlers hand their query to this thread with `db.run(...)` and `.await`
//! the answer; meanwhile their worker serves other requests.

use std::fs::{self, Metadata};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;
use tokio::sync::oneshot;

/// The way in to the database thread. `main` wraps it in `web::Data`, which
/// every worker shares.
pub struct Db {
    jobs: mpsc::Sender<Job>,
}

/// A piece of work for the database thread: given the connection, or the
/// reason it cannot be used (the file is gone, see `DbFile`).
type Job = Box<dyn FnOnce(rusqlite::Result<&Connection>) + Send>;

impl Db {
    /// Moves the connection to a new thread, which runs the jobs it receives
    /// one at a time, in order. Only that thread touches the connection, so
    /// no lock is needed.
    pub fn start(connection: Connection) -> Db {
        let (jobs, queue) = mpsc::channel::<Job>();
        let file = DbFile::opened_by(&connection);
        thread::spawn(move || {
            for job in queue {
                // Before each job: is the file still there, and writable?
                let checked = file.as_ref().map_or(Ok(()), DbFile::check);
                let connection = checked.map(|()| &connection);
                // A job that panics is dropped; the thread goes on with the next.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| job(connection)));
            }
        });
        Db { jobs }
    }

    /// Runs `query` on the database thread and waits for its result, without
    /// blocking this worker thread meanwhile. The query fails with a rusqlite
    /// error, or with an error of the caller's that a rusqlite error converts
    /// into (`E: From<rusqlite::Error>`), so that it can also refuse a request.
    pub async fn run<T, E>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        // The answer comes back on a one-shot channel, which `.await` waits on.
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |connection| {
            shared::faults::before_query(); // a no-op outside the tests
            let _ = reply.send(connection.map_err(E::from).and_then(query));
        });
        if self.jobs.send(job).is_ok()
            && let Ok(result) = answer.await
        {
            return result;
        }
        // No answer: the query panicked, and its `reply` was dropped with it.
        let abort = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT);
        let no_answer =
            rusqlite::Error::SqliteFailure(abort, Some("the query did not finish".into()));
        Err(no_answer.into())
    }
}

/// The database file the connection opened. SQLite keeps it open: if it is
/// deleted, the connection goes on writing to a file that no longer has a
/// name, and every write is lost when the step stops; if it is made
/// read-only, the connection may still write through what it opened. So the
/// thread looks at the path before each job, and refuses to run the job when
/// the file there is not the one it opened, or is marked read-only. Once the
/// same file is back and writable, jobs run again.
struct DbFile {
    path: PathBuf,
    id: u64,
}

impl DbFile {
    /// The file of `connection`; `None` for a database in memory.
    fn opened_by(connection: &Connection) -> Option<DbFile> {
        let path = PathBuf::from(connection.path().filter(|path| !path.is_empty())?);
        let id = file_id(&fs::metadata(&path).ok()?);
        Some(DbFile { path, id })
    }

    /// Fails, saying why and what to do, when the file cannot be used.
    fn check(&self) -> rusqlite::Result<()> {
        let (code, problem) = match fs::metadata(&self.path) {
            Err(_) => (
                rusqlite::ffi::SQLITE_CANTOPEN,
                "is gone (deleted or moved): put it back, or restart the step for a new one",
            ),
            Ok(file) if file_id(&file) != self.id => (
                rusqlite::ffi::SQLITE_CANTOPEN,
                "was replaced by another file: restart the step to use that one",
            ),
            Ok(file) if file.permissions().readonly() => (
                rusqlite::ffi::SQLITE_READONLY,
                "is read-only: make it writable again",
            ),
            Ok(_) => return Ok(()),
        };
        let message = format!("the database file {} {problem}", self.path.display());
        Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(code),
            Some(message),
        ))
    }
}

/// What tells one file from another at the same path: its inode number.
#[cfg(unix)]
fn file_id(file: &Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(file)
}

/// On Windows, a file that is open cannot be deleted or replaced: no need.
#[cfg(not(unix))]
fn file_id(_: &Metadata) -> u64 {
    0
}
