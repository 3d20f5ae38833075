//! `scripts/switch 04`: one server in the background, moved from step to step
//! with one command, each step keeping its own database.
//!
//! What `switch` started is recorded in `.switch/server.json` (its PID, step,
//! port and binary); its output goes to `.switch/server.log`. The server runs
//! a copy of the step's binary, `.switch/bin/<step>-<n>`, so that cargo can
//! rebuild the step while it runs (Windows will not replace a running `.exe`).
//! With `--watch`, `switch` then stays in the foreground and rebuilds and
//! restarts the step when its files change (see watch.rs).

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::DEFAULT_PORT;

use crate::steps::{self, Step};
use crate::{process, seed, watch};

pub const USAGE: &str = "\
usage: scripts/switch [STEP] [--fresh] [--seed] [--port N] [--watch]
       scripts/switch stop | logs

  scripts/switch          list the steps, marking the one running
  scripts/switch 04       build step 04 (also: s04, 4) and run it in the background
                          on port 5001, instead of the step running before
    --fresh               start that step with an empty database
    --seed                load the tutorial's sample users (and messages, once
                          the step has them) through the step's API, into
                          tables that are still empty
    --port N              listen on port N instead of 5001
    --watch               then stay in the foreground: each time a file of the
                          step's src/, static/ or its Cargo.toml is saved,
                          rebuild it and restart it (same port, same database);
                          a switch made in another terminal moves the watch to
                          that step. Ctrl-C stops watching and the server.
  scripts/switch stop     stop the step running in the background
  scripts/switch logs     follow its log (Ctrl-C stops following, not the server)

Each step keeps its own database in steps/<step>/instance/chat.db.
";

/// How long a step may take to answer its first request after it started.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Action {
    List,
    Stop,
    Logs,
    Run {
        step: String,
        fresh: bool,
        seed: bool,
        port: u16,
        watch: bool,
    },
    Help,
}

pub fn main(args: Vec<String>) -> Result<(), String> {
    let places = Places::new();
    match parse(args)? {
        Action::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Action::List => list(&places),
        Action::Stop => stop(&places),
        Action::Logs => follow_log(&places),
        Action::Run {
            step,
            fresh,
            seed,
            port,
            watch: false,
        } => run(&places, &step, fresh, seed, port, None).map(drop),
        Action::Run {
            step,
            fresh,
            seed,
            port,
            watch: true,
        } => {
            // Caught from now on: Ctrl-C must stop the server too, which
            // runs in a process group of its own and would not see it.
            watch::catch_ctrl_c();
            let started = run(&places, &step, fresh, seed, port, Some(std::process::id()))?;
            let step = started.step.name.clone();
            watch::watch(&places, started).map_err(|why| {
                format!(
                    "{why}\n(watching stopped; {step} still runs: scripts/switch stop stops it)"
                )
            })
        }
    }
}

fn parse(args: Vec<String>) -> Result<Action, String> {
    let mut words = Vec::new();
    let (mut fresh, mut seed, mut watch, mut port) = (false, false, false, DEFAULT_PORT);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Action::Help),
            "--fresh" => fresh = true,
            "--seed" => seed = true,
            "--watch" | "-w" => watch = true,
            "--port" | "-p" => {
                let value = match inline {
                    Some(value) => value.to_string(),
                    None => args
                        .next()
                        .ok_or("--port needs a number, e.g. --port 5002")?,
                };
                port = value.parse().ok().filter(|&port| port != 0).ok_or(format!(
                    "--port takes a number from 1 to 65535, not {value:?}"
                ))?;
            }
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other:?}\n\n{USAGE}"));
            }
            _ => words.push(arg),
        }
    }
    match words.as_slice() {
        [] if fresh || seed || watch => Err(
            "--fresh, --seed and --watch need a step, e.g. scripts/switch 04 --watch".to_string(),
        ),
        [] => Ok(Action::List),
        [word] if watch && (word == "stop" || word == "logs") => {
            Err(format!("--watch goes with a step, not with {word}"))
        }
        [word] if word == "stop" => Ok(Action::Stop),
        [word] if word == "logs" => Ok(Action::Logs),
        [step] => Ok(Action::Run {
            step: step.clone(),
            fresh,
            seed,
            port,
            watch,
        }),
        _ => Err(format!("one step at a time, please\n\n{USAGE}")),
    }
}

