//! Test helpers: start a step's real binary on a free port with a temporary
//! database, talk HTTP to it, run the tutorial's httpie commands verbatim.
//!
//! In a step's `tests/*.rs`:
//! ```ignore
//! let app = TestApp::start(env!("CARGO_BIN_EXE_s06"));
//! assert_eq!(app.get("/api/version").json()["version"], "06");
//! ```

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

pub mod browser;

pub use crate::sample::{MESSAGES, USERS};

/// One of [`USERS`] as the JSON body `POST /api/users` takes.
pub fn user_json((name, email, nickname): (&str, &str, &str)) -> Value {
    json!({ "name": name, "email": email, "nickname": nickname })
}

/// A running step binary, stopped (and its temporary folder removed) on drop.
pub struct TestApp {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub port: u16,
    dir: PathBuf,
    agent: ureq::Agent,
}

/// An HTTP answer, whatever its status.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub location: Option<String>,
    pub body: String,
}

impl Reply {
    /// The body as JSON; fails the test, showing the body, when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected JSON, got {} {:?}: {e}\n{}",
                self.status, self.content_type, self.body
            )
        })
    }
}

impl TestApp {
    /// Starts `bin` (pass `env!("CARGO_BIN_EXE_<step>")`) with a fresh database.
    pub fn start(bin: &str) -> TestApp {
        let dir = temp_dir();
        Self::start_in(bin, dir)
    }

    /// Starts `bin` again on the database of an app that was stopped: data survives restarts.
    pub fn restart(self, bin: &str) -> TestApp {
        let mut app = self;
        app.stop_child();
        let dir = std::mem::take(&mut app.dir);
        drop(app);
        Self::start_in(bin, dir)
    }

    fn start_in(bin: &str, dir: PathBuf) -> TestApp {
        let log = File::create(dir.join("server.log")).expect("create the server log");
        let mut child = Command::new(bin)
            .args(["--port", "0", "--db"])
            .arg(dir.join("chat.db"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));

        // The banner's first line tells the port: "s06: listening on http://127.0.0.1:PORT ..."
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let Some(base_url) = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .map(str::to_string)
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{bin} did not print its address; it said {line:?}\n{}",
                fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
        };
        let port = base_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the banner's address ends with the port");

        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        // The port is bound before the banner; wait for the first answer so
        // the step has finished starting (its database is open) when we return.
        if let Err(e) = agent.get(&base_url).call() {
            panic!("{bin} does not answer at {base_url}: {e}");
        }
        TestApp {
            child,
            base_url,
            port,
            dir,
            agent,
        }
    }

    /// The temporary database file this app uses.
    pub fn db_path(&self) -> PathBuf {
        self.dir.join("chat.db")
    }

    /// What the server wrote to stderr so far (its request log).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn get(&self, path: &str) -> Reply {
        reply(self.agent.get(self.url(path)).call())
    }

    /// POSTs `body` as JSON (`Content-Type: application/json`).
    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.post(path, "application/json", &body.to_string())
    }

    /// POSTs raw bytes with the given content type: for malformed bodies.
    pub fn post(&self, path: &str, content_type: &str, body: &str) -> Reply {
        reply(
            self.agent
                .post(self.url(path))
                .header("Content-Type", content_type)
                .send(body),
        )
    }

    /// Creates the tutorial's three sample users through the API.
    pub fn add_sample_users(&self) {
        for user in USERS {
            let reply = self.post_json("/api/users", &user_json(user));
            assert_eq!(reply.status, 201, "creating {user:?}: {}", reply.body);
        }
    }

    /// Runs one of the tutorial's httpie lines verbatim, pointed at this app
    /// (`:5001` becomes `:PORT`), and returns what httpie printed, parsed as JSON.
    ///
    /// Call only after [`httpie_is_installed`] said yes.
    pub fn httpie(&self, line: &str) -> Value {
        let line = line.replace(":5001", &format!(":{}", self.port));
        let words = shell_words(&line);
        assert_eq!(words[0], "http", "not an httpie line: {line}");
        let config = self.dir.join("httpie");
        fs::create_dir_all(&config).expect("create httpie's config folder");
        fs::write(
            config.join("config.json"),
            r#"{"disable_update_warnings": true}"#,
        )
        .expect("write httpie's config");

        let output = httpie_command(&words[1..])
            .env("HTTPIE_CONFIG_DIR", &config)
            .output()
            .expect("run httpie");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "`{line}` failed: {}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("`{line}` printed no JSON ({e}):\n{stdout}"))
    }

    fn stop_child(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop_child();
        if std::thread::panicking() {
            eprintln!("--- server log ---\n{}", self.log());
        }
        if !self.dir.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.unwrap_or_else(|e| panic!("HTTP request failed: {e}"));
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    Reply {
        status: response.status().as_u16(),
        content_type,
        location,
        body: response
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("reading the body failed: {e}")),
    }
}

/// A new empty folder under the system's temporary directory.
fn temp_dir() -> PathBuf {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "chat-tutorial-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create a temporary folder");
    dir
}

/// Is httpie's `http` on the PATH? When it is not, says so loudly; in CI
/// (`CI=true`) a missing httpie fails the test instead of skipping it.
pub fn httpie_is_installed() -> bool {
    let found = Command::new("http")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        missing_tool(
            "httpie is not installed, so the tutorial's `http ...` commands were NOT checked. \
             Install it with `pip install httpie` (or `pipx install httpie`).",
        );
    }
    found
}

/// A tool some test needs is missing. In CI (`CI=true`) that fails the test;
/// elsewhere it prints a banner nobody can miss, and the test carries on.
pub fn missing_tool(message: &str) {
    assert!(!in_ci(), "{message} (in CI a missing tool is a failure)");
    // Straight to stderr, not with `eprintln!`: the test harness captures
    // that and shows it only when the test fails.
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {message} ***\n");
}

/// True when running in CI, where a missing tool is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// httpie reads a stdin that is not a terminal as the request body, and then
/// refuses `key=value` items. A learner types the commands in a terminal, so
/// run httpie the same way: its stdin is a pseudo-terminal (Python's `pty`
/// module opens one; Python is there wherever httpie is). Its stdout stays a
/// pipe, so httpie prints the body alone, as JSON.
fn httpie_command(args: &[String]) -> Command {
    if cfg!(unix) {
        let mut command = Command::new("python3");
        command
            .args(["-c", PTY_RUN, "http"])
            .args(args)
            .stdin(Stdio::null());
        command
    } else {
        let mut command = Command::new("http");
        command
            .arg("--ignore-stdin")
            .args(args)
            .stdin(Stdio::null());
        command
    }
}

/// Runs `argv[1:]` with a pseudo-terminal as its stdin, exiting with its status.
const PTY_RUN: &str = "import pty, subprocess, sys\n\
                       _, terminal = pty.openpty()\n\
                       sys.exit(subprocess.run(sys.argv[1:], stdin=terminal).returncode)";

/// Splits a command line the way a shell would for the tutorial's lines:
/// on spaces, with double quotes grouping words (`name="Alice Caroll"`).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::shell_words;

    #[test]
    fn shell_words_keep_quoted_values_together() {
        assert_eq!(
            shell_words(r#"http :5001/api/users name="Alice Caroll" email="alice@foo.com""#),
            [
                "http",
                ":5001/api/users",
                "name=Alice Caroll",
                "email=alice@foo.com"
            ]
        );
    }
}
