//! `switch reset [--seed]` and `switch reset --undo`, on fake steps: s70
//! without a database (fake_step.rs), s71 with users, s72 with users and
//! messages (fake_db_step.rs). `reset --seed` builds every step of the
//! workspace, so the workspace is a small one: at a fixed place,
//! `target/tmp/reset-steps/`, with the real Cargo.toml's dependencies and
//! profile, built into the real target/, where the rusqlite that xtask's
//! tests use is compiled already (the steps build in a second or two, once).
//! Each test has its own run folder (`XTASK_RUN_DIR`) and port.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::common::{
    TempDir, free_port, http, real_manifest, real_target, real_workspace, text, version_on, xtask,
};

/// The fake steps' workspace, written once for the tests of this module.
fn workspace() -> &'static Path {
    static WORKSPACE: OnceLock<TempDir> = OnceLock::new();
    WORKSPACE
        .get_or_init(|| {
            let dir = TempDir::at(Path::new(env!("CARGO_TARGET_TMPDIR")).join("reset-steps"));
            dir.write("Cargo.toml", &real_manifest("[\"steps/*\"]"));
            fs::copy(
                real_workspace().join("Cargo.lock"),
                dir.path().join("Cargo.lock"),
            )
            .unwrap();
            let without_db = include_str!("fake_step.rs").replace(
                "const VERSION: &str = \"91\";",
                "const VERSION: &str = \"70\";",
            );
            dir.step("s70", &[("src/main.rs", &without_db)]);
            for (step, messages) in [("s71", false), ("s72", true)] {
                let source = include_str!("fake_db_step.rs")
                    .replace(
                        "const VERSION: &str = \"71\";",
                        &format!("const VERSION: &str = \"{}\";", &step[1..]),
                    )
                    .replace(
                        "const MESSAGES: bool = false;",
                        &format!("const MESSAGES: bool = {messages};"),
                    );
                dir.step(step, &[("src/main.rs", &source)]);
                let manifest = dir.read(&format!("steps/{step}/Cargo.toml"));
                dir.write(
                    &format!("steps/{step}/Cargo.toml"),
                    &format!("{manifest}\n[dependencies]\nrusqlite.workspace = true\n"),
                );
            }
            // The same times at each run: cargo finds its build of these
            // steps up to date, instead of building them again each time.
            let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
            for step in ["s70", "s71", "s72"] {
                for file in ["Cargo.toml", "src/main.rs"] {
                    let path = dir.path().join("steps").join(step).join(file);
                    let file = fs::File::options().write(true).open(path).unwrap();
                    file.set_modified(then).unwrap();
                }
            }
            dir
        })
        .path()
}

/// A class on the fake steps: its run folder and its port.
struct Class {
    run: TempDir,
    port: u16,
}

impl Class {
    fn new(name: &str) -> Class {
        workspace();
        Class {
            run: TempDir::new(name),
            port: free_port(),
        }
    }

    fn switch(&self, args: &[&str]) -> Output {
        xtask("switch")
            .args(args)
            .env("XTASK_ROOT", workspace())
            .env("XTASK_RUN_DIR", self.run.path())
            .env("CARGO_TARGET_DIR", real_target())
            .env("CARGO_NET_OFFLINE", "true")
            .output()
            .expect("run xtask")
    }

