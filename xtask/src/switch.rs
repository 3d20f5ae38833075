//! `scripts/switch 04`: one server in the background, moved from step to step
//! with one command, each step keeping its own database.
//!
//! The class's server is recorded in `.switch/server.json` (its PID, step,
//! port, binary, and the class's choices: the port and `--seed`, which the
//! next switch keeps); its output goes to `.switch/server.log`. A server of
//! its own beside it (a `--watch` on another port, an exercise's copy run by
//! `scripts/exercise run --watch`) has `.switch/server-<port>.json` and
//! `.switch/server-<port>.log`: a switch moves only the server on its port.
//! A server runs a copy of the step's binary, in `.switch/bin/` (a server of
//! its own: `.switch/bin/<port>/`), so that cargo can rebuild the step while
//! it runs (Windows will not replace a running `.exe`). With `--watch`,
//! `switch` then stays in the foreground and rebuilds and restarts the step
//! when its files change (see watch.rs). `switch reset` is in reset.rs.
//! Step 23, three instances behind nginx, is in instances.rs.

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

use crate::instances::{self, BehindNginx};
use crate::steps::{self, Step};
use crate::{process, reset, seed, watch};

pub const USAGE: &str = "\
usage: scripts/switch [STEP] [--port N] [--seed | --no-seed] [--fresh] [--watch]
       scripts/switch stop [--port N] | logs [--port N]
       scripts/switch reset [--seed] | reset --undo

  scripts/switch          list the steps, marking the one running
  scripts/switch 04       build step 04 (also: s04, 4) and run it in the background
                          instead of the step running before, on the same port
    --port N              listen on port N (5001 unless a switch said otherwise);
                          the next switches keep it
    --seed                load the tutorial's sample users (and messages, once
                          the step has them) through the step's API, into
                          tables that are still empty; the next switches keep
                          seeding, until --no-seed
    --no-seed             stop seeding
    --fresh               start that step with an empty database (this once)
    --watch               then stay in the foreground: each time a file of the
                          step's src/, static/ or its Cargo.toml is saved,
                          rebuild it and restart it (same port, same database).
                          On the class's port it takes over the class's server,
                          and Ctrl-C leaves that server running; on another
                          port (--port N) it is a server of its own beside the
                          class's, which Ctrl-C stops.
  scripts/switch stop     stop the class's server (--port N: the server on port N)
  scripts/switch logs     follow its log (Ctrl-C stops following, not the server);
                          step 23's three instances: all three logs, each line
                          marked with its instance's port
  scripts/switch reset    empty every step's database (each kept once as
                          chat.db.previous) and restart the servers using one
    --seed                then load the sample data into each
    --undo                put back the databases the last reset moved aside

Each step keeps its own database in steps/<step>/instance/chat.db; from
step 22 on, it is the PostgreSQL of scripts/services up. Step 23 runs as
three instances (5011, 5012, 5013) behind that nginx: open http://127.0.0.1:5010.
";

/// How long a step may take to answer its first request after it started.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Action {
    List,
    Stop { port: Option<u16> },
    Logs { port: Option<u16> },
    Reset { seed: bool, undo: bool },
    Run(Wanted),
    Help,
}

/// `switch 04 ...`: what was asked; what was not asked is kept from the
/// server it replaces.
#[derive(Debug, PartialEq)]
struct Wanted {
    step: String,
    port: Option<u16>,
    /// `--seed` (true), `--no-seed` (false), or as before (None).
    seed: Option<bool>,
    fresh: bool,
    watch: bool,
}

pub fn main(args: Vec<String>) -> Result<(), String> {
    let places = Places::new();
    match parse(args)? {
        Action::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Action::List => list(&places),
        Action::Stop { port } => stop(&places, port),
        Action::Logs { port } => follow_log(&places, port),
        Action::Reset { seed, undo: false } => reset::reset(&places, seed),
        Action::Reset { undo: true, .. } => reset::undo(&places),
        Action::Run(wanted) if !wanted.watch => run(&places, &wanted, None).map(drop),
        Action::Run(wanted) => {
            // Caught from now on: Ctrl-C must stop the server too, which
            // runs in a process group of its own and would not see it.
            watch::catch_ctrl_c();
            let started = run(&places, &wanted, Some(std::process::id()))?;
            let step = started.step.name.clone();
            watch::watch(&places, started, true).map_err(|why| {
                format!(
                    "{why}\n(watching stopped; {step} still runs: scripts/switch stop stops it)"
                )
            })
        }
    }
}

