//! The database thread (step 01b): one connection to SQLite, owned by a
//! thread of its own. The same file in every later step.
//!
//! rusqlite is blocking: a query holds the thread that runs it until SQLite
//! is done. actix-web serves every request on a few worker threads, so a query
//! run in a handler would hold up all the requests of its worker. Instead,
//! handlers hand their query to this thread with `db.run(...)` and `.await`
//! the answer; meanwhile their worker serves other requests.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;
use shared::DbFile;
use tokio::sync::oneshot;

/// The way in to the database thread. `main` wraps it in `web::Data`, which
/// every worker shares.
pub struct Db {
    jobs: mpsc::Sender<Job>,
}

/// A piece of work for the database thread: given the connection, or the
/// reason it cannot be used (its file gone or read-only: `shared::DbFile`).
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
                // Before each job: is the file still there, and writable? (`shared`)
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
