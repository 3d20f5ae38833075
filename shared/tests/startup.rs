//! Start-up plumbing, checked on `examples/plain.rs` (cargo test builds it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// `target/debug/examples/plain`, next to this test's own binary in `target/debug/deps/`.
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let debug = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    debug
        .join("examples")
        .join(format!("plain{}", std::env::consts::EXE_SUFFIX))
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
    for word in ["--port", "--db", "--host", "5001", "instance"] {
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
