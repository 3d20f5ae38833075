//! Plumbing shared by every step of the tutorial: the command line, start-up
//! (binding the port, the banner), logging and Ctrl-C; and, in `testing`, the
//! helpers the steps' tests use.
//!
//! Nothing here is part of a lesson. The SQL, the routes, the JSON shapes and
//! the pages live in each step's `src/`, where a learner reads them.

use std::fmt::Display;
use std::io::{ErrorKind, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::exit;
use std::sync::OnceLock;

mod db_file;
pub mod faults;
mod frames;
mod plumbing;

pub use db_file::DbFile;
pub use frames::limit_frames;
pub use plumbing::plumbing;

/// True when the step listens on a loopback address only (the default):
/// then requests must name a loopback host (see [`plumbing`]).
static LOOPBACK_ONLY: OnceLock<bool> = OnceLock::new();

/// Start-up of the steps on PostgreSQL (22 on): `--database-url`.
mod postgres;
/// Is a process alive, does it run a given program, stopping it: for
/// `scripts/switch` and `services`.
pub mod process;
/// Private PostgreSQL, Redis and nginx servers (from s22 on), for
/// `scripts/services` and the tests.
#[cfg(unix)]
pub mod services;
pub mod testing;

pub use postgres::{DEFAULT_DATABASE_URL, Postgres, start_on_postgres};

/// The tutorial's sample data, as its README creates it with httpie: for the
/// tests and for `scripts/switch --seed`.
pub mod sample {
    /// The tutorial's sample users: (name, email, nickname), in creation order.
    pub const USERS: [(&str, &str, &str); 3] = [
        ("Alice Caroll", "alice@foo.com", "alice"),
        ("Bob Morane", "bob@foo.com", "bob"),
        ("Charlie Chaplin", "charlie@foo.com", "charlie"),
    ];

    /// The sample users' passwords, in the same order (from step 20, which
    /// has accounts): easy to type in class, and never to be used elsewhere.
    pub const PASSWORDS: [&str; 3] = ["alice-password", "bob-password", "charlie-password"];

    /// The sample password of the sample user `nickname`.
    pub fn password_of(nickname: &str) -> Option<&'static str> {
        let at = USERS.iter().position(|(_, _, known)| *known == nickname)?;
        Some(PASSWORDS[at])
    }

    /// The tutorial's sample messages: (author_id, recipient_id, content).
    pub const MESSAGES: [(i64, i64, &str); 7] = [
        (1, 2, "trois petits chats"),
        (2, 1, "chapeau de paille"),
        (1, 2, "paillasson"),
        (2, 1, "somnambule"),
        (1, 2, "bulletin"),
        (2, 1, "tintamarre"),
        (2, 3, "not visible by 1"),
    ];
}

/// The port every step listens on unless told otherwise (5000 is taken by
/// AirPlay on macOS, so the original tutorial uses 5001 too).
pub const DEFAULT_PORT: u16 = 5001;

/// What a step needs to serve: the socket it listens on, and its database
/// as the step's `open_db` returned it (`()` for a step without one).
pub struct Started<D> {
    pub listener: TcpListener,
    pub db: D,
    /// The Redis the instances share (step 23 on: `--redis-url`).
    pub redis_url: Option<String>,
}

/// The command-line options every step accepts.
#[derive(Debug, PartialEq)]
pub struct Options {
    pub host: String,
    pub port: u16,
    pub db: PathBuf,
    /// `--database-url` (steps on PostgreSQL, 22 on; refused before).
    pub database_url: Option<String>,
    /// `--import PATH`: a SQLite step's database to copy (step 22 on).
    pub import: Option<PathBuf>,
    /// `--redis-url` (steps with several instances, 23 on; refused before).
    pub redis_url: Option<String>,
}

/// Starts a step: `shared::start!()` in a step's `main`, or
/// `shared::start!(open_db)` once the step has a database.
///
/// Expands to [`start`] with the step's package name and folder, so each step
/// finds its own `instance/chat.db` whatever the current directory. With
/// `open_db` (any `fn(&Path) -> Result<D, E>`), the database is opened before
/// the banner: a bad `--db` path stops the step with one line saying so.
#[macro_export]
macro_rules! start {
    () => {
        $crate::start(env!("CARGO_PKG_NAME"), env!("CARGO_MANIFEST_DIR"))
    };
    ($open_db:expr) => {
        $crate::start_with_db(env!("CARGO_PKG_NAME"), env!("CARGO_MANIFEST_DIR"), $open_db)
    };
}

/// [`start!`] for a step without a database.
pub fn start(step: &str, step_dir: &str) -> Started<()> {
    let no_db = None::<fn(&Path) -> std::io::Result<()>>;
    let (listener, _) = launch(step, step_dir, no_db);
    Started {
        listener,
        db: (),
        redis_url: None,
    }
}

