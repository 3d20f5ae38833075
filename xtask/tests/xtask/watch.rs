//! `switch --watch` for real, on temporary workspaces, never on the real
//! steps. Each watch runs in the background with a free port and its own
//! `XTASK_RUN_DIR`; it is killed, and its server stopped, when the test ends,
//! whatever happened.
//!
//! Most tests are about the watch itself (two saves give one build, a broken
//! build keeps the previous one serving, Ctrl-C, a switch made in another
//! terminal): what the step is does not matter to them, so they watch fake
//! steps, `s91` and `s92` (fake_step.rs: a few dozen lines of the standard
//! library that answer what `switch` asks of a step). Each of these tests has
//! a workspace and a target folder of its own: its builds take a quarter of
//! a second and never wait for another test's cargo.
//!
//! One test measures what a learner sees, a save served within seconds, on
//! the real thing: step s01c (the first with `/api/version`, actix-web and
//! SQLite) copied as `s91` into a workspace at a fixed place,
//! `target/tmp/watch/`. That workspace has the real one's Cargo.toml (its
//! members aside) and Cargo.lock, and builds into the real `target/`, so no
//! dependency is compiled again: a rebuild compiles and links the copy only.
//! Its fixed place lets cargo find its build of the copy again, instead of
//! leaving one more in target/ at each run; its own package name keeps the
//! real steps' binaries in `target/debug/` untouched.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use crate::common::{
    Background, TempDir, free_port, real_manifest, real_target, real_workspace, text, version_on,
    wait_for_version, xtask,
};

/// A save must be served within this long (the issue says "a few seconds";
/// on a busy 2-core machine it is about 1.5 s for this copy of s01c).
const SERVED_WITHIN: Duration = Duration::from_secs(15);

/// A workspace of steps to watch, and a `switch --watch` on it.
struct Watched {
    workspace: TempDir,
    /// Where cargo builds the steps.
    target: PathBuf,
    run: TempDir,
    port: u16,
    watcher: Option<Background>,
}

impl Watched {
    /// Fake steps `steps` (`s91`, ...), whose version is then `91`, ..., in
    /// a workspace of their own that builds into its own target folder.
    /// Nothing runs yet.
    fn fake(name: &str, steps: &[&str]) -> Watched {
        let workspace = TempDir::new(&format!("watch-{name}"));
        // Built as the real steps are: no debug info, no incremental cache
        // (a build of the fake step then takes 0.25 s instead of 0.6 s).
        workspace.write(
            "Cargo.toml",
            "[workspace]\nresolver = \"3\"\nmembers = [\"steps/*\"]\n\n\
             [profile.dev]\ndebug = false\nincremental = false\n",
        );
        for step in steps {
            let source = include_str!("fake_step.rs").replace(
                "const VERSION: &str = \"91\";",
                &format!("const VERSION: &str = \"{}\";", &step[1..]),
            );
            workspace.step(step, &[("src/main.rs", &source)]);
        }
        let target = workspace.path().join("target");
        Watched::of(name, workspace, target)
    }

    /// Step s01c copied as `s91`, whose version is then `91`, in
    /// `target/tmp/watch/`, which builds into the real target folder.
    /// Nothing runs yet.
    fn real_s01c(name: &str) -> Watched {
        let workspace = TempDir::at(Path::new(env!("CARGO_TARGET_TMPDIR")).join("watch"));
        let real = real_workspace();
        workspace.write("Cargo.toml", &real_manifest("[\"steps/*\"]"));
        fs::copy(real.join("Cargo.lock"), workspace.path().join("Cargo.lock")).unwrap();

        let original = real.join("steps/s01c");
        let cargo_toml = fs::read_to_string(original.join("Cargo.toml")).unwrap();
        workspace.write(
            "steps/s91/Cargo.toml",
            &cargo_toml.replace("\"s01c\"", "\"s91\""),
        );
        for file in ["main.rs", "db.rs"] {
            let source = fs::read_to_string(original.join("src").join(file)).unwrap();
            let source = source.replace(
                "const VERSION: &str = \"01c\";",
                "const VERSION: &str = \"91\";",
            );
            workspace.write(&format!("steps/s91/src/{file}"), &source);
        }
        Watched::of(name, workspace, real_target())
    }

    fn of(name: &str, workspace: TempDir, target: PathBuf) -> Watched {
        Watched {
            workspace,
            target,
            run: TempDir::new(&format!("watch-run-{name}")),
            port: free_port(),
            watcher: None,
        }
    }

