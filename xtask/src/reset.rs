//! `scripts/switch reset [--seed]`: every step's database emptied (and
//! seeded, when asked) in one command, to start a class from clean data;
//! `scripts/switch reset --undo` puts back what the last reset moved aside.
//!
//! Nothing is deleted outright: each step's `chat.db` (with its `-wal` and
//! `-shm` side files) is renamed `chat.db.previous` beside it, replacing
//! the one an earlier reset left there (one generation is kept). `--undo`
//! swaps each step's `.previous` files with the current ones, so undoing
//! twice gives back the reset's databases.
//!
//! A server must never be left with its database moved from under it (a
//! step would go on writing to a file that no longer has a name, and answer
//! 503). So the servers `switch` started on a step's database are stopped
//! first, and started again on the new one, same port, same choices, the
//! watch that restarts one going on. A program `switch` did not start that
//! has a database open (a `cargo run -p s04` in another terminal) stops the
//! reset before anything is changed.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::steps::{self, Step};
use crate::switch::{self, Places, Server};
use crate::{process, seed};

/// The three files of a SQLite database.
const SUFFIXES: [&str; 3] = ["", "-wal", "-shm"];

/// `switch reset [--seed]`.
pub(crate) fn reset(places: &Places, seed: bool) -> Result<(), String> {
    let started = Instant::now();
    let steps = steps::all(&places.root)?;
    let databases: Vec<(&Step, PathBuf)> = steps
        .iter()
        .map(|step| (step, places.database(&step.name)))
        .collect();
    let servers = servers_on(places, databases.iter().map(|(_, db)| db.as_path()));
    refuse_if_open_elsewhere(&databases, &servers)?;

    // Built before anything is changed: a compile error changes nothing.
    let binaries = if seed {
        eprintln!("building the steps, to seed them ...");
        let all: Vec<&Step> = steps.iter().collect();
        switch::cargo_build(&places.root, &all)?
            .into_iter()
            .collect::<BTreeMap<_, _>>()
    } else {
        BTreeMap::new()
    };

    stop_for_a_moment(&servers, "its new database")?;
    let mut removed = Vec::new();
    for (step, database) in &databases {
        // Counted now: the servers are stopped, nothing writes.
        let contents = seed::contents(database);
        if move_aside(database)? {
            removed.push((step.name.as_str(), database, contents.unwrap_or_default()));
        }
    }
    if removed.is_empty() {
        println!("no step had a database: nothing to remove");
    } else {
        println!(
            "removed {} databases, each kept once as chat.db.previous beside it:",
            removed.len()
        );
        for (name, database, contents) in &removed {
            println!("  {name:<5} {}  ({contents})", places.shown(database));
        }
    }
    let restarted = restart(places, &servers, &steps, "its new database")?;

    if seed {
        let mut seeded = Vec::new();
        let mut nothing = Vec::new();
        for (step, database) in &databases {
            let report = match restarted.iter().find(|server| &server.database == database) {
                // Its server runs again: seeded through it.
                Some(server) => seed::sample_data(&step.name, database, server.port),
                None => seed_with_a_server_of_its_own(places, step, database, &binaries),
            }
            .map_err(|why| format!("seeding {} failed: {why}", step.name))?;
            if report.starts_with("nothing") {
                nothing.push(step.name.as_str());
            } else {
                seeded.push((step.name.as_str(), report));
            }
        }
        println!("seeded {} steps:", seeded.len());
        for (name, report) in &seeded {
            println!("  {name:<5} {report}");
        }
        if !nothing.is_empty() {
            println!(
                "  (not {}: no users table or no POST /api/users yet)",
                nothing.join(", ")
            );
        }
    }
    if !removed.is_empty() {
        println!(
            "To undo: scripts/switch reset --undo puts those databases back (and keeps the \
             ones there now as .previous)."
        );
    }
    println!("reset in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `switch reset --undo`: each step's `.previous` files and current ones
/// swap places.
pub(crate) fn undo(places: &Places) -> Result<(), String> {
    let steps = steps::all(&places.root)?;
    let databases: Vec<(&Step, PathBuf)> = steps
        .iter()
        .map(|step| (step, places.database(&step.name)))
        .filter(|(_, database)| {
            SUFFIXES
                .iter()
                .any(|suffix| with_suffix(database, suffix, ".previous").exists())
        })
        .collect();
    if databases.is_empty() {
        println!("no step has a chat.db.previous: nothing to undo");
        return Ok(());
    }
    let servers = servers_on(places, databases.iter().map(|(_, db)| db.as_path()));
    refuse_if_open_elsewhere(&databases, &servers)?;
    stop_for_a_moment(&servers, "the database put back")?;
    println!(
        "put back {} databases (the ones they replace are kept as chat.db.previous):",
        databases.len()
    );
    for (step, database) in &databases {
        swap_with_previous(database)?;
        let contents = seed::contents(database).unwrap_or_else(|| "no database".to_string());
        println!(
            "  {:<5} {}  ({contents})",
            step.name,
            places.shown(database)
        );
    }
    restart(places, &servers, &steps, "the database put back")?;
    println!("scripts/switch reset --undo again swaps them back.");
    Ok(())
}

/// The servers `switch` started that run on one of these databases.
fn servers_on<'a>(places: &Places, databases: impl Iterator<Item = &'a Path>) -> Vec<Server> {
    let databases: Vec<&Path> = databases.collect();
    Server::all(places)
        .into_iter()
        .filter(|server| server.runs() && databases.contains(&server.database.as_path()))
        .collect()
}

/// Stops the reset, before it changes anything, when a program that
/// `switch` did not start has one of the databases open: it would go on
/// with a file that no longer has a name.
fn refuse_if_open_elsewhere(
    databases: &[(&Step, PathBuf)],
    servers: &[Server],
) -> Result<(), String> {
    let ours: Vec<u32> = servers.iter().map(|server| server.pid).collect();
    let mut problems = Vec::new();
    for (step, database) in databases {
        for suffix in SUFFIXES {
            let file = with_suffix(database, suffix, "");
            if !file.exists() {
                continue;
            }
            for (pid, command) in process::holders(&file) {
                if !ours.contains(&pid) {
                    problems.push(format!(
                        "  {}: open in process {pid} ({command})",
                        step.name
                    ));
                }
            }
        }
    }
    problems.dedup();
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "nothing was reset: a program that switch did not start uses a step's database\n{}\n\
         Stop it first (Ctrl-C in its terminal), then reset again. (The servers switch \
         started are stopped and restarted by reset itself.)",
        problems.join("\n")
    ))
}

