//! The PostgreSQL of a step's tests (22 on): one private server per test
//! binary, started by the first test that needs it and stopped when the
//! binary exits, and a schema of its own for each test, so that the
//! tests stay independent and run side by side.

use std::process::{Command, exit};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::services::{Error, Kind, Services, postgres_tool};

pub use super::is_postgres_step;

/// The server, once started; taken and stopped at exit.
static SERVER: Mutex<Option<Services>> = Mutex::new(None);

/// A new empty database on the tests' server, answered as its URL. The
/// first call starts the server; without PostgreSQL installed, it says so
/// loudly and ends the test binary as passed (in CI, `CI=true`, it fails).
///
/// Each is a schema of its own in the one database `chat`, named in the
/// URL's `options` (`search_path`): a `CREATE DATABASE` copies a template's
/// 7 MB of files, which for a hundred tests cost more than the tests.
pub fn new_database() -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let server = server_url("chat");
    let name = format!("test_{}", COUNT.fetch_add(1, Ordering::SeqCst));
    psql(&server, &format!("CREATE SCHEMA {name}"))
        .unwrap_or_else(|e| panic!("cannot create the test's schema {name}: {e}"));
    format!("{server}?options=-csearch_path%3D{name}")
}

/// Drops a database [`new_database`] made (after the step using it stopped).
pub fn drop_database(url: &str) {
    if let Some((server, name)) = url.split_once("?options=-csearch_path%3D") {
        let _ = psql(server, &format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
    }
}

/// The URL of database `name` on the tests' server, started if need be.
fn server_url(name: &str) -> String {
    let mut server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    if server.is_none() {
        match Services::start(&super::temp_dir(), &[Kind::Postgres], &[]) {
            Ok(started) => {
                *server = Some(started);
                unsafe extern "C" {
                    safe fn atexit(callback: extern "C" fn()) -> i32;
                }
                atexit(stop_server);
            }
            Err(missing @ Error::Missing(_)) => {
                super::missing_tool(&format!(
                    "{missing}, so this step's tests did NOT run (they all need it)"
                ));
                exit(0);
            }
            Err(Error::Failed(message)) => panic!("{message}"),
        }
    }
    let url = server
        .as_ref()
        .and_then(Services::database_url)
        .expect("the tests' PostgreSQL runs");
    let (server, _) = url
        .rsplit_once('/')
        .expect("a database URL ends with its name");
    format!("{server}/{name}")
}

/// At the test binary's exit: stops the server, removes its folder.
extern "C" fn stop_server() {
    let taken = SERVER.lock().map(|mut server| server.take());
    drop(taken);
}

/// Runs `sql` with psql on the database at `url`; answers what it printed,
/// one row a line, columns split by `|`.
pub fn psql(url: &str, sql: &str) -> Result<String, String> {
    let psql = postgres_tool("psql").map_err(|e| e.to_string())?;
    let output = Command::new(psql)
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}