    /// `xtask switch ARGS` on the workspace, with its run folder and its
    /// target folder.
    fn switch(&self, args: &[&str]) -> Command {
        let mut command = xtask("switch");
        command
            .args(args)
            .env("XTASK_ROOT", self.workspace.path())
            .env("XTASK_RUN_DIR", self.run.path())
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_NET_OFFLINE", "true")
            .stdin(Stdio::null());
        command
    }

    /// Starts `switch STEP --watch` and waits until it watches.
    fn watch(&mut self, step: &str) -> &mut Watched {
        self.watch_with(step, |_| {})
    }

    fn watch_with(&mut self, step: &str, setup: impl FnOnce(&mut Command)) -> &mut Watched {
        let port = self.port.to_string();
        let mut command = self.switch(&[step, "--port", &port, "--watch"]);
        setup(&mut command);
        self.watcher = Some(Background::spawn(&mut command));
        self.wait_for("  watching  ");
        self
    }

    /// `switch ARGS` on the workspace, which must succeed; answers its output.
    fn switch_ok(&self, args: &[&str]) -> String {
        let output = self.switch(args).output().unwrap();
        assert!(
            output.status.success(),
            "switch {args:?}: {}",
            text(&output)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn watching(&self) -> &Background {
        self.watcher.as_ref().expect("a watch was started")
    }

    /// What the watch printed so far, both outputs.
    fn output(&self) -> String {
        self.watcher
            .as_ref()
            .map(Background::output)
            .unwrap_or_default()
    }

    /// How many times the watch printed `text`.
    fn count(&self, text: &str) -> usize {
        self.watching().count(text)
    }

    /// Waits until the watch has printed `text`; fails if it stops first.
    fn wait_for(&mut self, text: &str) {
        self.watcher.as_mut().unwrap().wait_for(text);
    }

    /// `/api/version`'s answer on the watch's port, or `None` when nothing answers.
    fn version(&self) -> Option<String> {
        version_on(self.port)
    }

    /// Waits until `/api/version` answers `version`; answers how long it took.
    fn wait_for_version(&self, version: &str) -> std::time::Duration {
        wait_for_version(self.port, version, || self.output())
    }

    /// Saves a change to a step's `src/main.rs`, as an editor does.
    fn edit(&self, step: &str, from: &str, to: &str) {
        let path = self
            .workspace
            .path()
            .join("steps")
            .join(step)
            .join("src/main.rs");
        let source = fs::read_to_string(&path).unwrap();
        assert!(
            source.contains(from),
            "{from:?} is not in {}",
            path.display()
        );
        fs::write(&path, source.replacen(from, to, 1)).unwrap();
    }

    /// The watch's process id.
    fn pid(&self) -> u32 {
        self.watching().pid()
    }

    /// Waits (boundedly) for the watch to end by itself.
    fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        self.watcher.as_mut().unwrap().wait_for_exit()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let output = self.output();
        // Killed, if it still runs.
        self.watcher = None;
        // The servers the watch (or a switch) left, if any: the class's and
        // the one on the watch's port.
        let _ = self.switch(&["stop"]).output();
        let _ = self
            .switch(&["stop", "--port", &self.port.to_string()])
            .output();
        if std::thread::panicking() {
            eprintln!("--- the watch's output ---\n{output}");
            let log = fs::read_to_string(self.run.path().join(".switch/server.log"));
            eprintln!("--- server log ---\n{}", log.unwrap_or_default());
        }
    }
}

/// The seconds in "s91 rebuilt in 1.4 s, serving again".
fn reported_seconds(output: &str, step: &str) -> f64 {
    let prefix = format!("{step} rebuilt in ");
    let line = output
        .lines()
        .rfind(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line:\n{output}"));
    assert!(line.contains(" s, serving again"), "{line}");
    line[prefix.len()..]
        .split(' ')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{line}"))
}

#[test]
fn an_edit_is_served_within_seconds_of_the_save() {
    let mut watched = Watched::real_s01c("edit");
    watched.watch("91");
    assert_eq!(watched.version().as_deref(), Some("91"));
    let database = watched.run.path().join("steps/s91/instance/chat.db");
    assert!(database.exists(), "{}", watched.output());

    watched.edit("s91", "\"91\";", "\"91-edited\";");
    let took = watched.wait_for_version("91-edited");
    assert!(took < SERVED_WITHIN, "served {took:?} after the save");
    watched.wait_for("s91 rebuilt in ");
    let reported = reported_seconds(&watched.output(), "s91");
    assert!(reported < SERVED_WITHIN.as_secs_f64(), "{reported}");
    eprintln!("s91: served {took:?} after the save; the watch says {reported} s");

    // The same port (the answer above) and the same database.
    let record = fs::read_to_string(watched.run.path().join(".switch/server.json")).unwrap();
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record["database"], database.to_str().unwrap());
    assert_eq!(record["watcher"], watched.pid());
}

#[test]
fn a_broken_build_keeps_the_previous_build_serving_and_its_fix_is_served() {
    let mut watched = Watched::fake("broken", &["s91"]);
    watched.watch("91");

    // A missing semicolon.
    watched.edit("s91", "\"91\";", "\"91-broken\"");
    watched.wait_for("s91 does not build");
    let output = watched.output();
    assert!(output.contains("error: expected one of"), "{output}");
    assert!(output.contains("could not compile `s91`"), "{output}");
    assert!(
        output
            .contains("s91 does not build (cargo's error above): the previous build keeps serving"),
        "{output}"
    );
    assert_eq!(
        watched.version().as_deref(),
        Some("91"),
        "the previous build"
    );
    assert_eq!(watched.count("rebuilt in"), 0, "{output}");

    watched.edit("s91", "\"91-broken\"", "\"91-fixed\";");
    let took = watched.wait_for_version("91-fixed");
    assert!(took < SERVED_WITHIN, "served {took:?} after the fix");
    watched.wait_for("s91 rebuilt in ");
}

/// Each build is counted by a `cargo` that notes its runs before running
/// the real one (`switch` runs the cargo named by $CARGO).
#[cfg(unix)]
#[test]
fn two_saves_in_quick_succession_give_one_rebuild() {
    use std::os::unix::fs::PermissionsExt;

    let mut watched = Watched::fake("twice", &["s91"]);
    let counter = watched.run.path().join("cargo-runs");
    let fake_cargo = watched.run.path().join("cargo");
    let real_cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    fs::write(
        &fake_cargo,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{real_cargo}' \"$@\"\n",
            counter.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&fake_cargo, fs::Permissions::from_mode(0o755)).unwrap();
    watched.watch_with("91", |command| {
        command.env("CARGO", &fake_cargo);
    });
    let builds = || {
        fs::read_to_string(&counter)
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert_eq!(builds(), 1, "the switch's own build");

    watched.edit("s91", "\"91\";", "\"91-one\";");
    sleep(Duration::from_millis(100));
    watched.edit("s91", "\"91-one\";", "\"91-two\";");
    watched.wait_for_version("91-two");
    // Long enough for a second build to have started, had there been one.
    sleep(Duration::from_secs(2));
    assert_eq!(builds(), 2, "{}", watched.output());
    assert_eq!(watched.count("rebuilt in"), 1, "{}", watched.output());
    assert_eq!(watched.version().as_deref(), Some("91-two"));
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_watching_and_the_server() {
    let mut watched = Watched::fake("ctrl-c", &["s91"]);
    watched.watch("91");
    let record = watched.run.path().join(".switch/server.json");
    assert!(record.exists());

    watched.watching().interrupt();
    let status = watched.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", watched.output());
    assert!(watched.output().contains("stopped watching; s91 stopped"));
    assert_eq!(watched.version(), None, "the server is stopped too");
    assert!(!record.exists(), "its record is removed");
}

#[test]
fn a_switch_in_another_terminal_moves_the_watch_to_that_step() {
    let mut watched = Watched::fake("moves", &["s91", "s92"]);
    watched.watch("91");
    let port = watched.port.to_string();

    // "Another terminal": a plain switch, on the same run folder.
    let switched = watched.switch(&["92", "--port", &port]).output().unwrap();
    assert!(switched.status.success(), "{}", text(&switched));
    assert_eq!(watched.version().as_deref(), Some("92"));
    watched.wait_for("s92 runs now (switched in another terminal): watching steps/s92");

    // The watch restarts s92 now; s91's files no longer concern it.
    watched.edit("s92", "\"92\";", "\"92-edited\";");
    watched.wait_for_version("92-edited");
    watched.wait_for("s92 rebuilt in ");
    watched.edit("s91", "\"91\";", "\"91-edited\";");
    sleep(Duration::from_secs(2));
    assert_eq!(watched.count("s91 rebuilt"), 0, "{}", watched.output());
    assert_eq!(watched.version().as_deref(), Some("92-edited"));

    // `switch stop` elsewhere ends the watch.
    let stopped = watched.switch(&["stop"]).output().unwrap();
    assert!(stopped.status.success(), "{}", text(&stopped));
    let status = watched.wait_for_exit();
    assert!(status.success(), "{status}");
    assert!(
        watched
            .output()
            .contains("s92 was stopped (scripts/switch stop): watching ends"),
        "{}",
        watched.output()
    );
}

/// An instructor's class server on one port, a watch on another to show an
/// edit: each serves its own step, a switch on the class's port leaves the
/// watch alone, and each is stopped alone.
#[cfg(unix)]
#[test]
fn a_watch_on_another_port_is_a_server_of_its_own_beside_the_class_server() {
    let mut watched = Watched::fake("beside", &["s91", "s92"]);
    let class = free_port();
    let class_port = class.to_string();
    watched.switch_ok(&["91", "--port", &class_port]);

    watched.watch("92");
    let output = watched.output();
    assert!(
        output.contains(&format!(
            "a server of its own beside the class's (s91 on port {class})"
        )),
        "{output}"
    );
    assert_eq!(version_on(class).as_deref(), Some("91"), "{output}");
    assert_eq!(watched.version().as_deref(), Some("92"));
    let own_record = watched
        .run
        .path()
        .join(format!(".switch/server-{}.json", watched.port));
    assert!(own_record.exists(), "{output}");

    // A switch on the class's port moves the class's server only.
    let switched = watched.switch_ok(&["92", "--port", &class_port]);
    assert!(
        switched.contains(&format!("s92 runs on port {class}")),
        "{switched}"
    );
    assert_eq!(version_on(class).as_deref(), Some("92"));
    watched.edit("s92", "\"92\";", "\"92-edited\";");
    watched.wait_for_version("92-edited");
    watched.wait_for("s92 rebuilt in ");
    assert_eq!(
        version_on(class).as_deref(),
        Some("92"),
        "the class's is not the watch's"
    );
    assert_eq!(
        watched.count("switched in another terminal"),
        0,
        "{}",
        watched.output()
    );

    // `switch stop` stops the class's server, and only it.
    let stopped = watched.switch_ok(&["stop"]);
    assert!(
        stopped.contains(&format!("stopped s92 on port {class}")),
        "{stopped}"
    );
    assert!(
        stopped.contains(&format!("scripts/switch stop --port {}", watched.port)),
        "it says what goes on, and how to stop it: {stopped}"
    );
    assert_eq!(version_on(class), None);
    assert_eq!(watched.version().as_deref(), Some("92-edited"));

    // Ctrl-C on the watch stops the watch's server, and only it.
    watched.switch_ok(&["91", "--port", &class_port]);
    watched.watching().interrupt();
    let status = watched.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", watched.output());
    assert!(watched.output().contains("stopped watching; s92 stopped"));
    assert_eq!(watched.version(), None, "the watch's server is stopped");
    assert!(!own_record.exists());
    assert_eq!(
        version_on(class).as_deref(),
        Some("91"),
        "the class's goes on"
    );
}

/// `switch 92 --watch` on the port where the class's server runs takes it
/// over; Ctrl-C then leaves the class a server, at the step the watch ends on.
#[cfg(unix)]
#[test]
fn a_watch_that_took_over_the_class_server_leaves_it_serving_at_ctrl_c() {
    let mut watched = Watched::fake("took-over", &["s91", "s92"]);
    let port = watched.port.to_string();
    watched.switch_ok(&["91", "--port", &port, "--seed"]);

    watched.watch("92");
    let output = watched.output();
    assert!(output.contains("s92 runs on port"), "{output}");
    assert!(
        output.contains("; since s91: scripts/diff 91 92 --code"),
        "{output}"
    );
    assert!(
        output.contains("Ctrl-C stops watching; s92 goes on serving"),
        "{output}"
    );
    assert_eq!(watched.version().as_deref(), Some("92"));

    watched.watching().interrupt();
    let status = watched.wait_for_exit();
    assert!(status.success(), "{status}:\n{}", watched.output());
    assert!(
        watched
            .output()
            .contains("stopped watching; s92 goes on serving on http://127.0.0.1:"),
        "{}",
        watched.output()
    );
    assert_eq!(
        watched.version().as_deref(),
        Some("92"),
        "the class keeps a server"
    );
    let record = watched.run.path().join(".switch/server.json");
    let record: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(record).unwrap()).unwrap();
    assert!(record["watcher"].is_null(), "no longer watched: {record}");
    assert_eq!(
        record["seed"], true,
        "the class's choices are kept: {record}"
    );
}
