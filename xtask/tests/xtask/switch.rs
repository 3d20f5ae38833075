//! `switch` for real: it builds steps, starts their binaries in the background
//! and stops them. Each test has its own sandbox: a free port (never 5001,
//! where a learner may be running a step) and a temporary folder for the
//! state and the databases (`XTASK_RUN_DIR`), so a developer's
//! `steps/*/instance/chat.db` and `.switch/` are never touched.
//!
//! The tests run side by side. Nothing else is shared but target/, and a
//! `cargo build` in one test cannot pull a binary from under another: cargo
//! takes turns on target/, and a server runs its own copy of the binary
//! (`.switch/bin/` in its sandbox), made once its build has finished.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TempDir, free_port, http, text, xtask};

struct Sandbox {
    dir: PathBuf,
    port: u16,
    // Dropped after the server is stopped (Drop runs before the fields drop).
    _folder: TempDir,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let folder = TempDir::new(name);
        Sandbox {
            dir: folder.path().to_path_buf(),
            port: free_port(),
            _folder: folder,
        }
    }

    /// Runs `xtask switch ARGS` in this sandbox and waits for it.
    fn switch(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run xtask")
    }

    /// `switch STEP` on this sandbox's port; fails the test if it fails.
    fn switch_to(&self, step: &str, options: &[&str]) -> String {
        let port = self.port.to_string();
        let output = self.switch(&[&[step, "--port", &port], options].concat());
        assert!(output.status.success(), "switch {step}: {}", text(&output));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = xtask("switch");
        command.args(args).env("XTASK_RUN_DIR", &self.dir);
        command
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn get(&self, path: &str) -> Value {
        http()
            .get(self.url(path))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .body_mut()
            .read_json()
            .unwrap()
    }

    fn version(&self) -> Value {
        self.get("/api/version")["version"].clone()
    }

    fn answers(&self) -> bool {
        http().get(self.url("/")).call().is_ok()
    }

    fn record_file(&self) -> PathBuf {
        self.dir.join(".switch/server.json")
    }

    /// What `switch` recorded about the server it started.
    fn record(&self) -> Value {
        let record = fs::read_to_string(self.record_file()).unwrap();
        serde_json::from_str(&record).unwrap()
    }

    /// The PID `switch` recorded for the server it started.
    fn server_pid(&self) -> u32 {
        self.record()["pid"].as_u64().unwrap() as u32
    }

    fn database(&self, step: &str) -> PathBuf {
        self.dir.join("steps").join(step).join("instance/chat.db")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.switch(&["stop"]);
        if std::thread::panicking() {
            let log = fs::read_to_string(self.dir.join(".switch/server.log"));
            eprintln!("--- server log ---\n{}", log.unwrap_or_default());
        }
    }
}

/// Is a process with this PID still there (a zombie counts as gone)?
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| !stat.rsplit(')').next().unwrap_or("").contains(" Z "))
    } else if cfg!(unix) {
        Command::new("ps")
            .args(["-o", "stat=", "-p", &pid.to_string()])
            .output()
            .is_ok_and(|o| {
                let state = String::from_utf8_lossy(&o.stdout).trim().to_string();
                !state.is_empty() && !state.starts_with('Z')
            })
    } else {
        Command::new("tasklist")
            .args(["/FI", &format!("PID eq {pid}"), "/NH"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&pid.to_string()))
    }
}

#[test]
fn the_server_follows_the_switches_and_each_step_keeps_its_database() {
    let sandbox = Sandbox::new("follows");

    let summary = sandbox.switch_to("03", &[]);
    assert!(summary.contains("s03"), "{summary}");
    assert!(summary.contains(&sandbox.url("")), "{summary}");
    assert!(summary.contains("chat.db"), "{summary}");
    assert!(summary.contains("server.log"), "{summary}");
    assert_eq!(sandbox.version(), "03");
    let alice = json!({"name": "Alice Caroll", "email": "alice@foo.com", "nickname": "alice"});
    let reply = http().post(sandbox.url("/api/users")).send_json(&alice);
    assert_eq!(reply.unwrap().status(), 201);
    let s03 = sandbox.server_pid();

    sandbox.switch_to("4", &[]);
    assert_eq!(sandbox.version(), "04");
    assert_eq!(
        sandbox.get("/api/users"),
        json!([]),
        "s04 has its own database"
    );
    assert!(!alive(s03), "the s03 server was stopped");

    // The listing marks the running step.
    let listing = sandbox.switch(&[]);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("* s04"), "{listing}");
    assert!(listing.contains("  s03 "), "{listing}");

    sandbox.switch_to("s03", &[]);
    assert_eq!(sandbox.version(), "03");
    assert_eq!(sandbox.get("/api/users")[0]["nickname"], "alice");
    assert!(sandbox.database("s03").exists());
    assert!(sandbox.database("s04").exists());

    let pid = sandbox.server_pid();
    let stopped = sandbox.switch(&["stop"]);
    assert!(stopped.status.success(), "{}", text(&stopped));
    assert!(!alive(pid), "the server's process is gone");
    assert!(!sandbox.answers());
    let again = sandbox.switch(&["stop"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("no step is running"));
}