fn parse(args: Vec<String>) -> Result<Action, String> {
    let mut words = Vec::new();
    let (mut fresh, mut watch, mut undo) = (false, false, false);
    let (mut seed, mut port) = (None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Action::Help),
            "--fresh" => fresh = true,
            "--seed" | "--no-seed" => {
                let asked = flag == "--seed";
                if seed == Some(!asked) {
                    return Err("--seed or --no-seed, not both".to_string());
                }
                seed = Some(asked);
            }
            "--watch" | "-w" => watch = true,
            "--undo" => undo = true,
            "--port" | "-p" => port = Some(port_option(inline, &mut args)?),
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other:?}\n\n{USAGE}"));
            }
            _ => words.push(arg),
        }
    }
    let command = words.first().map(String::as_str);
    if undo && command != Some("reset") {
        return Err("--undo goes with reset: scripts/switch reset --undo".to_string());
    }
    match (command, words.len()) {
        (None, _) if fresh || seed.is_some() || watch || port.is_some() => Err(
            "--fresh, --seed, --port and --watch need a step, e.g. scripts/switch 04 --watch"
                .to_string(),
        ),
        (None, _) => Ok(Action::List),
        (Some(word @ ("stop" | "logs")), 1) => {
            if fresh || seed.is_some() || watch {
                return Err(format!("{word} takes only --port N"));
            }
            Ok(if word == "stop" {
                Action::Stop { port }
            } else {
                Action::Logs { port }
            })
        }
        (Some("reset"), 1) => {
            if fresh || watch || port.is_some() || seed == Some(false) {
                return Err("reset takes only --seed, or --undo".to_string());
            }
            if undo && seed.is_some() {
                return Err("reset --undo puts the databases back as they were: \
                            no --seed with it"
                    .to_string());
            }
            Ok(Action::Reset {
                seed: seed == Some(true),
                undo,
            })
        }
        (Some(step), 1) => Ok(Action::Run(Wanted {
            step: step.to_string(),
            port,
            seed,
            fresh,
            watch,
        })),
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

/// Which server a record is about.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Slot {
    /// The class's server, which `scripts/switch 04` moves from step to step.
    Class,
    /// A server of its own on this port, beside the class's: a `--watch` on
    /// another port, an exercise's copy.
    Own(u16),
}