/// [`start!`] for a step with a database, opened by `open_db`.
pub fn start_with_db<D, E: Display>(
    step: &str,
    step_dir: &str,
    open_db: impl FnOnce(&Path) -> Result<D, E>,
) -> Started<D> {
    let (listener, db) = launch(step, step_dir, Some(open_db));
    let db = db.expect("launch opens the database it is given");
    Started {
        listener,
        db,
        redis_url: None,
    }
}

/// Parses the command line, sets up logging, opens the database (when the
/// step has one), binds the port and prints the one-line banner. Exits with a
/// clear message on bad options, a database that cannot be opened, or a taken port.
fn launch<D, E: Display>(
    step: &str,
    step_dir: &str,
    open_db: Option<impl FnOnce(&Path) -> Result<D, E>>,
) -> (TcpListener, Option<D>) {
    let has_db = open_db.is_some();
    let default_db = Path::new(step_dir).join("instance").join("chat.db");
    let options = match Options::parse(std::env::args().skip(1), &default_db) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{}", usage(step, has_db.then_some(&default_db)));
            exit(0);
        }
        Err(message) => {
            eprintln!(
                "error: {message}\n\n{}",
                usage(step, has_db.then_some(&default_db))
            );
            exit(2);
        }
    };
    // Options of the steps on PostgreSQL (22 on), which this one is not.
    for (given, name, comes_at) in [
        (options.database_url.is_some(), "--database-url", 22),
        (options.import.is_some(), "--import", 22),
        (options.redis_url.is_some(), "--redis-url", 23),
    ] {
        if given {
            let usage = usage(step, has_db.then_some(&default_db));
            eprintln!("error: unknown option \"{name}\" (it comes at step {comes_at})\n\n{usage}");
            exit(2);
        }
    }
    init_logging();

    let db = open_db.map(|open_db| open_database(&options.db, open_db));
    let listener = bind(&options.host, options.port);
    let address = listener
        .local_addr()
        .expect("a bound socket has an address");
    LOOPBACK_ONLY.get_or_init(|| address.ip().is_loopback());

    // Tests read this line to learn the port when they pass `--port 0`.
    let database = if has_db {
        format!("  (database: {})", shown(&options.db).display())
    } else {
        String::new()
    };
    println!("{step}: listening on http://{address}{database}  Ctrl-C to stop");
    let _ = std::io::stdout().flush();
    (listener, db)
}

/// Creates the database's folder when missing, then runs the step's `open_db`.
fn open_database<D, E: Display>(path: &Path, open_db: impl FnOnce(&Path) -> Result<D, E>) -> D {
    if let Some(folder) = path.parent()
        && !folder.as_os_str().is_empty()
        && let Err(e) = std::fs::create_dir_all(folder)
    {
        eprintln!(
            "error: cannot create the database's folder {}: {e}\n\
             Check the --db option: it names a file, created if missing.",
            folder.display()
        );
        exit(1);
    }
    match open_db(path) {
        Ok(db) => db,
        Err(e) => {
            eprintln!(
                "error: cannot open the database {}: {e}\n\
                 Check the --db option: it names a file, created if missing.",
                shown(path).display()
            );
            exit(1);
        }
    }
}

impl Options {
    /// `Ok(None)` means `--help` was asked for.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        default_db: &Path,
    ) -> Result<Option<Options>, String> {
        let mut options = Options {
            host: "127.0.0.1".into(),
            port: DEFAULT_PORT,
            db: default_db.to_path_buf(),
            database_url: None,
            import: None,
            redis_url: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            // Accept both `--port 5002` and `--port=5002`.
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value)),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| match inline {
                Some(v) => Ok(v.to_string()),
                None => args.next().ok_or(format!("{name} needs a value")),
            };
            match flag.as_str() {
                "-h" | "--help" => return Ok(None),
                "--port" | "-p" => {
                    let v = value("--port")?;
                    options.port = v
                        .parse()
                        .map_err(|_| format!("--port takes a number from 0 to 65535, not {v:?}"))?;
                }
                "--db" => {
                    let db = value("--db")?;
                    if db.ends_with(['/', std::path::MAIN_SEPARATOR]) {
                        return Err(format!("--db names a file, not a folder: {db:?}"));
                    }
                    options.db = PathBuf::from(db);
                }
                "--host" => options.host = value("--host")?,
                "--database-url" => options.database_url = Some(value("--database-url")?),
                "--import" => options.import = Some(PathBuf::from(value("--import")?)),
                "--redis-url" => options.redis_url = Some(value("--redis-url")?),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(Some(options))
    }
}