#[test]
fn fresh_scratches_the_database_and_seed_loads_the_sample_users() {
    let sandbox = Sandbox::new("seed");

    let summary = sandbox.switch_to("04", &["--seed"]);
    assert!(summary.contains("3 users"), "{summary}");
    let users = sandbox.get("/api/users");
    let nicknames: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["nickname"].as_str().unwrap())
        .collect();
    assert_eq!(nicknames, ["alice", "bob", "charlie"]);

    // Seeding again does not add the users a second time.
    sandbox.switch_to("04", &["--seed"]);
    assert_eq!(sandbox.get("/api/users").as_array().unwrap().len(), 3);

    // --seed is kept: --fresh starts over with the sample data...
    sandbox.switch_to("04", &["--fresh"]);
    assert_eq!(sandbox.get("/api/users").as_array().unwrap().len(), 3);
    // ... and with --no-seed, empty.
    sandbox.switch_to("04", &["--fresh", "--no-seed"]);
    assert_eq!(sandbox.get("/api/users"), json!([]));
}

/// The class's choices, a port and --seed, given once, hold for the next
/// switches until changed; each summary's first line says the port, whether
/// it seeded, and how to see what changed since the step before.
#[test]
fn the_port_and_the_seed_are_kept_for_the_next_switches() {
    let sandbox = Sandbox::new("kept");
    let first = sandbox.switch_to("03", &["--seed"]);
    let port = sandbox.port;
    assert!(
        first.starts_with(&format!("s03 runs on port {port}, seeded\n")),
        "{first}"
    );
    assert!(
        first.contains(&format!(
            "  kept      --port {port} --seed for the next switches"
        )),
        "{first}"
    );
    assert_eq!(
        sandbox.record()["port"],
        port,
        "a switch without --port comes next"
    );

    // No option: the same port, seeded.
    let output = sandbox.switch(&["04"]);
    let second = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        second.starts_with(&format!(
            "s04 runs on port {port}, seeded; since s03: scripts/diff 03 04 --code\n"
        )),
        "{second}"
    );
    assert_eq!(sandbox.version(), "04");
    assert_eq!(sandbox.get("/api/users").as_array().unwrap().len(), 3);

    // --no-seed is kept too.
    let third = sandbox.switch(&["03", "--no-seed", "--fresh"]);
    let third = String::from_utf8_lossy(&third.stdout);
    assert!(
        third.starts_with(&format!(
            "s03 runs on port {port}, not seeded; since s04: scripts/diff 04 03 --code\n"
        )),
        "{third}"
    );
    assert_eq!(sandbox.get("/api/users"), json!([]));
    let fourth = sandbox.switch(&["04", "--fresh"]);
    assert!(fourth.status.success(), "{}", text(&fourth));
    assert_eq!(sandbox.get("/api/users"), json!([]));

    // Another port: the server moves there, and stays there.
    let other = free_port();
    let moved = sandbox.switch(&["03", "--port", &other.to_string()]);
    assert!(String::from_utf8_lossy(&moved.stdout).contains(&format!("port {other}")));
    assert!(!sandbox.answers(), "nothing on port {port} any more");
    assert_eq!(sandbox.record()["port"], other);
    sandbox.switch(&["04"]);
    let reply = http()
        .get(format!("http://127.0.0.1:{other}/api/version"))
        .call();
    assert_eq!(
        reply.unwrap().body_mut().read_json::<Value>().unwrap()["version"],
        "04"
    );
}

