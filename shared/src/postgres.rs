//! Start-up of the steps on PostgreSQL (22 on): the same command line as
//! the steps before, with `--database-url URL` (or `DATABASE_URL`) instead
//! of `--db PATH`, and `--import PATH` to copy a SQLite step's database;
//! from step 23 on, `--redis-url URL` (or `REDIS_URL`) too.

use std::fmt::Display;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::exit;
use std::time::Duration;

use crate::{DEFAULT_PORT, LOOPBACK_ONLY, Options, Started, bind, init_logging};

/// Where a step on PostgreSQL looks without `--database-url` nor
/// `DATABASE_URL`: the server `scripts/services up` starts.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5433/chat";
/// Where a step with several instances (23 on) finds Redis without
/// `--redis-url` nor `REDIS_URL`: the server `scripts/services up` starts.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6380";

/// Starts a step on PostgreSQL: `shared::start_on_postgres!(connect, import)`
/// in its `main`. `connect(url)` makes the step's pool and migrates;
/// `import(db, path)` copies a SQLite step's database (`--import`) and
/// answers what it did, after which the step stops.
#[macro_export]
macro_rules! start_on_postgres {
    ($connect:expr, $import:expr) => {
        $crate::start_on_postgres(env!("CARGO_PKG_NAME"), $connect, $import).await
    };
}

/// The start-up of a step on PostgreSQL: what it was started with.
pub struct Postgres {
    pub url: String,
}

/// [`start_on_postgres!`]: the command line, a first check that a server
/// answers at the URL (else one line saying how to get one), the step's
/// `connect`, then `--import` or the port and the banner.
pub async fn start_on_postgres<D, E, C, I>(
    step: &str,
    connect: impl FnOnce(Postgres) -> C,
    import: impl FnOnce(D, PathBuf) -> I,
) -> Started<D>
where
    E: Display,
    C: Future<Output = Result<D, E>>,
    I: Future<Output = Result<String, E>>,
{
    let options = match Options::parse(std::env::args().skip(1), Path::new("")) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{}", usage(step));
            exit(0);
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{}", usage(step));
            exit(2);
        }
    };
    if options.db != Path::new("") {
        eprintln!(
            "error: --db is for the SQLite steps: this one is on PostgreSQL\n\n{}",
            usage(step)
        );
        exit(2);
    }
    let uses_redis = step_number(step) >= 23;
    if options.redis_url.is_some() && !uses_redis {
        eprintln!(
            "error: unknown option \"--redis-url\" (it comes at step 23)\n\n{}",
            usage(step)
        );
        exit(2);
    }
    init_logging();
    let url = server_url(
        options.database_url,
        "PostgreSQL",
        "DATABASE_URL",
        DEFAULT_DATABASE_URL,
    );
    // Redis too, from step 23 on (an import does not use it).
    let redis_url = (uses_redis && options.import.is_none())
        .then(|| server_url(options.redis_url, "Redis", "REDIS_URL", DEFAULT_REDIS_URL));
    let db = match connect(Postgres { url: url.clone() }).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("error: cannot use the database at {url}: {e}");
            exit(1);
        }
    };
    if let Some(path) = options.import {
        match import(db, path).await {
            Ok(done) => {
                println!("{done}");
                exit(0);
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit(1);
            }
        }
    }
    let listener = bind(&options.host, options.port);
    let address = listener
        .local_addr()
        .expect("a bound socket has an address");
    LOOPBACK_ONLY.get_or_init(|| address.ip().is_loopback());
    // Tests read this line to learn the port when they pass `--port 0`.
    println!("{step}: listening on http://{address}  (database: {url})  Ctrl-C to stop");
    let _ = std::io::stdout().flush();
    Started {
        listener,
        db,
        redis_url,
    }
}

/// The server's URL: the option's value, else the environment variable's,
/// else `default`. Without a server that answers there, the step stops
/// with one line saying how to get one.
fn server_url(given: Option<String>, server: &str, variable: &str, default: &str) -> String {
    let url = given
        .or_else(|| std::env::var(variable).ok().filter(|url| !url.is_empty()))
        .unwrap_or_else(|| default.to_string());
    if let Some(address) = server_address(&url)
        && !answers(&address)
    {
        let option = variable.to_lowercase().replace('_', "-");
        eprintln!(
            "error: no {server} answers at {url}: start one with `scripts/services up` \
             (it prints its {variable}), or name another with --{option}"
        );
        exit(1);
    }
    url
}

/// 23 for `s23`; 0 for a name that is not a step's.
fn step_number(step: &str) -> u32 {
    step.strip_prefix('s')
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

/// `host:port` of a `postgres://user@host:port/db` or `redis://host:port`
/// URL, with the scheme's usual port when it has none; `None` for what it
/// cannot read (a Unix socket, a URL in key=value form): then not checked.
fn server_address(url: &str) -> Option<String> {
    let (rest, usual_port) = [
        ("postgres://", 5432),
        ("postgresql://", 5432),
        ("redis://", 6379),
    ]
    .into_iter()
    .find_map(|(scheme, port)| Some((url.strip_prefix(scheme)?, port)))?;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit('@').next()?;
    if host_port.is_empty() || host_port.contains(',') {
        return None;
    }
    Some(if host_port.contains(':') {
        host_port.to_string()
    } else {
        format!("{host_port}:{usual_port}")
    })
}

/// Does anything accept a connection at `address` within a second?
fn answers(address: &str) -> bool {
    let Ok(addresses) = address.to_socket_addrs() else {
        return false;
    };
    addresses
        .into_iter()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
}

fn usage(step: &str) -> String {
    let redis = if step_number(step) >= 23 {
        format!(
            "\n  --redis-url URL       the Redis the instances share (default: REDIS_URL, else\
             \n                        {DEFAULT_REDIS_URL}, which `scripts/services up` starts)"
        )
    } else {
        String::new()
    };
    format!(
        "usage: cargo run -p {step} -- [--port N] [--database-url URL]{} [--host ADDR]\n\
         \n  --port N              port to listen on (default {DEFAULT_PORT}; 0 picks a free one)\
         \n  --database-url URL    the PostgreSQL database (default: DATABASE_URL, else\
         \n                        {DEFAULT_DATABASE_URL}, which `scripts/services up` starts){redis}\
         \n  --import PATH         copy a SQLite step's database (its users and messages)\
         \n                        into an empty one, then stop\
         \n  --host ADDR           address to listen on (default 127.0.0.1, this machine only;\
         \n                        0.0.0.0 opens it to other machines)\n",
        if redis.is_empty() {
            ""
        } else {
            " [--redis-url URL]"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::server_address;

    #[test]
    fn the_server_of_a_url_is_read_for_the_first_check() {
        let read = |url| server_address(url);
        assert_eq!(
            read("postgres://postgres@127.0.0.1:5433/chat").as_deref(),
            Some("127.0.0.1:5433")
        );
        assert_eq!(
            read("postgresql://u:p@db/chat?x=1").as_deref(),
            Some("db:5432")
        );
        assert_eq!(read("host=/tmp dbname=chat"), None);
        assert_eq!(
            read("redis://127.0.0.1:6380").as_deref(),
            Some("127.0.0.1:6380")
        );
        assert_eq!(read("redis://cache/0").as_deref(), Some("cache:6379"));
    }
}