/// The help text; `default_db` is `None` for a step without a database (it
/// still accepts `--db`, so that `scripts/switch` can start every step alike).
fn usage(step: &str, default_db: Option<&PathBuf>) -> String {
    let db = match default_db {
        Some(path) => format!(
            "\n  --db PATH    SQLite database file (default {}; a relative PATH is\
             \n               taken from the current folder)",
            shown(path).display()
        ),
        None => String::new(),
    };
    format!(
        "usage: cargo run -p {step} -- [--port N]{} [--host ADDR]\n\
         \n  --port N     port to listen on (default {DEFAULT_PORT}; 0 picks a free one){db}\
         \n  --host ADDR  address to listen on (default 127.0.0.1, this machine only;\
         \n               0.0.0.0 opens it to other machines)\n",
        if default_db.is_some() {
            " [--db PATH]"
        } else {
            ""
        }
    )
}

/// Binds the listening socket ourselves (rather than with `HttpServer::bind`)
/// so a taken port gets a message a learner can act on.
fn bind(host: &str, port: u16) -> TcpListener {
    match TcpListener::bind((host, port)) {
        Ok(listener) => {
            give_up_on_stalled_clients(&listener);
            listener
        }
        Err(e) if e.kind() == ErrorKind::AddrInUse => {
            eprintln!(
                "error: port {port} is already in use by another program.\n\
                 Another step is probably still running: stop it (Ctrl-C in its terminal, \
                 or `scripts/switch stop`), or pick another port: --port {}",
                port.wrapping_add(1)
            );
            exit(1);
        }
        Err(e) => {
            eprintln!("error: cannot listen on {host}:{port}: {e}");
            exit(1);
        }
    }
}

/// A client that keeps its connection open but reads nothing (a page that
/// never reads its WebSocket) would hold that connection, and all that waits
/// to be sent on it, for ever: actix-web sets no time limit on a write that
/// cannot proceed. On Linux, the kernel drops a connection whose data has
/// waited this long to be taken, or acknowledged (`TCP_USER_TIMEOUT`, which
/// each connection inherits from the listener): longer than the WebSocket
/// heartbeat of steps 16 and later (10 s), so that goes first.
#[cfg(target_os = "linux")]
fn give_up_on_stalled_clients(listener: &TcpListener) {
    let limit = std::time::Duration::from_secs(20);
    if let Err(e) = socket2::SockRef::from(listener).set_tcp_user_timeout(Some(limit)) {
        eprintln!("warning: connections that stall will not be dropped: {e}");
    }
}

/// Elsewhere, only the heartbeat of steps 16 and later lets such a page go.
#[cfg(not(target_os = "linux"))]
fn give_up_on_stalled_clients(_: &TcpListener) {}

/// A path relative to the current directory when it lies below it: shorter to read.
fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// Resolves on Ctrl-C (and, on Unix, on the SIGTERM that `scripts/switch stop`
/// sends). Give it to `HttpServer::shutdown_signal`: the server then stops
/// accepting connections and finishes the requests in flight before exiting.
pub async fn ctrl_c() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("cannot listen for SIGTERM");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping: finishing the requests in flight");
}

/// Logs to stderr: the request log and the step's own lines from `info` up,
/// the libraries' (actix's start-up chatter) only from `warn` up.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        let library = ["actix", "mio", "tungstenite", "tokio_postgres"]
            .iter()
            .any(|name| metadata.target().starts_with(name));
        let wanted = if library {
            log::Level::Warn
        } else {
            log::Level::Info
        };
        metadata.level() <= wanted
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            eprintln!("{:<5} {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

fn init_logging() {
    static LOG: StderrLog = StderrLog;
    if log::set_logger(&LOG).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        Options::parse(args.iter().map(|a| a.to_string()), Path::new("d/chat.db"))
    }

    #[test]
    fn defaults_are_port_5001_on_loopback_with_the_step_database() {
        let options = parse(&[]).unwrap().unwrap();
        assert_eq!(options.port, 5001);
        assert_eq!(options.host, "127.0.0.1");
        assert_eq!(options.db, Path::new("d/chat.db"));
    }

    #[test]
    fn port_db_and_host_are_read_in_both_spellings() {
        let options = parse(&["--port", "5002", "--db=my.db", "--host", "0.0.0.0"])
            .unwrap()
            .unwrap();
        assert_eq!(
            options,
            Options {
                host: "0.0.0.0".into(),
                port: 5002,
                db: "my.db".into(),
                database_url: None,
                import: None,
                redis_url: None,
            }
        );
        assert_eq!(parse(&["--port=0"]).unwrap().unwrap().port, 0);
    }

    #[test]
    fn bad_options_are_explained() {
        assert!(parse(&["--port", "http"]).unwrap_err().contains("number"));
        assert!(parse(&["--port"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--verbose"]).unwrap_err().contains("--verbose"));
        assert!(
            parse(&["--db", "/no/such/place/"])
                .unwrap_err()
                .contains("not a folder")
        );
        assert_eq!(parse(&["--help"]).unwrap(), None);
    }
}
