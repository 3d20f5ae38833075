//! `scripts/switch 23` for real: three instances of step 23 behind the nginx
//! of `scripts/services up`, all on ports of the test's own and in a run
//! folder of its own (`XTASK_RUN_DIR`, which holds `.services/` too), so a
//! learner's servers on 5010-5013 are never touched.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use shared::services::{Error, Kind, port_is_free};
use shared::testing::missing_tool;

use crate::common::{TempDir, http, stderr_of_failure, stdout, text, xtask};
use crate::services::free_ports;

/// A run folder with `scripts/services up` in it; everything it started
/// is stopped when it is dropped.
struct Run {
    dir: PathBuf,
    _folder: TempDir,
}

impl Run {
    fn switch(&self, args: &[&str]) -> std::process::Output {
        xtask("switch")
            .args(args)
            .env("XTASK_RUN_DIR", &self.dir)
            .output()
            .unwrap()
    }

    fn services(&self, args: &[&str]) -> std::process::Output {
        xtask("services")
            .args(args)
            .arg("--dir")
            .arg(self.dir.join(".services"))
            .output()
            .unwrap()
    }

    fn record(&self) -> Value {
        let record = std::fs::read_to_string(self.dir.join(".switch/server.json")).unwrap();
        serde_json::from_str(&record).unwrap()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.switch(&["stop"]);
        let _ = self.services(&["down"]);
        if std::thread::panicking() {
            let logs = std::fs::read_dir(self.dir.join(".switch"));
            let services = std::fs::read_dir(self.dir.join(".services"));
            let entries = logs.into_iter().chain(services).flatten().flatten();
            for entry in entries {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".log") {
                    let log = std::fs::read_to_string(entry.path()).unwrap_or_default();
                    eprintln!("--- {name} ---\n{log}");
                }
            }
        }
    }
}

fn get(port: u16, path: &str) -> (Value, Option<String>) {
    let mut reply = http()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .call()
        .unwrap_or_else(|e| panic!("GET {path} on {port}: {e}"));
    let upstream = reply
        .headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = reply.body_mut().read_to_string().unwrap();
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("GET {path} on {port}: {e}: {} {body}", reply.status()));
    (json, upstream)
}

fn alive(pid: u64) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe")).is_ok()
}

#[test]
fn switch_23_needs_the_services_and_says_so_in_one_line() {
    let folder = TempDir::new("switch23-no-services");
    let failed = xtask("switch")
        .args(["23", "--port", &crate::common::free_port().to_string()])
        .env("XTASK_RUN_DIR", folder.path())
        .output()
        .unwrap();
    let error = stderr_of_failure(&failed);
    assert!(error.contains("scripts/services up"), "{error}");
    assert_eq!(error.trim().lines().count(), 1, "{error}");
}

#[test]
fn switch_23_runs_three_instances_behind_nginx_and_stop_stops_them_all() {
    if let Some(kind) = Kind::ALL.into_iter().find(|kind| kind.binary().is_err()) {
        missing_tool(&format!(
            "{}, so scripts/switch 23 was NOT tested",
            Error::Missing(kind)
        ));
        return;
    }
    let folder = TempDir::new("switch23");
    let run = Run {
        dir: folder.path().to_path_buf(),
        _folder: folder,
    };
    let [pg, redis, nginx, a, b, c, class] = free_ports();
    let up = run.services(&[
        "up",
        "--ports",
        &format!("{pg},{redis},{nginx}"),
        "--instances",
        &format!("{a},{b},{c}"),
    ]);
    stdout(&up);

    let switched = run.switch(&["23", "--port", &class.to_string(), "--seed"]);
    let summary = stdout(&switched);
    let headline = format!(
        "s23: three instances ({a}, {b}, {c}) behind nginx: http://127.0.0.1:{nginx}, seeded"
    );
    assert!(summary.starts_with(&headline), "{}", text(&switched));
    assert!(
        summary.contains(&format!("nginx's, not the class's {class}")),
        "{summary}"
    );
    assert!(summary.contains("3 users"), "{summary}");

    // Through nginx, and each instance on its own port, on one database.
    for port in [nginx, a, b, c] {
        assert_eq!(get(port, "/api/version").0["version"], "23");
        assert_eq!(get(port, "/api/users").0.as_array().unwrap().len(), 3);
    }
    let answered: std::collections::BTreeSet<String> = (0..6)
        .filter_map(|_| get(nginx, "/api/version").1)
        .collect();
    assert_eq!(answered.len(), 3, "nginx takes them in turn: {answered:?}");

    let record = run.record();
    assert_eq!(record["port"], class, "the class's port, kept: {record}");
    let pids: Vec<u64> = record["behind_nginx"]["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 3, "{record}");

    // One killed: the list says so, nginx skips it.
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pids[1].to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    while alive(pids[1]) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let list = stdout(&run.switch(&[]));
    assert!(list.contains("* s23 "), "{list}");
    assert!(
        list.contains(&format!(
            "instances on {a}, {b}, {c} behind nginx; {b} is down"
        )),
        "{list}"
    );
    for _ in 0..4 {
        assert_eq!(get(nginx, "/api/version").0["version"], "23");
    }

    // `switch logs` follows the instances' logs, each line marked.
    let seen = follow_logs(&run.dir, &format!("[{c}] "));
    assert!(seen.contains(&format!("[{a}] ")), "{seen}");

    let stopped = stdout(&run.switch(&["stop"]));
    assert!(stopped.contains("stopped s23 on port"), "{stopped}");
    for pid in pids {
        assert!(!alive(pid), "pid {pid} still runs");
    }
    for port in [a, b, c] {
        assert!(port_is_free(port), "port {port} still taken");
    }
}

/// What `switch logs` prints until it has printed `wanted` (10 s at most).
fn follow_logs(run: &Path, wanted: &str) -> String {
    let mut follower = xtask("switch")
        .arg("logs")
        .env("XTASK_RUN_DIR", run)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let wanted = wanted.to_string();
    std::thread::spawn(move || {
        let mut seen = String::new();
        let mut buffer = [0; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buffer) {
            seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
            if seen.contains(&wanted) {
                break;
            }
        }
        let _ = tx.send(seen);
    });
    let seen = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
    let _ = follower.kill();
    let _ = follower.wait();
    seen
}