// ------------------------------------------------------------- the places

/// Where things are: the sources (the workspace) and the run-time files.
pub(crate) struct Places {
    /// The workspace: the steps' sources; cargo runs here.
    pub(crate) root: PathBuf,
    /// Holds `.switch/` and the databases (`steps/<step>/instance/chat.db`).
    /// The workspace too, unless `XTASK_RUN_DIR` says otherwise: the tests
    /// point it at a temporary folder so that they never touch a learner's
    /// databases or server.
    run: PathBuf,
}

impl Places {
    fn new() -> Places {
        let root = steps::workspace_root();
        let run = std::env::var_os("XTASK_RUN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.clone());
        Places { root, run }
    }

    fn state_file(&self) -> PathBuf {
        self.run.join(".switch").join("server.json")
    }

    pub(crate) fn log_file(&self) -> PathBuf {
        self.run.join(".switch").join("server.log")
    }

    /// Where the copies of the binaries the servers run are.
    fn bin_dir(&self) -> PathBuf {
        self.run.join(".switch").join("bin")
    }

    /// The step's own database: what the step uses by default, `cargo run -p s04`.
    fn database(&self, step: &str) -> PathBuf {
        self.run
            .join("steps")
            .join(step)
            .join("instance")
            .join("chat.db")
    }

    /// A path as the learner reads it: relative to the workspace when inside it.
    pub(crate) fn shown(&self, path: &Path) -> String {
        let shown = path.strip_prefix(&self.root).unwrap_or(path);
        shown.display().to_string()
    }
}

// ------------------------------------------------------------- the server

/// The server `switch` started, as recorded in `.switch/server.json`.
pub(crate) struct Server {
    pub(crate) pid: u32,
    pub(crate) step: String,
    pub(crate) port: u16,
    pub(crate) binary: PathBuf,
    pub(crate) database: PathBuf,
    /// The process of the `switch --watch` that restarts it, if one does.
    pub(crate) watcher: Option<u32>,
}

impl Server {
    /// The server that `switch` started and that still runs, if any. Only
    /// reads: `switch logs` calls it four times a second while another
    /// `switch` may be writing a new record, so removing a record is left to
    /// the commands that write it (`run`, `stop`).
    pub(crate) fn running(places: &Places) -> Option<Server> {
        Server::recorded(places).filter(Server::runs)
    }

    /// The record as it is, whether its server still runs or not.
    pub(crate) fn recorded(places: &Places) -> Option<Server> {
        let text = fs::read_to_string(places.state_file()).ok()?;
        Server::from_json(&serde_json::from_str::<Value>(&text).ok()?)
    }

    /// Does its process still run its binary?
    pub(crate) fn runs(&self) -> bool {
        process::runs(self.pid, &self.binary)
    }

    /// Removes the record, and the copies of binaries no server runs any more.
    pub(crate) fn forget(places: &Places) {
        let _ = fs::remove_file(places.state_file());
        remove_old_copies(places, None);
    }

    fn from_json(v: &Value) -> Option<Server> {
        Some(Server {
            pid: v["pid"].as_u64()?.try_into().ok()?,
            step: v["step"].as_str()?.to_string(),
            port: v["port"].as_u64()?.try_into().ok()?,
            binary: v["binary"].as_str()?.into(),
            database: v["database"].as_str()?.into(),
            watcher: v["watcher"].as_u64().and_then(|pid| pid.try_into().ok()),
        })
    }

