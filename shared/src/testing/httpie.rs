//! Runs the tutorial's `http ...` lines with the real httpie.
//!
//! Starting httpie costs about a third of a second (Python, then `requests`),
//! and the steps' tests run some 300 lines: well over a minute of a cold
//! `cargo test --workspace`. So each test binary starts httpie's Python once
//! and hands it one command line after another: the same `httpie.core.main`
//! that the `http` script calls, with the words a shell would pass it, a
//! terminal as its stdin (as when a learner types the line) and a pipe as its
//! stdout (so it prints the body alone). Where that cannot work (`http` is not
//! a Python script, or on Windows), each line runs as its own `http` process.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use serde_json::{Value, json};

/// What one httpie run gave.
pub(crate) struct Run {
    pub success: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

/// Runs httpie with `args` (the words after `http`) and the config folder
/// `config_dir`.
pub(crate) fn run(args: &[String], config_dir: &Path) -> Run {
    static RUNNER: Mutex<Option<Runner>> = Mutex::new(None);
    let mut runner = RUNNER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if runner.is_none() {
        *runner = Runner::start();
    }
    if let Some(started) = runner.as_mut() {
        match started.run(args, config_dir) {
            Some(run) => return run,
            // It died: the next line starts another one.
            None => *runner = None,
        }
    }
    drop(runner);
    run_as_a_process(args, config_dir)
}

/// httpie's own Python, reading one request per line on its stdin:
/// `{"args": [...], "config_dir": "..."}`, answering one line per request:
/// `{"status": 0, "stdout": "...", "stderr": "..."}`.
struct Runner {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

const RUNNER_PY: &str = r#"
import io, json, sys
from pathlib import Path
from httpie.context import Environment
from httpie.core import main

requests, answers = sys.stdin, sys.stdout
for line in requests:
    request = json.loads(line)
    out, err = io.BytesIO(), io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    env = Environment(
        stdin=io.StringIO(""), stdin_isatty=True,
        stdout=stdout, stdout_isatty=False,
        stderr=stderr, stderr_isatty=False,
        config_dir=Path(request["config_dir"]),
    )
    try:
        status = int(main(["http", *request["args"]], env))
    except SystemExit as exit:
        status = exit.code if isinstance(exit.code, int) else 1
    stdout.flush(); stderr.flush()
    answers.write(json.dumps({
        "status": status,
        "stdout": out.getvalue().decode("utf-8", "replace"),
        "stderr": err.getvalue().decode("utf-8", "replace"),
    }) + "\n")
    answers.flush()
"#;

impl Runner {
    fn start() -> Option<Runner> {
        let python = httpie_python()?;
        let mut child = Command::new(python)
            .args(["-c", RUNNER_PY])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let stdout = BufReader::new(child.stdout.take()?);
        Some(Runner {
            child,
            stdin,
            stdout,
        })
    }

    fn run(&mut self, args: &[String], config_dir: &Path) -> Option<Run> {
        let request = json!({"args": args, "config_dir": config_dir});
        writeln!(self.stdin, "{request}").ok()?;
        self.stdin.flush().ok()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line).ok()? == 0 {
            let _ = self.child.wait();
            return None;
        }
        let answer: Value = serde_json::from_str(&line).ok()?;
        let text = |key: &str| answer[key].as_str().unwrap_or_default().to_string();
        let status = answer["status"].as_i64().unwrap_or(-1);
        Some(Run {
            success: status == 0,
            status: format!("httpie's exit status {status}"),
            stdout: text("stdout"),
            stderr: text("stderr"),
        })
    }
}

/// The Python that `http` runs with, read from its `#!` line, when httpie
/// is a Python script (pip, pipx, Debian, Homebrew all install it so); when
/// `http` is a wrapper (pyenv's shims are shell scripts), `python3`.
fn httpie_python() -> Option<String> {
    if !cfg!(unix) {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    let script = std::env::split_paths(&path)
        .map(|dir| dir.join("http"))
        .find(|file| file.is_file())?;
    let text = std::fs::read(&script).ok()?;
    let first = text.split(|&b| b == b'\n').next()?;
    let first = std::str::from_utf8(first).ok()?;
    let interpreter = first.strip_prefix("#!")?.trim();
    // `#!/usr/bin/env python3` or `#!/path/to/python3.11`
    let words: Vec<&str> = interpreter.split_whitespace().collect();
    let python = match words.as_slice() {
        [env, python] if env.ends_with("/env") => *python,
        [python] => *python,
        _ => return None,
    };
    if python.contains("python") {
        return Some(python.to_string());
    }
    // A wrapper, such as pyenv's shim (a shell script): then the `python3`
    // of the same PATH, if httpie is one of its modules.
    let probe = Command::new("python3")
        .args(["-c", "import httpie.core"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    probe
        .is_ok_and(|status| status.success())
        .then(|| "python3".to_string())
}

/// One line, one `http` process.
fn run_as_a_process(args: &[String], config_dir: &Path) -> Run {
    let output = httpie_command(args)
        .env("HTTPIE_CONFIG_DIR", config_dir)
        .output()
        .expect("run httpie");
    Run {
        success: output.status.success(),
        status: output.status.to_string(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
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
