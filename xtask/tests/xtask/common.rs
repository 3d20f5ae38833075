//! What the test modules share: running the xtask binary, and temporary folders.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

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

/// The target folder this test was built in (`target/tmp`'s parent),
/// wherever CARGO_TARGET_DIR put it.
pub fn real_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}