    /// `switch ARGS`, which must succeed; answers what it printed.
    fn switch_ok(&self, args: &[&str]) -> String {
        let output = self.switch(args);
        assert!(
            output.status.success(),
            "switch {args:?}: {}",
            text(&output)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn database(&self, step: &str) -> PathBuf {
        self.run
            .path()
            .join("steps")
            .join(step)
            .join("instance/chat.db")
    }

    fn previous(&self, step: &str) -> PathBuf {
        self.run
            .path()
            .join("steps")
            .join(step)
            .join("instance/chat.db.previous")
    }

    fn record(&self) -> Value {
        let record = fs::read_to_string(self.run.path().join(".switch/server.json")).unwrap();
        serde_json::from_str(&record).unwrap()
    }

    fn post_user(&self) {
        let url = format!("http://127.0.0.1:{}/api/users", self.port);
        let reply = http().post(url).send_json(json!({"nickname": "dave"}));
        assert_eq!(reply.unwrap().status(), 201);
    }
}

impl Drop for Class {
    fn drop(&mut self) {
        let _ = self.switch(&["stop"]);
    }
}

fn count(database: &Path, table: &str) -> i64 {
    let db = Connection::open(database).unwrap();
    db.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .unwrap_or_else(|e| panic!("{}: {e}", database.display()))
}

/// Does a line of `said` start with `start` and end with `end`?
fn has_line(said: &str, start: &str, end: &str) -> bool {
    said.lines()
        .any(|line| line.trim_start().starts_with(start) && line.ends_with(end))
}

#[test]
fn reset_empties_every_database_keeping_the_previous_files_and_undo_puts_them_back() {
    let class = Class::new("reset");
    let port = class.port.to_string();
    class.switch_ok(&["72", "--port", &port, "--seed"]);
    class.switch_ok(&["71"]);
    class.post_user();
    assert_eq!(count(&class.database("s71"), "users"), 4);
    assert_eq!(count(&class.database("s72"), "messages"), 7);
    let before = class.record()["pid"].clone();

    let said = class.switch_ok(&["reset"]);
    assert!(
        said.contains(&format!(
            "stopped s71 on port {port}: it starts again on its new database"
        )),
        "{said}"
    );
    assert!(
        said.contains("removed 2 databases, each kept once as chat.db.previous beside it:"),
        "{said}"
    );
    assert!(has_line(&said, "s71", "(4 users)"), "{said}");
    assert!(has_line(&said, "s72", "(3 users, 7 messages)"), "{said}");
    assert!(
        said.contains("scripts/switch reset --undo puts those databases back"),
        "{said}"
    );
    assert!(!said.contains("seeded"), "{said}");

    // What was there is kept, once.
    assert_eq!(count(&class.previous("s71"), "users"), 4);
    assert_eq!(count(&class.previous("s72"), "messages"), 7);
    assert!(!class.database("s72").exists(), "no server runs s72");
    // The class's server runs again, on a new empty database, and writes there
    // (not into the file moved from under it).
    assert_ne!(class.record()["pid"], before, "restarted");
    assert_eq!(class.record()["seed"], true, "the class's choices are kept");
    assert_eq!(version_on(class.port).as_deref(), Some("71"));
    assert_eq!(count(&class.database("s71"), "users"), 0);
    class.post_user();
    assert_eq!(count(&class.database("s71"), "users"), 1);
    assert_eq!(count(&class.previous("s71"), "users"), 4);

    // --undo: the databases before the reset come back, the reset's are kept.
    let undone = class.switch_ok(&["reset", "--undo"]);
    assert!(undone.contains("put back 2 databases"), "{undone}");
    assert!(has_line(&undone, "s71", "(4 users)"), "{undone}");
    assert_eq!(count(&class.database("s71"), "users"), 4);
    assert_eq!(count(&class.database("s72"), "messages"), 7);
    assert_eq!(count(&class.previous("s71"), "users"), 1);
    assert_eq!(version_on(class.port).as_deref(), Some("71"));
    class.post_user();
    assert_eq!(
        count(&class.database("s71"), "users"),
        5,
        "served from the file put back"
    );
}

#[test]
fn reset_seed_seeds_every_step_and_the_messages_read_like_a_conversation() {
    let class = Class::new("reset-seed");
    // s72 has data, and no server runs.
    let s72 = class.database("s72");
    fs::create_dir_all(s72.parent().unwrap()).unwrap();
    let holder = Connection::open(&s72).unwrap();
    holder
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO users (body) VALUES ('a'), ('b'), ('c'), ('d'), ('e');",
        )
        .unwrap();

    // A program that switch did not start has it open: nothing is reset.
    if cfg!(target_os = "linux") {
        let output = class.switch(&["reset", "--seed"]);
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{}", text(&output));
        assert!(error.contains("nothing was reset"), "{error}");
        assert!(
            error.contains(&format!("s72: open in process {}", std::process::id())),
            "{error}"
        );
        assert!(!class.previous("s72").exists());
        assert_eq!(count(&s72, "users"), 5);
    }
    drop(holder);

    let said = class.switch_ok(&["reset", "--seed"]);
    assert!(has_line(&said, "s72", "(5 users)"), "{said}");
    assert!(said.contains("seeded 2 steps:"), "{said}");
    assert!(
        said.contains("s71   3 users (s71 has no messages yet)"),
        "{said}"
    );
    assert!(
        said.contains("s72   3 users, 7 messages over 10 minutes"),
        "{said}"
    );
    assert!(said.contains("(not s70: no users table"), "{said}");
    assert_eq!(count(&class.database("s71"), "users"), 3);
    assert_eq!(count(&class.database("s72"), "users"), 3);
    assert_eq!(count(&class.previous("s72"), "users"), 5);

    // The messages' dates: as the steps write them, in order, each in a
    // minute of its own (the Date column shows minutes), the last one now.
    let db = Connection::open(&s72).unwrap();
    let (well_written, out_of_order, minutes, span, ago): (i64, i64, i64, i64, i64) = db
        .query_row(
            "SELECT
               (SELECT count(*) FROM messages
                 WHERE date = strftime('%Y-%m-%dT%H:%M:%SZ', date)),
               (SELECT count(*) FROM messages a JOIN messages b ON b.id > a.id
                 WHERE b.date <= a.date),
               (SELECT count(DISTINCT substr(date, 1, 16)) FROM messages),
               (SELECT CAST(round((julianday(max(date)) - julianday(min(date))) * 1440)
                       AS INTEGER) FROM messages),
               (SELECT CAST(round((julianday('now') - julianday(max(date))) * 1440)
                       AS INTEGER) FROM messages)",
            [],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(well_written, 7, "written as the steps write dates");
    assert_eq!(out_of_order, 0, "in the order they were sent");
    assert_eq!(minutes, 7, "each in a minute of its own");
    assert_eq!(span, 10, "over a few minutes");
    assert!(ago <= 1, "the last one now ({ago} minutes ago)");

    // The servers that seeded the steps are gone; nothing was recorded.
    let records: Vec<_> = fs::read_dir(class.run.path().join(".switch"))
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        records
            .iter()
            .all(|name| !name.to_string_lossy().starts_with("server")),
        "{records:?}"
    );
}