impl Places {
    pub(crate) fn new() -> Places {
        let root = steps::workspace_root();
        let run = std::env::var_os("XTASK_RUN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.clone());
        Places { root, run }
    }

    fn folder(&self) -> PathBuf {
        self.run.join(".switch")
    }

    fn record_file(&self, slot: Slot) -> PathBuf {
        match slot {
            Slot::Class => self.folder().join("server.json"),
            Slot::Own(port) => self.folder().join(format!("server-{port}.json")),
        }
    }

    pub(crate) fn log_file(&self, slot: Slot) -> PathBuf {
        match slot {
            Slot::Class => self.folder().join("server.log"),
            Slot::Own(port) => self.folder().join(format!("server-{port}.log")),
        }
    }

    /// The log of the class's instance on `port` (step 23 on).
    pub(crate) fn instance_log(&self, port: u16) -> PathBuf {
        self.folder().join(format!("instance-{port}.log"))
    }

    /// The run folder of `scripts/services` (PostgreSQL, Redis, nginx).
    #[cfg(unix)]
    pub(crate) fn services(&self) -> shared::services::Folder {
        shared::services::Folder::new(self.run.join(".services"))
    }

    /// Where the copies of the binaries a slot's servers run are.
    fn bin_dir(&self, slot: Slot) -> PathBuf {
        match slot {
            Slot::Class => self.folder().join("bin"),
            Slot::Own(port) => self.folder().join("bin").join(port.to_string()),
        }
    }

    /// The step's own database: what the step uses by default, `cargo run -p s04`.
    pub(crate) fn database(&self, step: &str) -> PathBuf {
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

/// A server `switch` started, as recorded in `.switch/server.json` (the
/// class's) or `.switch/server-<port>.json` (one of its own).
#[derive(Clone)]
pub(crate) struct Server {
    /// Which record: where it is read from and written to.
    pub(crate) slot: Slot,
    pub(crate) pid: u32,
    pub(crate) step: String,
    pub(crate) port: u16,
    pub(crate) binary: PathBuf,
    pub(crate) database: PathBuf,
    /// The process of the `switch --watch` that restarts it, if one does.
    pub(crate) watcher: Option<u32>,
    /// `--seed`: the choice the next switch on this slot keeps.
    pub(crate) seed: bool,
    /// An exercise's copy (`scripts/exercise run`), not a step: a switch
    /// does not replace it.
    pub(crate) exercise: bool,
    /// Step 23 on: several instances behind nginx (`pid` is the first's;
    /// `port` is the class's, kept for the next switches).
    pub(crate) behind_nginx: Option<BehindNginx>,
}

impl Server {
    /// The server of `slot` if it still runs. Only reads: `switch logs`
    /// calls it four times a second while another `switch` may be writing a
    /// new record, so removing a record is left to the commands that write
    /// it (`run`, `stop`, `reset`).
    pub(crate) fn running(places: &Places, slot: Slot) -> Option<Server> {
        Server::recorded(places, slot).filter(Server::runs)
    }

    /// The record of `slot` as it is, whether its server still runs or not.
    pub(crate) fn recorded(places: &Places, slot: Slot) -> Option<Server> {
        let text = fs::read_to_string(places.record_file(slot)).ok()?;
        Server::from_json(&serde_json::from_str::<Value>(&text).ok()?, slot)
    }

    /// Every record: the class's first, then the others by port.
    pub(crate) fn all(places: &Places) -> Vec<Server> {
        let mut ports: Vec<u16> = fs::read_dir(places.folder())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                name.strip_prefix("server-")?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()
            })
            .collect();
        ports.sort_unstable();
        std::iter::once(Slot::Class)
            .chain(ports.into_iter().map(Slot::Own))
            .filter_map(|slot| Server::recorded(places, slot))
            .collect()
    }

    /// The server that runs on `port`, if `switch` started one.
    fn on_port(places: &Places, port: u16) -> Option<Server> {
        Server::all(places)
            .into_iter()
            .find(|server| server.listens_on(port) && server.runs())
    }

    /// Is `port` its own (one of its instances', behind nginx)?
    pub(crate) fn listens_on(&self, port: u16) -> bool {
        match &self.behind_nginx {
            Some(behind) => behind.instances.iter().any(|i| i.port == port),
            None => self.port == port,
        }
    }

    /// Does its process (one of its instances) still run its binary?
    pub(crate) fn runs(&self) -> bool {
        match &self.behind_nginx {
            Some(behind) => !behind.running(&self.binary).is_empty(),
            None => process::runs(self.pid, &self.binary),
        }
    }

    /// Removes the record of `slot`, and the copies of binaries it ran.
    pub(crate) fn forget(places: &Places, slot: Slot) {
        let _ = fs::remove_file(places.record_file(slot));
        remove_old_copies(places, slot, None);
    }

    fn from_json(v: &Value, slot: Slot) -> Option<Server> {
        Some(Server {
            slot,
            pid: v["pid"].as_u64()?.try_into().ok()?,
            step: v["step"].as_str()?.to_string(),
            port: v["port"].as_u64()?.try_into().ok()?,
            binary: v["binary"].as_str()?.into(),
            database: v["database"].as_str()?.into(),
            watcher: v["watcher"].as_u64().and_then(|pid| pid.try_into().ok()),
            seed: v["seed"].as_bool().unwrap_or(false),
            exercise: v["exercise"].as_bool().unwrap_or(false),
            behind_nginx: BehindNginx::from_json(&v["behind_nginx"]),
        })
    }

    pub(crate) fn save(&self, places: &Places) -> Result<(), String> {
        let mut record = json!({
            "pid": self.pid,
            "step": self.step,
            "port": self.port,
            "binary": self.binary,
            "database": self.database,
            "seed": self.seed,
        });
        if let Some(watcher) = self.watcher {
            record["watcher"] = watcher.into();
        }
        if self.exercise {
            record["exercise"] = true.into();
        }
        if let Some(behind) = &self.behind_nginx {
            record["behind_nginx"] = behind.to_json();
        }
        // Written beside it, then renamed over it: a reader sees the old
        // record or the new one, never a missing or half-written file.
        let path = places.record_file(self.slot);
        let temporary = path.with_extension(format!("json.{}.tmp", std::process::id()));
        fs::write(&temporary, format!("{record:#}\n"))
            .and_then(|()| fs::rename(&temporary, &path))
            .map_err(|e| {
                let _ = fs::remove_file(&temporary);
                format!("cannot write {}: {e}", path.display())
            })
    }

    /// Where the class opens it: nginx's address for instances behind it.
    pub(crate) fn url(&self) -> String {
        let port = self.behind_nginx.as_ref().map_or(self.port, |b| b.nginx);
        format!("http://127.0.0.1:{port}")
    }

    /// How a learner stops it.
    pub(crate) fn stop_command(&self) -> String {
        match self.slot {
            Slot::Class => "scripts/switch stop".to_string(),
            Slot::Own(port) => format!("scripts/switch stop --port {port}"),
        }
    }

    /// "s14 on port 5722 (watched)", for messages.
    pub(crate) fn described(&self) -> String {
        if let Some(behind) = &self.behind_nginx {
            return format!(
                "{} on port {} (instances on {} behind nginx)",
                self.step,
                behind.nginx,
                behind.ports()
            );
        }
        let what = match (self.exercise, self.watcher.is_some()) {
            (true, _) => ", an exercise's copy",
            (false, true) => ", watched",
            (false, false) => "",
        };
        format!("{} on port {}{what}", self.step, self.port)
    }

    /// Stops the process (all its instances); the record stays until it is
    /// replaced or forgotten.
    pub(crate) fn stop(&self) -> Result<(), String> {
        match &self.behind_nginx {
            Some(behind) => behind.stop(&self.binary),
            None => process::stop(self.pid, &self.binary),
        }
    }
}

/// `04` for `s04`: how steps are written on the scripts' command lines.
pub(crate) fn short(step: &str) -> &str {
    step.strip_prefix('s').unwrap_or(step)
}

// ---------------------------------------------------------- the commands

/// `switch`: the steps, their titles, and which ones run.
fn list(places: &Places) -> Result<(), String> {
    let steps = steps::all(&places.root)?;
    let running: Vec<Server> = Server::all(places)
        .into_iter()
        .filter(Server::runs)
        .collect();
    println!("The tutorial's steps (* = the class's server runs it, + = another server):");
    for step in &steps {
        let mark = match running.iter().find(|server| server.step == step.name) {
            Some(server) if server.slot == Slot::Class => "*",
            Some(_) => "+",
            None => " ",
        };
        println!("{mark} {:<5} {}", step.name, step.title());
    }
    println!();
    if running.is_empty() {
        println!("No step is running. Start one with: scripts/switch 04");
    }
    for server in &running {
        let role = match (server.slot, server.exercise) {
            (Slot::Class, _) => "the class's server",
            (Slot::Own(_), true) => "an exercise's copy, a server of its own",
            (Slot::Own(_), false) => "a server of its own",
        };
        let watched = if server.watcher.is_some() {
            ", watched"
        } else {
            ""
        };
        let seeded = if server.seed { ", seeded" } else { "" };
        let instances = match &server.behind_nginx {
            Some(behind) => {
                let running = behind.running(&server.binary);
                let down: Vec<String> = behind
                    .instances
                    .iter()
                    .filter(|i| !running.contains(i))
                    .map(|i| format!("; {} is down", i.port))
                    .collect();
                format!(
                    ", instances on {} behind nginx{}",
                    behind.ports(),
                    down.concat()
                )
            }
            None => String::new(),
        };
        println!(
            "{} runs on {}: {role}{instances}{watched}{seeded}  ({} stops it)",
            server.step,
            server.url(),
            server.stop_command()
        );
    }
    Ok(())
}

/// The slot that `--port N` names for `stop` and `logs`: a server of its
/// own on that port, or the class's if it is there.
fn slot_of(places: &Places, port: Option<u16>) -> Slot {
    match port {
        None => Slot::Class,
        Some(port) if Server::recorded(places, Slot::Own(port)).is_some() => Slot::Own(port),
        Some(port) if Server::recorded(places, Slot::Class).is_some_and(|s| s.port == port) => {
            Slot::Class
        }
        Some(port) => Slot::Own(port),
    }
}

/// `switch stop [--port N]`: the class's server, or the one on port N, and
/// nothing else.
fn stop(places: &Places, port: Option<u16>) -> Result<(), String> {
    let slot = slot_of(places, port);
    match Server::running(places, slot) {
        Some(server) => {
            server.stop()?;
            Server::forget(places, slot);
            let processes = match &server.behind_nginx {
                Some(behind) => {
                    let pids: Vec<String> =
                        behind.instances.iter().map(|i| i.pid.to_string()).collect();
                    format!("processes {}", pids.join(", "))
                }
                None => format!("process {}", server.pid),
            };
            println!("stopped {} ({processes})", server.described());
        }
        None => {
            // A record left by a server that died is cleared here.
            Server::forget(places, slot);
            match port {
                Some(port) => println!("no step is running on port {port}"),
                None => println!("no step is running"),
            }
        }
    }
    // The others go on: say so, and how to stop them.
    for other in Server::all(places).iter().filter(|s| s.runs()) {
        println!(
            "{} goes on ({} stops it)",
            other.described(),
            other.stop_command()
        );
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
    /// A server ran on that slot before and was replaced: a watch then
    /// leaves the class a server when it ends.
    pub(crate) took_over: bool,
}

/// Which record `switch 04` writes. Without `--port` it is the class's
/// server. `--port N` names a server of its own that runs on N, if there is
/// one (a switch moves only the server on its port); with `--watch`, a
/// port other than the running class server's starts a server of its own;
/// otherwise it is the class's server, moved to port N.
fn slot_for(places: &Places, wanted: &Wanted) -> Slot {
    let Some(port) = wanted.port else {
        return Slot::Class;
    };
    if Server::running(places, Slot::Own(port)).is_some() {
        return Slot::Own(port);
    }
    if wanted.watch && Server::running(places, Slot::Class).is_some_and(|class| class.port != port)
    {
        return Slot::Own(port);
    }
    Slot::Class
}

/// `switch 04`: build, stop the old server, start the new one, wait for it.
/// What usually fails (a typo in the step, a busy port, a compile error) is
/// checked before anything is changed, and leaves the running server as it was.
/// `watcher`: the process of the `switch --watch` that will restart it, if any.
fn run(places: &Places, wanted: &Wanted, watcher: Option<u32>) -> Result<Started, String> {
    let steps = steps::all(&places.root)?;
    let step = steps::find(&steps, &wanted.step)?;
    let slot = slot_for(places, wanted);
    let class = Server::recorded(places, Slot::Class);
    let before = Server::recorded(places, slot);
    let running = before.clone().filter(Server::runs);
    if let Some(exercise) = running.as_ref().filter(|server| server.exercise) {
        return Err(format!(
            "port {} serves {}, an exercise's copy (scripts/exercise run in another \
             terminal): Ctrl-C there first, or pick another port",
            exercise.port, exercise.step
        ));
    }
    // What was not asked is kept: the port and the seeding of the server
    // replaced. A server of its own starts with the class's seeding.
    let port = wanted
        .port
        .or(before.as_ref().map(|server| server.port))
        .unwrap_or(DEFAULT_PORT);
    let seed = wanted
        .seed
        .or(before.as_ref().map(|server| server.seed))
        .or(class.as_ref().map(|server| server.seed))
        .unwrap_or(false);
    let unchanged = match &running {
        Some(old) => format!("{} still runs on {}", old.step, old.url()),
        None => "nothing was started".to_string(),
    };
    // From step 23: instances behind the nginx of `scripts/services up`.
    let behind = match instances::redis_step(step) {
        false => None,
        true if wanted.watch || slot != Slot::Class => {
            return Err(format!(
                "{} runs as the class's instances behind nginx: no --watch, and no                  server of its own on --port ({unchanged})",
                step.name
            ));
        }
        true => Some(
            instances::services(places, &step.name)
                .map_err(|why| format!("{why} ({unchanged})"))?,
        ),
    };

    // 1. The port must be free, or be the one of the server we are replacing.
    // Behind nginx, the instances' ports; the class's port waits.
    let port_is_ours = running.as_ref().is_some_and(|old| old.listens_on(port));
    if let Some(services) = &behind {
        instances::check_ports(services, running.as_ref(), &unchanged)?;
    } else if !port_is_ours && port_is_taken(port) {
        let user = port_user(places, port);
        return Err(format!(
            "port {port} is already in use by {user} ({unchanged}).\n\
             Stop that program, or pick another port: scripts/switch {} --port {}\n\
             (to see which program it is: `lsof -i :{port}` on macOS and Linux, \
             `netstat -ano | findstr :{port}` on Windows)",
            short(&step.name),
            port.checked_add(1).unwrap_or(DEFAULT_PORT + 1),
        ));
    }
    // From step 22 the data is in PostgreSQL, `scripts/services up`'s.
    let database = match (postgres_step(step), &behind) {
        (_, Some(services)) => PathBuf::from(&services.database_url),
        (true, None) => PathBuf::from(services_database_url(places).ok_or_else(|| {
            format!(
                "{} keeps its data in PostgreSQL, which does not run here: start it with \
                 `scripts/services up`, then switch again ({unchanged})",
                step.name
            )
        })?),
        (false, None) => places.database(&step.name),
    };
    if wanted.fresh && is_url(&database) {
        return Err(format!(
            "--fresh empties a SQLite step's file; {}'s data is in PostgreSQL \
             (`scripts/services down`, `rm -rf .services`, `scripts/services up` starts \
             it over) ({unchanged})",
            step.name
        ));
    }
    if wanted.fresh
        && let Some(other) = Server::all(places).into_iter().find(|other| {
            other.database == database
                && other.runs()
                && running.as_ref().is_none_or(|r| r.pid != other.pid)
        })
    {
        return Err(format!(
            "--fresh would delete the database that {} uses: stop it first ({}), \
             or leave out --fresh ({unchanged})",
            other.described(),
            other.stop_command()
        ));
    }

    // 2. Build before stopping anything: a compile error keeps the old server.
    // The server runs a copy of the binary, so cargo may rebuild a step that
    // runs, even on Windows, where a running .exe cannot be replaced.
    eprintln!("building {} ...", step.name);
    let built = build(step).map_err(|why| format!("{why}\n({unchanged})"))?;
    let binary =
        copy_binary(places, slot, step, &built).map_err(|why| format!("{why}\n({unchanged})"))?;

    // 3. Stop the old server, scratch the database if asked, start the new one.
    // Its record stays until the new one replaces it (or `start` fails).
    if let Some(old) = &running {
        old.stop()?;
    }
    if slot == Slot::Class
        && let Some(stale) = Server::recorded(places, Slot::Own(port))
        && !stale.runs()
    {
        // A record of a server of its own that is gone, on the port the
        // class moves to: the class's server is the one there now.
        Server::forget(places, stale.slot);
    }
    if wanted.fresh {
        remove_database(&database)?;
    }
    let existed = database.exists() || is_url(&database);
    let template = Server {
        slot,
        pid: 0,
        step: step.name.clone(),
        port,
        binary: binary.clone(),
        database: database.clone(),
        watcher,
        seed,
        exercise: false,
        behind_nginx: None,
    };
    let (server, child) = match &behind {
        Some(services) => instances::start(places, &template, services),
        None => start(places, &template),
    }
    .inspect_err(|_| remove_old_copies(places, slot, None))?;
    if let Some(behind) = &server.behind_nginx
        && let Err(why) = instances::wait_for_nginx(behind.nginx)
    {
        eprintln!("warning: {why}");
    }
    // A step that uses a database has opened (or created) it before answering.
    let database_note = match (existed, database.exists() || is_url(&database)) {
        (_, true) if wanted.fresh => "  (emptied: --fresh)",
        (true, _) => "",
        (false, true) => "  (new)",
        (false, false) => "  (this step has no database yet)",
    };
    remove_old_copies(places, slot, Some(&binary));

    // 4. Sample data, through the step's own API (behind nginx, the first
    // instance's: the others share its database).
    let seeded = seed.then(|| {
        let through = server
            .behind_nginx
            .as_ref()
            .map_or(port, |b| b.instances[0].port);
        seed::sample_data(&step.name, &database, through)
    });

    // 5. The summary: its first line says where, whether seeded, and what
    // changed since the step that ran before.
    let seeded_or_not = if seed { "seeded" } else { "not seeded" };
    let mut headline = match &server.behind_nginx {
        Some(behind) => format!(
            "{}: {} instances ({}) behind nginx: {}, {seeded_or_not}",
            step.name,
            count_in_words(behind.instances.len()),
            behind.ports(),
            server.url()
        ),
        None => format!("{} runs on port {port}, {seeded_or_not}", step.name),
    };
    if let Slot::Own(_) = slot
        && let Some(class) = Server::running(places, Slot::Class)
    {
        headline.push_str(&format!(
            ", a server of its own beside the class's ({} on port {})",
            class.step, class.port
        ));
    }
    match &before {
        Some(old) if old.step != step.name && !old.exercise => headline.push_str(&format!(
            "; since {}: scripts/diff {} {} --code",
            old.step,
            short(&old.step),
            short(&step.name)
        )),
        _ => {}
    }
    println!("{headline}");
    println!("  step      {}: {}", short(&step.name), step.title());
    println!("  url       {}", server.url());
    if let Some(behind) = &server.behind_nginx
        && behind.nginx != port
    {
        println!(
            "  port      {}: nginx's, not the class's {port}, which the next steps use again",
            behind.nginx
        );
    }
    println!("  database  {}{database_note}", places.shown(&database));
    if let Some(services) = &behind {
        println!("  redis     {}", services.redis_url);
    }
    match seeded {
        Some(Ok(report)) => println!("  seeded    {report}"),
        Some(Err(why)) => return Err(format!("seeding failed: {why}")),
        None => {}
    }
    let follow = match slot {
        Slot::Class => "scripts/switch logs".to_string(),
        Slot::Own(port) => format!("scripts/switch logs --port {port}"),
    };
    match &server.behind_nginx {
        Some(behind) => println!(
            "  logs      {}  ({follow} follows the {}, each line marked with its port)",
            places.shown(&places.folder().join("instance-<port>.log")),
            count_in_words(behind.instances.len())
        ),
        None => println!(
            "  log       {}  ({follow} follows it)",
            places.shown(&places.log_file(slot))
        ),
    }
    if slot == Slot::Class && (port != DEFAULT_PORT || seed) {
        let mut kept = format!("--port {port}");
        let mut change = format!("--port {DEFAULT_PORT}");
        if seed {
            kept.push_str(" --seed");
            change.push_str(", --no-seed");
        }
        println!("  kept      {kept} for the next switches ({change} to change)");
    }
    Ok(Started {
        step: step.clone(),
        server,
        built,
        child,
        took_over: running.is_some(),
    })
}

/// `scripts/exercise run --watch` (or `--seed`): a learner's copy of a step,
/// `step` (its crate, `exercises/work/<name>/`), served as `switch` serves a
/// step, on a port of its own with its own database, seeded if asked; then
/// in the foreground until Ctrl-C, rebuilt and restarted on each save when
/// `watch_files`.
pub(crate) fn serve_copy(
    step: &Step,
    database: &Path,
    port: u16,
    seed: bool,
    watch_files: bool,
) -> Result<(), String> {
    let places = Places::new();
    let slot = Slot::Own(port);
    if port_is_taken(port) {
        let user = port_user(&places, port);
        return Err(format!(
            "port {port} is already in use by {user}: pick another one, e.g. --port {}",
            port.checked_add(1).unwrap_or(DEFAULT_PORT + 1)
        ));
    }
    watch::catch_ctrl_c();
    eprintln!("building {} ...", step.name);
    let built = build(step)?;
    let binary = copy_binary(&places, slot, step, &built)?;
    let template = Server {
        slot,
        pid: 0,
        step: step.name.clone(),
        port,
        binary: binary.clone(),
        database: database.to_path_buf(),
        watcher: Some(std::process::id()),
        seed,
        exercise: true,
        behind_nginx: None,
    };
    let (server, child) = start(&places, &template)?;
    remove_old_copies(&places, slot, Some(&binary));
    let seeded = seed.then(|| seed::sample_data(&step.name, database, port));
    println!(
        "{} runs on port {port}, {}",
        step.name,
        if seed { "seeded" } else { "not seeded" }
    );
    println!("  copy      {}: {}", places.shown(&step.dir), step.title());
    println!("  url       {}", server.url());
    println!("  database  {}", places.shown(database));
    match seeded {
        Some(Ok(report)) => println!("  seeded    {report}"),
        Some(Err(why)) => {
            let _ = server.stop();
            Server::forget(&places, slot);
            return Err(format!("seeding failed: {why}"));
        }
        None => {}
    }
    println!(
        "  log       {}  (scripts/switch logs --port {port} follows it)",
        places.shown(&places.log_file(slot))
    );
    let started = Started {
        step: step.clone(),
        server,
        built,
        child,
        took_over: false,
    };
    watch::watch(&places, started, watch_files)
}

/// Is something listening on `port`, or holding it?
/// The value of `--port` (`--port 5002`, or `--port=5002` when `inline`):
/// a number from 1 to 65535.
pub(crate) fn port_option(
    inline: Option<&str>,
    args: &mut impl Iterator<Item = String>,
) -> Result<u16, String> {
    let value = match inline {
        Some(value) => value.to_string(),
        None => args
            .next()
            .ok_or("--port needs a number, e.g. --port 5002")?,
    };
    value.parse().ok().filter(|&port| port != 0).ok_or(format!(
        "--port takes a number from 1 to 65535, not {value:?}"
    ))
}

/// Who holds `port`: a server switch started (and how to stop it), or
/// another program.
fn port_user(places: &Places, port: u16) -> String {
    match Server::on_port(places, port) {
        Some(other) => format!(
            "{}, which switch started ({} stops it)",
            other.described(),
            other.stop_command()
        ),
        None => "another program".to_string(),
    }
}

pub(crate) fn port_is_taken(port: u16) -> bool {
    let address = ([127, 0, 0, 1], port).into();
    TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
        || TcpListener::bind(address).is_err()
}

/// `cargo build -p s04`, showing cargo's messages; answers the binary's path.
/// cargo runs in the step's folder: for a step, its workspace is the
/// tutorial's; an exercise's copy is a workspace of its own, whose
/// `.cargo/config.toml` sends the build to the tutorial's target/.
pub(crate) fn build(step: &Step) -> Result<PathBuf, String> {
    let mut built = cargo_build(&step.dir, &[step])?;
    built.pop().map(|(_, binary)| binary).ok_or_else(|| {
        format!(
            "cargo built {} but did not say where its binary is",
            step.name
        )
    })
}

/// `cargo build -p s03 -p s04 ...` in one go, from `folder`; answers each
/// step's binary, as (step, path).
pub(crate) fn cargo_build(
    folder: &Path,
    steps: &[&Step],
) -> Result<Vec<(String, PathBuf)>, String> {
    // `cargo run` tells the programs it runs which cargo it is.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command.current_dir(folder).args(["build", "--quiet"]);
    for step in steps {
        command.args(["--package", &step.name, "--bin", &step.name]);
    }
    let output = command
        // Errors and warnings still go to the terminal, as usual; the JSON
        // lines on stdout say where the binary is (target/debug/s04, .exe on Windows).
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cargo.to_string_lossy()))?;
    if !output.status.success() {
        let names: Vec<&str> = steps.iter().map(|step| step.name.as_str()).collect();
        let which = match names.as_slice() {
            [one] => one.to_string(),
            _ => "the steps".to_string(),
        };
        return Err(format!(
            "{which} does not build: cargo's messages are above"
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter_map(|artifact| {
            let name = artifact["target"]["name"].as_str()?;
            steps.iter().find(|step| step.name == name)?;
            let binary = artifact["executable"].as_str()?;
            Some((name.to_string(), PathBuf::from(binary)))
        })
        .collect())
}

/// Copies the binary cargo built to `.switch/bin/<step>-<n>` (`.exe` on
/// Windows), a new name each time: the copy a server runs cannot be replaced.
pub(crate) fn copy_binary(
    places: &Places,
    slot: Slot,
    step: &Step,
    built: &Path,
) -> Result<PathBuf, String> {
    let folder = places.bin_dir(slot);
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

/// Removes the copies of a slot's folder but `keep` and the one its record
/// names. A copy that still runs cannot be removed on Windows: it is tried
/// again at the next switch. Each slot has its folder: a watch rebuilding
/// beside the class never removes the copy a switch is about to start.
pub(crate) fn remove_old_copies(places: &Places, slot: Slot, keep: Option<&Path>) {
    let recorded = Server::recorded(places, slot).map(|server| server.binary);
    let Ok(entries) = fs::read_dir(places.bin_dir(slot)) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file() && keep != Some(path.as_path()) && recorded.as_ref() != Some(&path) {
            let _ = fs::remove_file(path);
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

/// Starts the server `template` describes (its binary, step, port,
/// database, slot: everything but the process id) in the background and
/// waits until it answers. When it does not, its record and binary are
/// removed (other copies are kept: `switch --watch` starts the previous one
/// again). The `Child` is for `switch --watch`, which outlives the servers it
/// starts and must collect their exit status.
pub(crate) fn start(places: &Places, template: &Server) -> Result<(Server, Child), String> {
    let log_path = places.log_file(template.slot);
    if let Some(folder) = log_path.parent() {
        fs::create_dir_all(folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    }
    let log = File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let mut child = spawn(&template.binary, template.port, &template.database, &log)?;
    let server = Server {
        pid: child.id(),
        ..template.clone()
    };
    // Recorded at once, so that `switch stop` finds it even if we are interrupted.
    server.save(places)?;

    if let Err(why) = wait_until_it_answers(&mut child, server.port) {
        let _ = child.kill();
        let _ = child.wait();
        let _ = fs::remove_file(places.record_file(server.slot));
        let _ = fs::remove_file(&server.binary);
        return Err(format!(
            "{} did not start: {why}. The end of its log ({}):\n{}",
            server.step,
            places.shown(&log_path),
            log_tail(&log_path)
        ));
    }
    Ok((server, child))
}

/// Starts `binary` on `port` with `database`, in the background, its output
/// going to `log`.
pub(crate) fn spawn(
    binary: &Path,
    port: u16,
    database: &Path,
    log: &File,
) -> Result<Child, String> {
    let port_text = port.to_string();
    let option = if is_url(database) {
        "--database-url"
    } else {
        "--db"
    };
    let args = [
        OsStr::new("--port"),
        OsStr::new(&port_text),
        OsStr::new(option),
        database.as_os_str(),
    ];
    process::spawn_detached(binary, &args, log)
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))
}

/// Does `step` keep its data in PostgreSQL (step 22 on)? Its Cargo.toml
/// says so: it depends on the driver.
pub(crate) fn postgres_step(step: &Step) -> bool {
    fs::read_to_string(step.dir.join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.lines().any(|l| l.starts_with("tokio-postgres")))
}

/// A database that is a PostgreSQL URL (step 22 on), not a SQLite file.
pub(crate) fn is_url(database: &Path) -> bool {
    database.to_string_lossy().starts_with("postgres://")
}

/// The `DATABASE_URL` of `scripts/services up`'s PostgreSQL, if it runs
/// (never on Windows, where `scripts/services` does not run).
#[cfg(not(unix))]
fn services_database_url(_: &Places) -> Option<String> {
    None
}

/// The `DATABASE_URL` of `scripts/services up`'s PostgreSQL, if it runs.
#[cfg(unix)]
fn services_database_url(places: &Places) -> Option<String> {
    use shared::services::{Kind, database_url};
    let running = places.services().running(Kind::Postgres)?;
    Some(database_url(running.port))
}

/// The last 15 lines of a log.
pub(crate) fn log_tail(path: &Path) -> String {
    let log = fs::read_to_string(path).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(15).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    tail.join("\n")
}

/// Polls `GET /` (every step answers something there) until an answer comes.
pub(crate) fn wait_until_it_answers(child: &mut Child, port: u16) -> Result<(), String> {
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

/// "three" for 3: the headline of step 23.
fn count_in_words(count: usize) -> String {
    let words = ["no", "one", "two", "three", "four", "five", "six"];
    words
        .get(count)
        .map_or_else(|| count.to_string(), |word| word.to_string())
}

/// `switch logs [--port N]`: prints the log as it grows, like `tail -f`,
/// and goes on with the next step's log after a switch. Step 23's
/// instances: their logs together, each line marked with its port.
fn follow_log(places: &Places, port: Option<u16>) -> Result<(), String> {
    let slot = slot_of(places, port);
    let running = || Server::running(places, slot);
    let logs = |server: Option<&Server>| instances::logs(places, server, places.log_file(slot));
    let mut following = running();
    let mut files: Vec<Followed> = logs(following.as_ref())
        .into_iter()
        .map(|(mark, path)| Followed::new(mark, path))
        .collect();
    if files.iter().all(|file| !file.path.exists()) {
        return Err("no log yet: start a step first, e.g. scripts/switch 04".to_string());
    }
    let shown: Vec<String> = files.iter().map(|file| places.shown(&file.path)).collect();
    eprintln!(
        "following {} (Ctrl-C stops following; the server keeps running)",
        shown.join(", ")
    );
    // Start with the last lines, as `tail -f` does.
    for file in &mut files {
        file.skip_to_last_lines(20);
    }
    loop {
        for file in &mut files {
            file.print_new_lines();
        }
        sleep(Duration::from_millis(250));
        // After a switch the new server writes new logs: read them from the start.
        let now = running();
        let pid = |server: &Option<Server>| server.as_ref().map(|s| (s.pid, s.step.clone()));
        if now.is_some() && pid(&now) != pid(&following) {
            if let Some(server) = &now {
                println!("---- now {} ----", server.step);
            }
            files = logs(now.as_ref())
                .into_iter()
                .map(|(mark, path)| Followed::new(mark, path))
                .collect();
            following = now;
        }
    }
}

/// A log `switch logs` follows: where it has read to, and the end of a
/// line not written in full yet.
struct Followed {
    mark: String,
    path: PathBuf,
    position: u64,
    partial: Vec<u8>,
}

impl Followed {
    fn new(mark: String, path: PathBuf) -> Followed {
        Followed {
            mark,
            path,
            position: 0,
            partial: Vec::new(),
        }
    }

    /// Prints the last `count` lines, and goes on from the end.
    fn skip_to_last_lines(&mut self, count: usize) {
        let text = fs::read_to_string(&self.path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[lines.len().saturating_sub(count)..] {
            println!("{}{line}", self.mark);
        }
        self.position = text.len() as u64;
    }

    /// Prints what was added since, line by line, each with its mark.
    fn print_new_lines(&mut self) {
        let length = fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if length < self.position {
            // A new log under the same name (the step was restarted).
            self.position = 0;
            self.partial.clear();
        }
        let Ok(mut file) = File::open(&self.path) else {
            return;
        };
        let mut new = Vec::new();
        if length > self.position
            && file.seek(SeekFrom::Start(self.position)).is_ok()
            && file
                .take(length - self.position)
                .read_to_end(&mut new)
                .is_ok()
        {
            self.position += new.len() as u64;
            self.partial.extend_from_slice(&new);
        }
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return;
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        let mut out = std::io::stdout().lock();
        for line in complete.split_inclusive(|&b| b == b'\n') {
            let _ = out.write_all(self.mark.as_bytes());
            let _ = out.write_all(line);
        }
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    fn run(step: &str, port: Option<u16>, seed: Option<bool>, fresh: bool, watch: bool) -> Action {
        Action::Run(Wanted {
            step: step.into(),
            port,
            seed,
            fresh,
            watch,
        })
    }

    #[test]
    fn the_command_line_is_understood() {
        assert_eq!(parse(args("")), Ok(Action::List));
        assert_eq!(parse(args("stop")), Ok(Action::Stop { port: None }));
        assert_eq!(
            parse(args("stop --port 5722")),
            Ok(Action::Stop { port: Some(5722) })
        );
        assert_eq!(parse(args("logs")), Ok(Action::Logs { port: None }));
        assert_eq!(
            parse(args("reset")),
            Ok(Action::Reset {
                seed: false,
                undo: false
            })
        );
        assert_eq!(
            parse(args("reset --seed")),
            Ok(Action::Reset {
                seed: true,
                undo: false
            })
        );
        assert_eq!(
            parse(args("reset --undo")),
            Ok(Action::Reset {
                seed: false,
                undo: true
            })
        );
        assert_eq!(
            parse(args("04 --fresh --port=5002")),
            Ok(run("04", Some(5002), None, true, false))
        );
        assert_eq!(
            parse(args("--seed s04")),
            Ok(run("s04", None, Some(true), false, false))
        );
        assert_eq!(
            parse(args("04 --no-seed")),
            Ok(run("04", None, Some(false), false, false))
        );
        assert_eq!(
            parse(args("07 --watch")),
            Ok(run("07", None, None, false, true))
        );
    }

    #[test]
    fn a_bad_command_line_is_explained() {
        assert!(parse(args("04 --port x")).unwrap_err().contains("--port"));
        assert!(parse(args("04 --port 0")).unwrap_err().contains("--port"));
        assert!(parse(args("04 --port")).unwrap_err().contains("--port"));
        assert!(parse(args("--fresh")).unwrap_err().contains("need a step"));
        assert!(parse(args("--watch")).unwrap_err().contains("need a step"));
        assert!(
            parse(args("--port 5002"))
                .unwrap_err()
                .contains("need a step")
        );
        assert!(parse(args("stop --watch")).unwrap_err().contains("--port"));
        assert!(
            parse(args("04 --seed --no-seed"))
                .unwrap_err()
                .contains("not both")
        );
        assert!(parse(args("04 --undo")).unwrap_err().contains("reset"));
        assert!(
            parse(args("reset --port 5002"))
                .unwrap_err()
                .contains("only")
        );
        assert!(
            parse(args("reset --undo --seed"))
                .unwrap_err()
                .contains("--undo")
        );
        assert!(parse(args("03 04")).unwrap_err().contains("one step"));
        assert!(parse(args("04 --fast")).unwrap_err().contains("--fast"));
    }
}
