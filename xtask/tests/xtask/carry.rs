//! `carry` on a small fake workspace, a git repository of four steps whose
//! `src/db.rs` is the same in s01, s02, s03 but not in s04.

use std::process::Command;

use crate::common::{TempDir, stderr_of_failure, stdout};

const DB: &str = "// The database.\nfn open() {\n    connect();\n}\n\nfn close() {}\n";
const DB_S04: &str = "// The database.\nfn open() {\n    connect_with_wal();\n}\n\nfn close() {}\n";
const MAIN: &str = "fn main() {\n    println!(\"hello\");\n}\n";

/// The fake workspace, committed.
fn workspace(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    for step in ["s01", "s02", "s03", "s04"] {
        let db = if step == "s04" { DB_S04 } else { DB };
        let readme = format!("# Step {step}\n");
        dir.step(
            step,
            &[
                ("src/db.rs", db),
                ("src/main.rs", MAIN),
                ("README.md", &readme),
            ],
        );
    }
    git(&dir, &["init", "--quiet"]);
    git(&dir, &["add", "--all"]);
    git(&dir, &["commit", "--quiet", "--message", "steps"]);
    dir
}

/// git in the fake workspace, with an identity of its own.
fn git(dir: &TempDir, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir.path())
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn a_change_is_carried_until_a_step_where_it_does_not_apply() {
    let dir = workspace("carry");
    let changed = DB.replace("fn close() {}", "fn close() {\n    disconnect();\n}");
    dir.write("steps/s01/src/db.rs", &changed);
    dir.write("steps/s01/src/new.rs", "// a new file\n");
    dir.write("steps/s01/README.md", "# Step s01, rewritten\n");

    let error = stderr_of_failure(&dir.xtask("carry", &["01"]));
    assert!(error.contains("does not apply to s04"), "{error}");
    assert!(error.contains("file steps/s04/src/db.rs"), "{error}");
    assert!(error.contains("carried to s02, s03"), "{error}");
    assert!(error.contains("git apply says"), "{error}");

    for step in ["s02", "s03"] {
        assert_eq!(
            dir.read(&format!("steps/{step}/src/db.rs")),
            changed,
            "{step}"
        );
        assert_eq!(
            dir.read(&format!("steps/{step}/src/new.rs")),
            "// a new file\n"
        );
        // The lesson is not carried.
        assert_eq!(
            dir.read(&format!("steps/{step}/README.md")),
            format!("# Step {step}\n")
        );
    }
    assert_eq!(dir.read("steps/s04/src/db.rs"), DB_S04, "s04 untouched");
    assert!(!dir.path().join("steps/s04/src/new.rs").exists());
}

#[test]
fn check_only_says_where_the_change_would_apply() {
    let dir = workspace("carry-check");
    let changed = DB.replace("// The database.", "// The database, in one file.");
    dir.write("steps/s01/src/db.rs", &changed);

    let error = stderr_of_failure(&dir.xtask("carry", &["1", "--check"]));
    assert!(error.contains("it would apply to s02, s03"), "{error}");
    for step in ["s02", "s03"] {
        assert_eq!(
            dir.read(&format!("steps/{step}/src/db.rs")),
            DB,
            "{step} unchanged"
        );
    }
}

#[test]
fn paths_pick_the_part_of_the_change_to_carry() {
    let dir = workspace("carry-paths");
    let main = MAIN.replace("hello", "hello, world");
    dir.write("steps/s02/src/main.rs", &main);
    dir.write("steps/s02/src/db.rs", "// not this\n");

    let done = stdout(&dir.xtask("carry", &["s02", "src/main.rs"]));
    assert!(done.contains("carried to s03, s04"), "{done}");
    assert_eq!(dir.read("steps/s04/src/main.rs"), main);
    assert_eq!(dir.read("steps/s03/src/db.rs"), DB, "db.rs was not named");
}

#[test]
fn nothing_to_carry_and_the_last_step_are_explained() {
    let dir = workspace("carry-nothing");
    let error = stderr_of_failure(&dir.xtask("carry", &["01"]));
    assert!(error.contains("no uncommitted change"), "{error}");
    let error = stderr_of_failure(&dir.xtask("carry", &["04"]));
    assert!(error.contains("last step"), "{error}");
}