/// Stops the servers, each started again by `restart` on `database`.
fn stop_for_a_moment(servers: &[Server], database: &str) -> Result<(), String> {
    for server in servers {
        server.stop()?;
        println!(
            "stopped {}: it starts again on {database}",
            server.described()
        );
    }
    Ok(())
}

/// Starts the servers again, on the same port with the same choices, from
/// the same copy of their binary; a watch that restarts one follows it (its
/// record keeps the watch's process id). Answers them as they run now.
fn restart(
    places: &Places,
    servers: &[Server],
    steps: &[Step],
    database: &str,
) -> Result<Vec<Server>, String> {
    let mut restarted = Vec::new();
    for server in servers {
        let (again, _child) = switch::start(places, server)
            .map_err(|why| format!("{why}\n({} was stopped for the reset)", server.step))?;
        let title = steps::find(steps, &again.step)
            .map(|step| step.title().to_string())
            .unwrap_or_default();
        println!(
            "{} runs again on {}, on {database} ({title})",
            again.step,
            again.url()
        );
        restarted.push(again);
    }
    Ok(restarted)
}

/// Seeds a step that no server runs: its binary, started on a free port
/// with its database, then stopped.
fn seed_with_a_server_of_its_own(
    places: &Places,
    step: &Step,
    database: &Path,
    binaries: &BTreeMap<String, PathBuf>,
) -> Result<String, String> {
    let binary = binaries
        .get(&step.name)
        .ok_or_else(|| format!("cargo did not say where the binary of {} is", step.name))?;
    let port = free_port()?;
    let log_path = places.log_file(switch::Slot::Own(port));
    if let Some(folder) = log_path.parent() {
        fs::create_dir_all(folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    }
    let log = File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let mut child = switch::spawn(binary, port, database, &log)?;
    let answered = switch::wait_until_it_answers(&mut child, port);
    let seeded = answered.and_then(|()| seed::sample_data(&step.name, database, port));
    let stopped = process::stop(child.id(), binary);
    let _ = child.wait();
    let seeded = seeded.map_err(|why| format!("{why}; its log:\n{}", switch::log_tail(&log_path)));
    let _ = fs::remove_file(&log_path);
    stopped?;
    seeded
}

/// A port nobody listens on now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// `chat.db` + `-wal` + `.previous`: `chat.db-wal.previous`.
fn with_suffix(database: &Path, suffix: &str, previous: &str) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    name.push(previous);
    PathBuf::from(name)
}

/// Renames the database's files `<file>.previous`, after removing those an
/// earlier reset left (a step without a database then has none: undoing
/// this reset leaves it without one). Answers whether there was a database.
fn move_aside(database: &Path) -> Result<bool, String> {
    for suffix in SUFFIXES {
        remove_if_there(&with_suffix(database, suffix, ".previous"))?;
    }
    let mut moved = false;
    for suffix in SUFFIXES {
        let file = with_suffix(database, suffix, "");
        match fs::rename(&file, with_suffix(database, suffix, ".previous")) {
            Ok(()) => moved = true,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(format!(
                    "cannot move {} aside: {e} (is a program using it?)",
                    file.display()
                ));
            }
        }
    }
    Ok(moved)
}

/// The `.previous` files back in place; the current ones become `.previous`.
fn swap_with_previous(database: &Path) -> Result<(), String> {
    let rename = |from: &Path, to: &Path| match fs::rename(from, to) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(format!("cannot rename {}: {e}", from.display()))
        }
        _ => Ok(()),
    };
    for suffix in SUFFIXES {
        let current = with_suffix(database, suffix, "");
        let previous = with_suffix(database, suffix, ".previous");
        let swapping = with_suffix(database, suffix, ".swapping");
        remove_if_there(&swapping)?;
        rename(&current, &swapping)?;
        rename(&previous, &current)?;
        rename(&swapping, &previous)?;
    }
    Ok(())
}

fn remove_if_there(file: &Path) -> Result<(), String> {
    match fs::remove_file(file) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {e}", file.display()))
        }
        _ => Ok(()),
    }
}
