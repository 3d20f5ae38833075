//! `exercise` on a small copy of the workspace (the root's Cargo.toml and
//! Cargo.lock, `shared`, step 03 and one exercise under a name of its own),
//! built into the real target/ so that the dependencies are not compiled
//! again: start, hint, check (fails in words), solution --apply, check
//! (done), reset; and verify, which must catch an exercise that passes
//! without any change.
//!
//! The copy is at a fixed place, `target/tmp/<test>/`, and its files keep
//! their modification times: cargo, which names a crate's build after its
//! path and finds it up to date by those times, then reuses the build of
//! `shared` from the run before, instead of compiling it again (a second
//! each time) and leaving one more build of it, and of the exercise, in
//! target/ at each run.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common::{
    Background, TempDir, free_port, http, real_target, real_workspace, stdout, text, version_on,
    wait_for_version,
};

/// Copies a folder, each file with its modification time (as `cp -p` does).
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "instance" || name == "node_modules" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            fs::copy(entry.path(), to.join(&name)).unwrap();
            let modified = entry.metadata().unwrap().modified().unwrap();
            let copy = fs::File::options().write(true).open(to.join(&name));
            copy.unwrap().set_modified(modified).unwrap();
        }
    }
}

/// A workspace with `shared`, step 03 and the exercise `s03-find-users-by-nickname`
/// of the real one renamed `exercise_name` (so its binary, in the real
/// target/, is not a learner's).
fn small_workspace(name: &str, exercise_name: &str) -> TempDir {
    let dir = TempDir::at(Path::new(env!("CARGO_TARGET_TMPDIR")).join(name));
    let root = real_workspace();
    // The members that exist here: without xtask.
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let manifest: String = manifest
        .lines()
        .map(|line| {
            if line.starts_with("members = ") {
                "members = [\"shared\", \"steps/*\"]".to_string()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    dir.write("Cargo.toml", &manifest);
    fs::copy(root.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    copy_dir(&root.join("shared"), &dir.path().join("shared"));
    copy_dir(&root.join("steps/s03"), &dir.path().join("steps/s03"));
    copy_dir(
        &root.join("exercises/s03-find-users-by-nickname"),
        &dir.path().join("exercises").join(exercise_name),
    );
    dir
}

/// `xtask exercise ARGS` in the small workspace, building into the real target/.
fn exercise(dir: &TempDir, args: &[&str]) -> Output {
    crate::common::xtask("exercise")
        .args(args)
        .env("XTASK_ROOT", dir.path())
        .env("CARGO_TARGET_DIR", real_target())
        .output()
        .expect("run xtask")
}

#[test]
fn an_exercise_is_started_checked_solved_and_reset_on_a_copy_of_its_step() {
    let dir = small_workspace("exercise", "s03-selftest-nickname");
    let listed = stdout(&exercise(&dir, &[]));
    assert!(
        listed.contains("1  s03-selftest-nickname") && listed.contains("Find users by nickname"),
        "{listed}"
    );

    // start: a copy of the step, a crate of its own, and the statement without its hints.
    let started = stdout(&exercise(&dir, &["start", "nickname"]));
    assert!(started.contains("## What to build"), "{started}");
    assert!(started.contains("3 hints, one at a time"), "{started}");
    assert!(
        !started.contains("Hint 1"),
        "the hints stay hidden: {started}"
    );
    let work = "exercises/work/s03-selftest-nickname";
    let manifest = dir.read(&format!("{work}/Cargo.toml"));
    assert!(
        manifest.contains("name = \"ex-s03-selftest-nickname\""),
        "{manifest}"
    );
    assert!(
        manifest.contains("shared = { path = \"../../../shared\" }"),
        "{manifest}"
    );
    assert!(manifest.contains("[workspace]"), "{manifest}");
    assert!(!manifest.contains("workspace = true"), "{manifest}");
    assert!(
        dir.read(&format!("{work}/tests/step/main.rs"))
            .ends_with("mod exercise;\n")
    );
    assert!(
        dir.read(&format!("{work}/.cargo/config.toml"))
            .contains("target-dir = \"../../../target\"")
    );

    let hint = stdout(&exercise(&dir, &["hint"]));
    assert!(
        hint.starts_with("Hint 1 of 3: where the query string arrives"),
        "{hint}"
    );
    let hint = stdout(&exercise(&dir, &["hint"]));
    assert!(hint.starts_with("Hint 2 of 3"), "{hint}");

    // check on the unmodified step: what is still to do, in words, exit code 1.
    let checked = exercise(&dir, &["check"]);
    let said = text(&checked);
    assert_eq!(checked.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "NOT YET: asking for a nickname lists only that user\n    \
                       GET /api/users?nickname=bob should list only bob, got 3 users"
        ),
        "{said}"
    );
    assert!(said.contains("6 still to do: "), "{said}");
    assert!(
        !said.contains("left:") && !said.contains("RUST_BACKTRACE"),
        "{said}"
    );

    // A learner's edit of the tests does not count: check puts them back.
    fs::write(
        dir.path().join(work).join("tests/step/exercise.rs"),
        "#[test]\nfn nothing() {}\n",
    )
    .unwrap();

    // The reference solution, applied: done.
    stdout(&exercise(&dir, &["solution", "--apply"]));
    let done = stdout(&exercise(&dir, &["check"]));
    assert!(
        done.contains("done: ") && done.contains("(7 of the exercise,"),
        "{done}"
    );
    assert!(dir.path().join(work).join(".done").is_file());
    let diff = stdout(&exercise(&dir, &["diff"]));
    assert_eq!(
        diff,
        dir.read("exercises/s03-selftest-nickname/solution.patch"),
        "diff shows the learner's change as the solution's patch has it"
    );

    // reset: the step again, the learner's copy kept aside.
    stdout(&exercise(&dir, &["reset"]));
    assert!(
        !dir.read(&format!("{work}/src/main.rs"))
            .contains("UserFilter")
    );
    assert!(
        dir.read(&format!("{work}.previous/src/main.rs"))
            .contains("UserFilter"),
        "the copy before the reset is kept"
    );
    // steps/s03 itself was never touched.
    assert!(!dir.read("steps/s03/src/main.rs").contains("UserFilter"));
}

#[test]
fn verify_calls_an_exercise_that_passes_without_a_change_dishonest() {
    let dir = small_workspace("exercise-verify", "s03-selftest-dishonest");
    // Tests that the unmodified step already passes.
    dir.write(
        "exercises/s03-selftest-dishonest/tests/exercise.rs",
        "#[test]\nfn the_version_is_03() {\n    \
         assert_eq!(shared::test_app!().get(\"/api/version\").json()[\"version\"], \"03\");\n}\n",
    );
    let output = exercise(&dir, &["verify"]);
    let said = text(&output);
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains(
            "s03-selftest-dishonest: NOT HONEST: all 1 of its tests pass on the unmodified step"
        ),
        "{said}"
    );
}

/// `exercise run --watch --seed`: the copy served on its port with the
/// sample data, rebuilt and restarted at each save of the copy's files.
#[cfg(unix)]
#[test]
fn exercise_run_watch_serves_each_save_of_the_copy_seeded() {
    let dir = small_workspace("exercise-watch", "s03-selftest-watch");
    stdout(&exercise(&dir, &["start", "watch"]));
    let run = TempDir::new("exercise-watch-run");
    let port = free_port();
    let mut watching = Background::spawn(
        crate::common::xtask("exercise")
            .args(["run", "--watch", "--seed", "--port", &port.to_string()])
            .env("XTASK_ROOT", dir.path())
            .env("XTASK_RUN_DIR", run.path())
            .env("CARGO_TARGET_DIR", real_target())
            .env("CARGO_NET_OFFLINE", "true")
            .stdin(std::process::Stdio::null()),
    );
    watching.wait_for("  watching  exercises/work/s03-selftest-watch: src/, static/, Cargo.toml");
    let said = watching.output();
    assert!(
        said.contains(&format!(
            "ex-s03-selftest-watch runs on port {port}, seeded"
        )),
        "{said}"
    );
    assert!(said.contains("  seeded    3 users"), "{said}");
    let users = || {
        let url = format!("http://127.0.0.1:{port}/api/users");
        let mut reply = http().get(url).call().unwrap();
        let users: serde_json::Value = reply.body_mut().read_json().unwrap();
        users.as_array().unwrap().len()
    };
    assert_eq!(users(), 3);
    assert_eq!(version_on(port).as_deref(), Some("03"));

    // A save of the copy (not a tracked file) is served.
    let main = dir
        .path()
        .join("exercises/work/s03-selftest-watch/src/main.rs");
    let source = fs::read_to_string(&main).unwrap();
    let edited = source.replacen(
        "const VERSION: &str = \"03\";",
        "const VERSION: &str = \"03-edited\";",
        1,
    );
    assert_ne!(source, edited);
    fs::write(&main, edited).unwrap();
    wait_for_version(port, "03-edited", || watching.output());
    watching.wait_for("ex-s03-selftest-watch rebuilt in ");
    assert_eq!(users(), 3, "the same database");

    watching.interrupt();
    let status = watching.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", watching.output());
    assert!(
        watching
            .output()
            .contains("stopped watching; ex-s03-selftest-watch stopped"),
        "{}",
        watching.output()
    );
    assert_eq!(version_on(port), None, "its server is stopped");
}