#[test]
fn an_unknown_step_is_refused_with_the_list_of_steps() {
    let sandbox = Sandbox::new("unknown");
    let output = sandbox.switch(&["99"]);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("no step \"99\""), "{error}");
    assert!(error.contains("s00, s01, s01b"), "{error}");
    assert!(!sandbox.dir.join(".switch/server.json").exists());
}

#[test]
fn a_port_held_by_another_program_is_named_and_the_running_step_kept() {
    let sandbox = Sandbox::new("port");
    sandbox.switch_to("03", &[]);

    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = other.local_addr().unwrap().port().to_string();
    let output = sandbox.switch(&["04", "--port", &taken]);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains(&format!("port {taken} is already in use")),
        "{error}"
    );
    assert!(error.contains("--port"), "{error}");
    assert_eq!(sandbox.version(), "03", "the running step was kept");
}

/// A build failure is simulated with a `cargo` that fails as a compile
/// error would (`switch` runs the cargo named by $CARGO, as cargo's own
/// subcommands do).
#[cfg(unix)]
#[test]
fn a_build_failure_shows_cargo_s_error_and_keeps_the_running_step() {
    use std::os::unix::fs::PermissionsExt;

    let sandbox = Sandbox::new("build");
    sandbox.switch_to("03", &[]);

    let fake_cargo = sandbox.dir.join("cargo");
    fs::write(
        &fake_cargo,
        "#!/bin/sh\necho 'error: could not compile `s04` (bin \"s04\")' >&2\nexit 101\n",
    )
    .unwrap();
    fs::set_permissions(&fake_cargo, fs::Permissions::from_mode(0o755)).unwrap();
    let port = sandbox.port.to_string();
    let output = sandbox
        .command(&["04", "--port", &port])
        .env("CARGO", &fake_cargo)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("could not compile `s04`"), "{error}");
    assert!(error.contains("s03 still runs"), "{error}");
    assert_eq!(sandbox.version(), "03");
}

#[test]
fn logs_follows_the_running_step_s_log() {
    let sandbox = Sandbox::new("logs");
    sandbox.switch_to("03", &[]);
    sandbox.get("/api/version");

    let mut follower = sandbox
        .command(&["logs"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut seen = String::new();
        let mut buffer = [0; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buffer) {
            seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
            if seen.contains("GET /api/version") {
                break;
            }
        }
        let _ = tx.send(seen);
    });
    let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    let _ = follower.kill();
    let _ = follower.wait();
    assert!(seen.contains("s03: listening on"), "{seen}");
    assert!(seen.contains("GET /api/version"), "{seen}");
}

#[test]
fn the_wrappers_run_the_same_command() {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
    for (name, command) in [("switch", "switch"), ("diff", "diff")] {
        for (file, line) in [
            (name.to_string(), format!("-- {command} \"$@\"")),
            (format!("{name}.cmd"), format!("-- {command} %*")),
            (format!("{name}.ps1"), format!("-- {command} @args")),
        ] {
            let script = fs::read_to_string(scripts.join(&file)).unwrap();
            assert!(script.contains("--package xtask"), "{file}");
            assert!(script.contains(&line), "{file} should contain {line:?}");
        }
    }
}

#[test]
fn the_running_step_can_be_rebuilt_and_switched_to_again() {
    let sandbox = Sandbox::new("again");
    sandbox.switch_to("03", &[]);
    let first = sandbox.record();
    // The server runs a copy of the binary, so cargo may replace target/debug/s03
    // while it runs (Windows refuses to replace a running .exe).
    let copy = PathBuf::from(first["binary"].as_str().unwrap());
    assert!(
        copy.starts_with(sandbox.dir.join(".switch/bin")),
        "{copy:?}"
    );

    sandbox.switch_to("03", &[]);
    assert_eq!(sandbox.version(), "03");
    let second = sandbox.record();
    assert_ne!(second["pid"], first["pid"], "a new server");
    assert_ne!(second["binary"], first["binary"], "from a copy of its own");
    assert!(!alive(first["pid"].as_u64().unwrap() as u32));
    // (On Windows the file of a process just ended may stay locked a moment.)
    assert!(cfg!(windows) || !copy.exists(), "the old copy was removed");

    // `stop` still recognises the server running the copy.
    let pid = sandbox.server_pid();
    let stopped = sandbox.switch(&["stop"]);
    assert!(
        String::from_utf8_lossy(&stopped.stdout).contains("stopped s03"),
        "{}",
        text(&stopped)
    );
    assert!(!alive(pid));
    assert!(!sandbox.record_file().exists());
}

