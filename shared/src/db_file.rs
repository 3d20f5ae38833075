//! The database file under the database thread (each step's `db.rs`): is it
//! still the one the step opened, and writable? Plumbing, not a lesson.

use std::fs::{self, Metadata};
use std::path::PathBuf;

use rusqlite::Connection;

/// The database file the connection opened. SQLite keeps it open: if it is
/// deleted, the connection goes on writing to a file that no longer has a
/// name, and every write is lost when the step stops; if it is made
/// read-only, the connection may still write through what it opened. So the
/// thread looks at the path before each job, and refuses to run the job when
/// the file there is not the one it opened, or is marked read-only. Once the
/// same file is back and writable, jobs run again.
pub struct DbFile {
    path: PathBuf,
    id: u64,
}

impl DbFile {
    /// The file of `connection`; `None` for a database in memory.
    pub fn opened_by(connection: &Connection) -> Option<DbFile> {
        let path = PathBuf::from(connection.path().filter(|path| !path.is_empty())?);
        let id = file_id(&fs::metadata(&path).ok()?);
        Some(DbFile { path, id })
    }

    /// Fails, saying why and what to do, when the file cannot be used.
    pub fn check(&self) -> rusqlite::Result<()> {
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
