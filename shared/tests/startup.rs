//! Start-up plumbing, checked on `examples/plain.rs`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// `target/debug/examples/plain`, built once by this test: `cargo test` builds
/// examples only for some of its invocations (not `--test startup`).
fn example() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "--package",
                    "shared",
                    "--example",
                    "plain",
                ])
                .status()
                .expect("run cargo");
            assert!(status.success(), "cargo could not build the example");
            let exe = std::env::current_exe().expect("the test binary's path");
            let debug = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("target/debug");
            debug
                .join("examples")
                .join(format!("plain{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

fn run(args: &[&str]) -> Output {
    Command::new(example())
        .args(args)
        .output()
        .expect("run the example")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_names_the_options_and_the_default_database() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for word in [
        "--port",
        "--db",
        "--host",
        "5001",
        "instance",
        "current folder",
    ] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
}

#[test]
fn a_bad_option_is_explained_with_the_usage() {
    let out = run(&["--port", "http"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--port takes a number"), "{err}");
    assert!(err.contains("usage:"), "{err}");
}

#[test]
fn a_taken_port_is_reported_with_what_to_do() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let db = std::env::temp_dir().join(format!("plain-{}.db", std::process::id()));
    let out = run(&["--port", &port, "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("port {port} is already in use")),
        "{err}"
    );
    assert!(err.contains("--port"), "{err}");
}

#[cfg(unix)]
#[test]
fn the_banner_gives_the_url_and_sigterm_stops_the_server_cleanly() {
    let db = std::env::temp_dir().join(format!("plain-{}-b.db", std::process::id()));
    let mut child = Command::new(example())
        .args(["--port", "0", "--db", db.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // If an assertion fails before the end, don't leave the server running.
    struct KillOnPanic(u32);
    impl Drop for KillOnPanic {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = Command::new("kill").arg(self.0.to_string()).status();
            }
        }
    }
    let _guard = KillOnPanic(child.id());
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    assert!(
        banner.starts_with("shared: listening on http://127.0.0.1:"),
        "{banner}"
    );
    assert!(
        banner.contains("plain-"),
        "the database path is shown: {banner}"
    );

    // Once it answers, the server runs and listens for signals.
    let address = banner
        .split_whitespace()
        .nth(3)
        .unwrap()
        .trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.ends_with("plain"), "{answer}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit: {:?}", out.status);
    assert!(text(&out.stderr).contains("stopping"));
}

#[test]
fn a_database_that_cannot_be_opened_stops_the_start_with_one_line() {
    // A folder is not a file: the step's `open_db` fails on it.
    let folder = std::env::temp_dir();
    let out = run(&["--port", "0", "--db", folder.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("error: cannot open the database"), "{err}");
    assert!(err.contains("Check the --db option"), "{err}");
    assert!(!err.contains("panicked"), "no panic, no backtrace: {err}");
    assert!(
        !text(&out.stdout).contains("listening"),
        "the banner comes after the database is open"
    );
}

/// A server on a free port, killed when dropped; and its address.
struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(extra: &[&str]) -> Server {
    let db = std::env::temp_dir().join(format!("plain-{}-s.db", std::process::id()));
    let mut child = Command::new(example())
        .args(["--port", "0", "--db", db.to_str().unwrap()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let address = banner
        .split_whitespace()
        .find_map(|word| word.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no address in {banner:?}"))
        .to_string();
    Server(child, address)
}

/// Sends `request` as it is and returns the whole answer.
fn raw(address: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let server = serve(&[]);
    let answer = raw(
        &server.1,
        "HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("content-length: 5"), "{answer}");
    assert!(answer.ends_with("\r\n\r\n"), "no body: {answer:?}");
}

#[test]
fn a_foreign_host_is_refused_while_listening_on_loopback() {
    let server = serve(&[]);
    for host in ["localhost:5001", "127.0.0.1", "[::1]:5001"] {
        let answer = raw(
            &server.1,
            &format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        );
        assert!(answer.starts_with("HTTP/1.1 200"), "{host}: {answer}");
    }
    // A page on another site, whose name was made to point at 127.0.0.1.
    let answer = raw(
        &server.1,
        "GET / HTTP/1.1\r\nHost: rebound.example:5001\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
    assert!(answer.contains("--host 0.0.0.0"), "{answer}");
}

#[test]
fn any_host_is_served_when_opened_with_host() {
    let server = serve(&["--host", "0.0.0.0"]);
    let port = server.1.rsplit(':').next().unwrap();
    let answer = raw(
        &format!("127.0.0.1:{port}"),
        "GET / HTTP/1.1\r\nHost: my-laptop.lan:5001\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn a_request_from_a_page_of_another_site_is_refused() {
    let server = serve(&[]);
    let ask = |origin: &str| {
        raw(
            &server.1,
            &format!(
                "GET / HTTP/1.1\r\nHost: localhost:5001\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    assert!(ask("http://localhost:5001").starts_with("HTTP/1.1 200"));
    assert!(ask("http://127.0.0.1:5001").starts_with("HTTP/1.1 200"));
    let answer = ask("https://evil.example");
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("Origin: https://evil.example"), "{answer}");
}