#[test]
fn readers_never_remove_the_record_only_writers_do() {
    let sandbox = Sandbox::new("readers");
    // The record of a server that is gone (this process's PID does not run it).
    fs::create_dir_all(sandbox.dir.join(".switch")).unwrap();
    let record = json!({
        "pid": std::process::id(), "step": "s03", "port": sandbox.port,
        "binary": "/nowhere/s03", "database": "/nowhere/chat.db",
    });
    fs::write(sandbox.record_file(), record.to_string()).unwrap();
    fs::write(sandbox.dir.join(".switch/server.log"), "").unwrap();

    let listing = sandbox.switch(&[]);
    assert!(String::from_utf8_lossy(&listing.stdout).contains("No step is running"));
    assert!(sandbox.record_file().exists(), "the listing removed it");

    let mut logs = sandbox
        .command(&["logs"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let _ = logs.kill();
    let _ = logs.wait();
    assert!(sandbox.record_file().exists(), "logs removed it");

    let stopped = sandbox.switch(&["stop"]);
    assert!(String::from_utf8_lossy(&stopped.stdout).contains("no step is running"));
    assert!(!sandbox.record_file().exists(), "stop clears a dead record");
}

#[test]
fn a_reader_never_sees_the_record_missing_or_half_written_during_a_switch() {
    let sandbox = Sandbox::new("atomic");
    sandbox.switch_to("03", &[]);
    let done = AtomicBool::new(false);
    let (reads, bad) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let (mut reads, mut bad) = (0, Vec::new());
            while !done.load(Ordering::Relaxed) {
                match fs::read_to_string(sandbox.record_file()) {
                    Ok(text)
                        if serde_json::from_str::<Value>(&text)
                            .is_ok_and(|v| v["pid"].is_u64()) => {}
                    other => bad.push(format!("{other:?}")),
                }
                reads += 1;
            }
            (reads, bad)
        });
        sandbox.switch_to("04", &[]);
        sandbox.switch_to("03", &[]);
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    assert!(reads > 100, "{reads} reads");
    assert!(
        bad.is_empty(),
        "{} of {reads} reads failed: {:?}",
        bad.len(),
        bad.first()
    );
}

#[test]
fn seed_on_20_gives_the_passwords_once_and_sends_each_message_as_its_author() {
    let sandbox = Sandbox::new("seed20");
    let summary = sandbox.switch_to("20", &["--seed"]);
    assert!(
        summary.contains(
            "  seeded    3 users (passwords: alice-password, bob-password, charlie-password), \
             7 messages over 10 minutes\n"
        ),
        "{summary}"
    );
    // Each message was sent by its author, logged in (the step takes no
    // author_id from the body): the sample's authors.
    let db = rusqlite::Connection::open(sandbox.database("s20")).unwrap();
    let stored: Vec<(i64, i64, String)> = db
        .prepare("SELECT author_id, recipient_id, content FROM messages ORDER BY id")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let sample: Vec<(i64, i64, String)> = shared::sample::MESSAGES
        .iter()
        .map(|(a, r, c)| (*a, *r, c.to_string()))
        .collect();
    assert_eq!(stored, sample);
    // The passwords are said once, when the users are made.
    let again = sandbox.switch_to("20", &["--seed"]);
    assert!(
        again.contains("  seeded    none added: it has 3 users and 7 messages\n"),
        "{again}"
    );
    assert!(!again.contains("password"), "{again}");
}

#[test]
fn seed_twice_on_02b_adds_the_sample_users_once() {
    let sandbox = Sandbox::new("seed02b");
    let summary = sandbox.switch_to("02b", &["--seed"]);
    assert!(summary.contains("3 users"), "{summary}");
    assert!(summary.contains("no messages yet"), "{summary}");
    let again = sandbox.switch_to("02b", &["--seed"]);
    assert!(
        again.contains("seeded    none added: it has 3 users\n"),
        "{again}"
    );

    let count_users = || {
        let db = rusqlite::Connection::open(sandbox.database("s02b")).unwrap();
        db.query_row("SELECT count(*) FROM users", [], |row| row.get::<_, i64>(0))
            .unwrap()
    };
    assert_eq!(count_users(), 3);
    // No request for messages, which s02b does not have.
    let log = fs::read_to_string(sandbox.dir.join(".switch/server.log")).unwrap();
    assert!(!log.contains("/api/messages"), "{log}");
}