    fn save(&self, places: &Places) -> Result<(), String> {
        let mut record = json!({
            "pid": self.pid,
            "step": self.step,
            "port": self.port,
            "binary": self.binary,
            "database": self.database,
        });
        if let Some(watcher) = self.watcher {
            record["watcher"] = watcher.into();
        }
        // Written beside it, then renamed over it: a reader sees the old
        // record or the new one, never a missing or half-written file.
        let path = places.state_file();
        let temporary = path.with_extension(format!("json.{}.tmp", std::process::id()));
        fs::write(&temporary, format!("{record:#}\n"))
            .and_then(|()| fs::rename(&temporary, &path))
            .map_err(|e| {
                let _ = fs::remove_file(&temporary);
                format!("cannot write {}: {e}", path.display())
            })
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the process; the record stays until it is replaced or forgotten.
    pub(crate) fn stop(&self) -> Result<(), String> {
        process::stop(self.pid, &self.binary)
    }
}

// ---------------------------------------------------------- the commands

/// `switch`: the steps, their titles, and which one runs.
fn list(places: &Places) -> Result<(), String> {
    let steps = steps::all(&places.root)?;
    let running = Server::running(places);
    println!("The tutorial's steps (* = running):");
    for step in &steps {
        let mark = match &running {
            Some(server) if server.step == step.name => "*",
            _ => " ",
        };
        println!("{mark} {:<5} {}", step.name, step.title());
    }
    match running {
        Some(server) => println!(
            "\n{} runs on {}  (scripts/switch stop stops it)",
            server.step,
            server.url()
        ),
        None => println!("\nNo step is running. Start one with: scripts/switch 04"),
    }
    Ok(())
}

/// `switch stop`
fn stop(places: &Places) -> Result<(), String> {
    match Server::running(places) {
        Some(server) => {
            server.stop()?;
            Server::forget(places);
            println!("stopped {} (process {})", server.step, server.pid);
        }
        None => {
            // A record left by a server that died is cleared here.
            Server::forget(places);
            println!("no step is running");
        }
    }
    Ok(())
}

/// What `switch 04` started: `switch 04 --watch` goes on from there.
pub(crate) struct Started {
    pub(crate) step: Step,
    pub(crate) server: Server,
    /// The binary cargo built, whose copy the server runs.
    pub(crate) built: PathBuf,
    /// The server's process, whose exit status `switch --watch` collects.
    pub(crate) child: Child,
}

/// `switch 04`: build, stop the old server, start the new one, wait for it.
/// What usually fails (a typo in the step, a busy port, a compile error) is
/// checked before anything is changed, and leaves the running server as it was.
/// `watcher`: the process of the `switch --watch` that will restart it, if any.
fn run(
    places: &Places,
    wanted: &str,
    fresh: bool,
    seed: bool,
    port: u16,
    watcher: Option<u32>,
) -> Result<Started, String> {
    let steps = steps::all(&places.root)?;
    let step = steps::find(&steps, wanted)?;
    let running = Server::running(places);
    let unchanged = match &running {
        Some(old) => format!("{} still runs on {}", old.step, old.url()),
        None => "nothing was started".to_string(),
    };

    // 1. The port must be free, or be the one of the server we are replacing.
    let port_is_ours = running.as_ref().is_some_and(|old| old.port == port);
    if !port_is_ours && port_is_taken(port) {
        return Err(format!(
            "port {port} is already in use by another program ({unchanged}).\n\
             Stop that program, or pick another port: scripts/switch {} --port {}\n\
             (to see which program it is: `lsof -i :{port}` on macOS and Linux, \
             `netstat -ano | findstr :{port}` on Windows)",
            step.name,
            port.checked_add(1).unwrap_or(DEFAULT_PORT + 1),
        ));
    }

    // 2. Build before stopping anything: a compile error keeps the old server.
    // The server runs a copy of the binary, so cargo may rebuild a step that
    // runs, even on Windows, where a running .exe cannot be replaced.
    eprintln!("building {} ...", step.name);
    let built = build(places, step).map_err(|why| format!("{why}\n({unchanged})"))?;
    let binary =
        copy_binary(places, step, &built).map_err(|why| format!("{why}\n({unchanged})"))?;

    // 3. Stop the old server, scratch the database if asked, start the new one.
    // Its record stays until the new one replaces it (or `start` fails).
    if let Some(old) = &running {
        old.stop()?;
    }
    let database = places.database(&step.name);
    if fresh {
        remove_database(&database)?;
    }
    let existed = database.exists();
    let (server, child) = start(places, step, &binary, &database, port, watcher)
        .inspect_err(|_| remove_old_copies(places, None))?;
    // A step that uses a database has opened (or created) it before answering.
    let database_note = match (existed, database.exists()) {
        (true, _) => "",
        (false, true) => "  (new)",
        (false, false) => "  (this step has no database yet)",
    };

    remove_old_copies(places, Some(&binary));

    // 4. Sample data, through the step's own API.
    let seeded = seed.then(|| seed::sample_data(&step.name, &database, port));

    println!("{} runs in the background: {}", step.name, step.title());
    println!("  url       {}", server.url());
    println!("  database  {}{database_note}", places.shown(&database));
    println!(
        "  log       {}  (scripts/switch logs follows it)",
        places.shown(&places.log_file())
    );
    match seeded {
        Some(Ok(report)) => println!("  seeded    {report}"),
        Some(Err(why)) => return Err(format!("seeding failed: {why}")),
        None => {}
    }
    Ok(Started {
        step: step.clone(),
        server,
        built,
        child,
    })
}

/// Is something listening on `port`, or holding it?
fn port_is_taken(port: u16) -> bool {
    let address = ([127, 0, 0, 1], port).into();
    TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
        || TcpListener::bind(address).is_err()
}

/// `cargo build -p s04`, showing cargo's messages; answers the binary's path.
pub(crate) fn build(places: &Places, step: &Step) -> Result<PathBuf, String> {
    // `cargo run` tells the programs it runs which cargo it is.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .current_dir(&places.root)
        .args([
            "build",
            "--quiet",
            "--package",
            &step.name,
            "--bin",
            &step.name,
        ])
        // Errors and warnings still go to the terminal, as usual; the JSON
        // lines on stdout say where the binary is (target/debug/s04, .exe on Windows).
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cargo.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!(
            "{} does not build: cargo's messages are above",
            step.name
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == *step.name
        })
        .and_then(|artifact| artifact["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| {
            format!(
                "cargo built {} but did not say where its binary is",
                step.name
            )
        })
}

/// Copies the binary cargo built to `.switch/bin/<step>-<n>` (`.exe` on
/// Windows), a new name each time: the copy a server runs cannot be replaced.
pub(crate) fn copy_binary(places: &Places, step: &Step, built: &Path) -> Result<PathBuf, String> {
    let folder = places.bin_dir();
    fs::create_dir_all(&folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.as_millis())
        .unwrap_or_default();
    let mut copy = folder.join(format!("{}-{stamp}", step.name));
    if let Some(extension) = built.extension() {
        copy.set_extension(extension);
    }
    fs::copy(built, &copy)
        .map_err(|e| format!("cannot copy {} to {}: {e}", built.display(), copy.display()))?;
    Ok(copy)
}

/// Removes the copies in `.switch/bin/` but `keep`. A copy that still runs
/// cannot be removed on Windows: it is tried again at the next switch.
pub(crate) fn remove_old_copies(places: &Places, keep: Option<&Path>) {
    let Ok(entries) = fs::read_dir(places.bin_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        if keep != Some(entry.path().as_path()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// `rm -f instance/chat.db`, with SQLite's two side files.
fn remove_database(database: &Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        match fs::remove_file(&name) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(format!("cannot remove {}: {e}", Path::new(&name).display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Starts the step's binary in the background and waits until it answers.
/// When it does not, its record and `binary` are removed (other copies are
/// kept: `switch --watch` starts the previous one again). The `Child` is for
/// `switch --watch`, which outlives the servers it starts and must collect
/// their exit status.
pub(crate) fn start(
    places: &Places,
    step: &Step,
    binary: &Path,
    database: &Path,
    port: u16,
    watcher: Option<u32>,
) -> Result<(Server, Child), String> {
    let log_path = places.log_file();
    if let Some(folder) = log_path.parent() {
        fs::create_dir_all(folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    }
    let log = File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let port_text = port.to_string();
    let args = [
        OsStr::new("--port"),
        OsStr::new(&port_text),
        OsStr::new("--db"),
        database.as_os_str(),
    ];
    let mut child = process::spawn_detached(binary, &args, &log)
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let server = Server {
        pid: child.id(),
        step: step.name.clone(),
        port,
        binary: binary.to_path_buf(),
        database: database.to_path_buf(),
        watcher,
    };
    // Recorded at once, so that `switch stop` finds it even if we are interrupted.
    server.save(places)?;

    if let Err(why) = wait_until_it_answers(&mut child, port) {
        let _ = child.kill();
        let _ = child.wait();
        let _ = fs::remove_file(places.state_file());
        let _ = fs::remove_file(binary);
        let log = fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "{} did not start: {why}. The end of its log ({}):\n{}",
            step.name,
            places.shown(&log_path),
            tail.join("\n")
        ));
    }
    Ok((server, child))
}

/// Polls `GET /` (every step answers something there) until an answer comes.
fn wait_until_it_answers(child: &mut Child, port: u16) -> Result<(), String> {
    let http = agent(Duration::from_secs(2));
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it stopped at once ({status})"));
        }
        if http.get(&url).call().is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "it did not answer within {} s",
                START_TIMEOUT.as_secs()
            ));
        }
        // Often enough that a restart under `--watch` loses no time here.
        sleep(Duration::from_millis(20));
    }
}

/// An HTTP client that reports every status as an answer, not as an error.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .new_agent()
}

