//! What the test modules share: running the xtask binary (and following one
//! that runs in the background), and temporary folders.

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long any one thing may take before a test fails. Generous: the
/// machine may be busy compiling something else.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// `xtask COMMAND`, ready for more arguments and environment.
pub fn xtask(command: &str) -> Command {
    let mut xtask = Command::new(env!("CARGO_BIN_EXE_xtask"));
    xtask.arg(command);
    xtask
}

/// The exit status and both outputs, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The standard output of a command that must have succeeded.
pub fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{}", text(output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The error output of a command that must have failed.
pub fn stderr_of_failure(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "should have failed: {}",
        text(output)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A temporary folder, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        TempDir::at(std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id())))
    }

    /// The folder `dir`, emptied. For a workspace that builds into the real
    /// target/: cargo names a crate's build after its path, so a new path at
    /// each run would leave one more build of its crates there each time.
    pub fn at(dir: PathBuf) -> TempDir {
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `path` (relative to the folder), creating folders.
    pub fn write(&self, path: &str, text: &str) {
        let path = self.0.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        fs::read_to_string(self.0.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// A fake step crate `steps/NAME` with these files (paths inside the step):
    /// enough for xtask to find it, and for cargo to build it.
    pub fn step(&self, name: &str, files: &[(&str, &str)]) {
        self.write(
            &format!("steps/{name}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\ndescription = \"Step {} of the Rust chat \
                 tutorial: a fake\"\nedition = \"2024\"\n",
                &name[1..]
            ),
        );
        for (path, text) in files {
            self.write(&format!("steps/{name}/{path}"), text);
        }
    }

    /// `xtask COMMAND` with this folder as the workspace (`XTASK_ROOT`).
    pub fn xtask(&self, command: &str, args: &[&str]) -> Output {
        xtask(command)
            .args(args)
            .env("XTASK_ROOT", &self.0)
            .output()
            .expect("run xtask")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A port nobody listens on now (never 5001, where a learner may run a step).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// An HTTP client that takes any status as an answer and follows no redirect.
pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent()
}

/// The workspace these tests belong to: xtask's parent folder.
pub fn real_workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The real workspace's Cargo.toml with these `members` (and `shared`
/// named where it is): a workspace that builds into the real target/ with
/// the same dependencies, features and profile, so that none of them is
/// compiled again.
pub fn real_manifest(members: &str) -> String {
    let real = real_workspace();
    let manifest = fs::read_to_string(real.join("Cargo.toml")).unwrap();
    let shared = real.join("shared");
    let manifest = manifest
        .lines()
        .map(|line| {
            if line.starts_with("members = ") {
                format!("members = {members}")
            } else {
                line.replace(
                    "path = \"shared\"",
                    &format!("path = {:?}", shared.display().to_string()),
                )
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        manifest.contains(&format!("members = {members}")),
        "{manifest}"
    );
    manifest
}

/// A command running in the background (a `switch --watch`, an `exercise
/// run --watch`), whose output is collected as it comes. Killed, if still
/// running, when dropped.
pub struct Background {
    child: Child,
    output: Arc<Mutex<String>>,
    /// The threads that read its two outputs: done once it has exited and
    /// all it printed is in `output`.
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Starts `command`, its two outputs collected together.
    pub fn spawn(command: &mut Command) -> Background {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("start xtask in the background");
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        for mut stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = Arc::clone(&output);
            readers.push(std::thread::spawn(move || {
                let mut buffer = [0; 4096];
                while let Ok(n @ 1..) = stream.read(&mut buffer) {
                    let text = String::from_utf8_lossy(&buffer[..n]);
                    output.lock().unwrap().push_str(&text);
                }
            }));
        }
        Background {
            child,
            output,
            readers,
        }
    }

    /// What it printed so far, both outputs.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// How many times it printed `text`.
    pub fn count(&self, text: &str) -> usize {
        self.output().matches(text).count()
    }

    /// Waits until it has printed `text`; fails if it stops first.
    pub fn wait_for(&mut self, text: &str) {
        let started = Instant::now();
        while self.count(text) == 0 {
            assert!(
                started.elapsed() < PATIENCE,
                "no {text:?} within {PATIENCE:?}:\n{}",
                self.output()
            );
            if let Ok(Some(status)) = self.child.try_wait() {
                // What it printed last may still be on its way.
                sleep(Duration::from_millis(100));
                assert!(
                    self.count(text) > 0,
                    "it stopped ({status}) before {text:?}:\n{}",
                    self.output()
                );
            }
            sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ctrl-C, as a terminal sends it.
    #[cfg(unix)]
    pub fn interrupt(&self) {
        let interrupt = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .output()
            .unwrap();
        assert!(interrupt.status.success(), "{}", text(&interrupt));
    }

    /// Waits (boundedly) for it to end by itself, and for what it printed
    /// last to be read.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < PATIENCE, "it does not stop");
            sleep(Duration::from_millis(20));
        };
        // Its outputs end with it (unless a process it started kept them).
        let exited = Instant::now();
        while !self.readers.iter().all(|reader| reader.is_finished())
            && exited.elapsed() < Duration::from_secs(5)
        {
            sleep(Duration::from_millis(10));
        }
        status
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `/api/version`'s answer on a port, or `None` when nothing answers.
pub fn version_on(port: u16) -> Option<String> {
    let url = format!("http://127.0.0.1:{port}/api/version");
    let mut reply = http().get(&url).call().ok()?;
    let json: serde_json::Value = reply.body_mut().read_json().ok()?;
    json["version"].as_str().map(String::from)
}

/// Waits until `/api/version` on `port` answers `version`; answers how long
/// it took. `output` says what was going on, for the failure's message.
pub fn wait_for_version(port: u16, version: &str, output: impl Fn() -> String) -> Duration {
    let started = Instant::now();
    while version_on(port).as_deref() != Some(version) {
        assert!(
            started.elapsed() < PATIENCE,
            "/api/version on {port} never answered {version:?}:\n{}",
            output()
        );
        sleep(Duration::from_millis(10));
    }
    started.elapsed()
}

/// The target folder this test was built in (`target/tmp`'s parent),
/// wherever CARGO_TARGET_DIR put it.
pub fn real_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}