/// `switch logs`: prints the log as it grows, like `tail -f`, and goes on
/// with the next step's log after a switch.
fn follow_log(places: &Places) -> Result<(), String> {
    let path = places.log_file();
    if !path.exists() {
        return Err("no log yet: start a step first, e.g. scripts/switch 04".to_string());
    }
    eprintln!(
        "following {} (Ctrl-C stops following; the server keeps running)",
        places.shown(&path)
    );
    let running = || Server::running(places).map(|server| (server.pid, server.step));
    let mut following = running();
    // Start with the last lines, as `tail -f` does.
    let text = fs::read_to_string(&path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    println!("{}", lines[lines.len().saturating_sub(20)..].join("\n"));
    let mut position = text.len() as u64;
    loop {
        sleep(Duration::from_millis(250));
        let length = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        // After a switch the new server writes a new log: read it from the start.
        let now = running();
        if length < position || (now.is_some() && now != following) {
            if let Some((_, step)) = &now {
                println!("---- now {step} ----");
            }
            position = 0;
            following = now;
        }
        if length > position
            && let Ok(mut file) = File::open(&path)
        {
            let mut new = Vec::new();
            if file.seek(SeekFrom::Start(position)).is_ok()
                && file.take(length - position).read_to_end(&mut new).is_ok()
            {
                position += new.len() as u64;
                let mut out = std::io::stdout();
                let _ = out.write_all(&new);
                let _ = out.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_command_line_is_understood() {
        assert_eq!(parse(args("")), Ok(Action::List));
        assert_eq!(parse(args("stop")), Ok(Action::Stop));
        assert_eq!(parse(args("logs")), Ok(Action::Logs));
        assert_eq!(
            parse(args("04 --fresh --port=5002")),
            Ok(Action::Run {
                step: "04".into(),
                fresh: true,
                seed: false,
                port: 5002,
                watch: false,
            })
        );
        assert_eq!(
            parse(args("--seed s04")),
            Ok(Action::Run {
                step: "s04".into(),
                fresh: false,
                seed: true,
                port: 5001,
                watch: false,
            })
        );
        assert_eq!(
            parse(args("07 --watch")),
            Ok(Action::Run {
                step: "07".into(),
                fresh: false,
                seed: false,
                port: 5001,
                watch: true,
            })
        );
    }

    #[test]
    fn a_bad_command_line_is_explained() {
        assert!(parse(args("04 --port x")).unwrap_err().contains("--port"));
        assert!(parse(args("04 --port 0")).unwrap_err().contains("--port"));
        assert!(parse(args("04 --port")).unwrap_err().contains("--port"));
        assert!(parse(args("--fresh")).unwrap_err().contains("need a step"));
        assert!(parse(args("--watch")).unwrap_err().contains("need a step"));
        assert!(parse(args("stop --watch")).unwrap_err().contains("--watch"));
        assert!(parse(args("03 04")).unwrap_err().contains("one step"));
        assert!(parse(args("04 --fast")).unwrap_err().contains("--fast"));
    }
}
