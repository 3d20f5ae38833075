//! `scripts/switch 04 --watch`: edit and see, like the original's
//! `flask run --debug`. After the switch, `switch` stays in the foreground
//! and watches the step's own files (`src/`, `static/`, `Cargo.toml`). A
//! moment after a save it rebuilds the step; when the build succeeds it
//! restarts the step on the same port with the same database, and when it
//! fails it leaves the previous build serving. One line per reload:
//!
//! ```text
//! s07 rebuilt in 1.4 s, serving again (cargo build 1.0 s, restart 0.1 s)
//! ```
//!
//! A switch made in another terminal on the same port (`scripts/switch 08`)
//! rewrites the watched server's record (`.switch/server.json` for the
//! class's server, `.switch/server-<port>.json` for a server of its own);
//! the watch reads it twice a second and moves to the step recorded there.
//! Ctrl-C stops watching, and the server if the watch started it: a class's
//! server that the watch took over goes on serving.
//!
//! `scripts/exercise run --watch` watches a learner's copy of a step the
//! same way; `scripts/exercise run --seed` alone runs this loop without
//! watching files, for its Ctrl-C.
//!
//! The system says when files change (inotify, FSEvents,
//! ReadDirectoryChangesW, through the `notify` crate): nothing is polled.

use std::net::TcpStream;
use std::path::{Component, Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use crate::process;
use crate::steps::{self, Step};
use crate::switch::{self, Places, Server, Slot, Started};

/// How long the files must stay quiet after a save before the build starts:
/// an editor that writes a file in several steps, or a "save all", or two
/// saves in quick succession, give one build.
const QUIET: Duration = Duration::from_millis(250);

/// How often the loop looks at Ctrl-C and at the server's record.
const TICK: Duration = Duration::from_millis(100);
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

type Events = Receiver<notify::Result<notify::Event>>;

/// What the watch knows: the step it watches and the server it restarts.
struct Watch {
    step: Step,
    /// The step's folder as the system names it in its events (on macOS
    /// `/var/...` comes back as `/private/var/...`).
    canonical_dir: PathBuf,
    server: Server,
    /// The binary cargo built last, and its modification time: a build that
    /// leaves it as it was (cargo found nothing to do) restarts nothing.
    built: PathBuf,
    built_at: Option<SystemTime>,
    /// The last build failed: the next success says the step builds again.
    broken: bool,
    /// How many times in a row the server was found gone.
    found_gone: u32,
    /// The servers this watch started: their exit status is collected once
    /// they are stopped, so that no finished process lingers (a zombie).
    children: Vec<Child>,
    /// A server ran on the watched port before the watch replaced it (the
    /// class's): Ctrl-C then leaves the server running rather than stopping it.
    took_over: bool,
    /// The system's notifications of the step's files; none when only
    /// serving (`scripts/exercise run --seed` without `--watch`).
    watcher: Option<RecommendedWatcher>,
}

/// What a look at the server's record found.
enum Followed {
    /// Our server, or a switch half done: nothing to do.
    Same,
    /// Another terminal switched (to another step, or the same one again):
    /// the watch now follows that server.
    Moved,
    /// Stopped, or another watch took over: this one ends, saying why.
    End(String),
}

/// What a build did.
enum Built {
    /// Nothing to restart: it failed, cargo had nothing to do, or the server
    /// was switched away meanwhile.
    Done,
    /// Files were saved during the build: build again before restarting.
    Again,
}

/// Watches the step `switch` just started, until Ctrl-C. Without
/// `watch_files`, only serves it until Ctrl-C.
pub fn watch(places: &Places, started: Started, watch_files: bool) -> Result<(), String> {
    let (sender, events) = mpsc::channel();
    let watcher = match watch_files {
        true => Some(
            notify::recommended_watcher(sender)
                .map_err(|e| format!("cannot watch files on this system: {e}"))?,
        ),
        false => None,
    };
    let Started {
        step,
        server,
        built,
        child,
        took_over,
    } = started;
    let mut watch = Watch {
        canonical_dir: step.dir.clone(),
        built_at: modified(&built),
        built,
        step,
        server,
        broken: false,
        found_gone: 0,
        children: vec![child],
        took_over,
        watcher,
    };
    watch.watch_step()?;
    let ctrl_c = if took_over {
        format!(
            "Ctrl-C stops watching; {} goes on serving, as a server did before",
            watch.step.name
        )
    } else {
        "Ctrl-C stops both".to_string()
    };
    if watch.watcher.is_some() {
        println!(
            "  watching  {}: src/, static/, Cargo.toml  (a save rebuilds and restarts it; \
             {ctrl_c})",
            places.shown(&watch.step.dir)
        );
    } else {
        println!("  serving   until Ctrl-C");
    }

    // The first save of a batch, and the last one.
    let mut pending: Option<(Instant, Instant)> = None;
    let mut followed = Instant::now();
    loop {
        if ctrl_c_pressed() {
            return watch.finish(places);
        }
        let wait = match pending {
            Some((_, last)) => QUIET.saturating_sub(last.elapsed()).min(TICK),
            None => TICK,
        };
        match events.recv_timeout(wait) {
            Ok(Ok(event)) => {
                if watch.concerns(&event) {
                    let now = Instant::now();
                    pending = Some((pending.map_or(now, |(first, _)| first), now));
                }
            }
            Ok(Err(error)) => eprintln!("watch: {error}"),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err("the file watcher stopped".to_string());
            }
        }
        if followed.elapsed() >= FOLLOW_EVERY {
            followed = Instant::now();
            match watch.follow(places)? {
                Followed::Same => {}
                Followed::Moved => pending = None,
                Followed::End(why) => {
                    println!("{why}");
                    return Ok(());
                }
            }
        }
        if let Some((saved, last)) = pending
            && last.elapsed() >= QUIET
        {
            pending = match watch.rebuild(places, saved, &events)? {
                Built::Done => None,
                Built::Again => Some((saved, Instant::now())),
            };
        }
    }
}

impl Watch {
    /// Starts watching the step's folder, all of it: the events are sorted
    /// out by `concerns`. (A watch on a single file would be lost when an
    /// editor saves by writing a new file and renaming it over the old one.)
    fn watch_step(&mut self) -> Result<(), String> {
        self.canonical_dir = self
            .step
            .dir
            .canonicalize()
            .unwrap_or_else(|_| self.step.dir.clone());
        let Some(watcher) = &mut self.watcher else {
            return Ok(());
        };
        watcher
            .watch(&self.step.dir, RecursiveMode::Recursive)
            .map_err(|e| format!("cannot watch {}: {e}", self.step.dir.display()))
    }

    /// Is this event a save of one of the step's own files?
    fn concerns(&self, event: &notify::Event) -> bool {
        // Reading a file (cargo does) changes nothing.
        !matches!(event.kind, EventKind::Access(_))
            && event.paths.iter().any(|path| {
                [&self.step.dir, &self.canonical_dir]
                    .iter()
                    .any(|dir| path.strip_prefix(dir).is_ok_and(is_source))
            })
    }

    /// Looks at the server's record, which a switch in another terminal
    /// on the same port rewrites, and follows it.
    fn follow(&mut self, places: &Places) -> Result<Followed, String> {
        self.collect_children();
        let Some(record) = Server::recorded(places, self.server.slot) else {
            // Only `switch stop` (or a start that failed) removes the record.
            return Ok(Followed::End(format!(
                "{} was stopped ({}): watching ends",
                self.step.name,
                self.server.stop_command()
            )));
        };
        if let Some(watcher) = record.watcher
            && watcher != std::process::id()
        {
            return Ok(Followed::End(format!(
                "{} is watched in another terminal now (switch --watch there): \
                 watching here ends",
                record.step
            )));
        }
        if record.pid == self.server.pid {
            // Gone twice in a row, half a second apart: not a switch in
            // progress elsewhere (which replaces the record at once).
            if self.server.runs() {
                self.found_gone = 0;
            } else {
                self.found_gone += 1;
                if self.found_gone == 2 {
                    println!(
                        "{} has stopped (see {}): a save rebuilds it and starts it again",
                        self.step.name,
                        places.shown(&places.log_file(self.server.slot))
                    );
                }
            }
            return Ok(Followed::Same);
        }
        if !record.runs() {
            // Just recorded and not running yet, or not starting: look again later.
            return Ok(Followed::Same);
        }
        // Another terminal switched: follow its server.
        if record.step != self.step.name && self.server.exercise {
            return Ok(Followed::End(format!(
                "port {} serves {} now: watching {} ends",
                record.port, record.step, self.step.name
            )));
        }
        if record.step != self.step.name {
            let steps = steps::all(&places.root)?;
            let step = steps::find(&steps, &record.step)?.clone();
            if let Some(watcher) = &mut self.watcher {
                let _ = watcher.unwatch(&self.step.dir);
            }
            self.built =
                self.built
                    .with_file_name(format!("{}{}", step.name, std::env::consts::EXE_SUFFIX));
            self.step = step;
            self.watch_step()?;
            println!(
                "{} runs now (switched in another terminal): watching {} instead",
                record.step,
                places.shown(&self.step.dir)
            );
        }
        self.built_at = modified(&self.built);
        self.server = record;
        self.broken = false;
        self.found_gone = 0;
        Ok(Followed::Moved)
    }

    /// Builds the step; restarts it when cargo made a new binary.
    fn rebuild(
        &mut self,
        places: &Places,
        saved: Instant,
        events: &Events,
    ) -> Result<Built, String> {
        let name = self.step.name.clone();
        let building = Instant::now();
        let built = switch::build(&self.step);
        let build_time = building.elapsed();
        if ctrl_c_pressed() {
            // cargo got the Ctrl-C too: the loop stops everything.
            return Ok(Built::Done);
        }
        if self.saved_meanwhile(events) {
            return Ok(Built::Again);
        }
        let built = match built {
            Ok(built) => built,
            Err(_) => {
                self.broken = true;
                let serving = if self.server.runs() {
                    "the previous build keeps serving"
                } else {
                    "nothing serves until it builds"
                };
                println!("{name} does not build (cargo's error above): {serving}");
                return Ok(Built::Done);
            }
        };
        let built_at = modified(&built);
        if built_at.is_some() && built_at == self.built_at && self.server.runs() {
            // cargo had nothing to do: a file it does not compile was saved.
            if std::mem::take(&mut self.broken) {
                println!("{name} builds again, unchanged: the same build keeps serving");
            }
            return Ok(Built::Done);
        }
        // A switch made elsewhere during the build wins.
        if let Followed::Moved | Followed::End(_) = self.follow(places)? {
            return Ok(Built::Done);
        }

        let restarting = Instant::now();
        let slot = self.server.slot;
        let stopped = switch::copy_binary(places, slot, &self.step, &built)
            .and_then(|binary| self.stop_server().map(|()| binary));
        let binary = match stopped {
            Ok(binary) => binary,
            Err(why) => {
                println!("{name} was rebuilt but not restarted: {why}");
                return Ok(Built::Done);
            }
        };
        let me = Some(std::process::id());
        let new = Server {
            binary: binary.clone(),
            watcher: me,
            ..self.server.clone()
        };
        match switch::start(places, &new) {
            Ok((server, child)) => {
                self.children.push(child);
                switch::remove_old_copies(places, slot, Some(&binary));
                self.server = server;
                self.built = built;
                self.built_at = built_at;
                self.broken = false;
                self.found_gone = 0;
                println!(
                    "{name} rebuilt in {:.1} s, serving again (cargo build {:.1} s, restart {:.1} s)",
                    saved.elapsed().as_secs_f64(),
                    build_time.as_secs_f64(),
                    restarting.elapsed().as_secs_f64()
                );
            }
            Err(why) => {
                // It builds but stops at once (a panic at start-up, say):
                // the previous build serves again, from its copy.
                eprintln!("{why}");
                let previous = Server {
                    watcher: me,
                    ..self.server.clone()
                };
                match switch::start(places, &previous) {
                    Ok((server, child)) => {
                        self.children.push(child);
                        self.server = server;
                        println!(
                            "{name} was rebuilt but does not start (its log above): \
                             the previous build serves again"
                        );
                    }
                    Err(why) => println!(
                        "{name} was rebuilt but does not start, and the previous build \
                         does not start again either: {why}"
                    ),
                }
                // The new binary counts as built: the next save builds again.
                self.built_at = built_at;
            }
        }
        Ok(Built::Done)
    }

    /// Stops the server, done as soon as it no longer takes connections: a
    /// step closes its port at once, then waits 0.3 s before it exits
    /// (actix-web's shutdown), which the new server need not wait for.
    fn stop_server(&mut self) -> Result<(), String> {
        let address = ([127, 0, 0, 1], self.server.port).into();
        let closed = || TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err();
        process::stop_until(self.server.pid, &self.server.binary, closed)?;
        self.collect_children();
        Ok(())
    }

    /// Collects the exit status of the servers that have ended.
    fn collect_children(&mut self) {
        self.children
            .retain_mut(|child| matches!(child.try_wait(), Ok(None)));
    }

    /// Were the step's files saved while it was building? Then the binary
    /// may not have the last change: it is built again before any restart.
    fn saved_meanwhile(&self, events: &Events) -> bool {
        let mut saved = false;
        while let Ok(event) = events.try_recv() {
            saved |= event.is_ok_and(|event| self.concerns(&event));
        }
        saved
    }

    /// Ctrl-C: the server goes too, if it is still the one recorded and
    /// the watch started it. A class's server that the watch took over
    /// (`switch 14 --watch` on the class's port) goes on serving the class,
    /// as it did before the watch: only the watching ends.
    fn finish(&mut self, places: &Places) -> Result<(), String> {
        let slot = self.server.slot;
        let recorded = Server::recorded(places, slot).is_some_and(|r| r.pid == self.server.pid);
        let keep = self.took_over && slot == Slot::Class && recorded && self.server.runs();
        if keep {
            let unwatched = Server {
                watcher: None,
                ..self.server.clone()
            };
            unwatched.save(places)?;
        } else {
            self.server.stop()?;
            if recorded {
                Server::forget(places, slot);
            }
        }
        // A server stopped earlier that still finishes its connections
        // (a step with WebSockets may take a while) goes now.
        for child in &mut self.children {
            if keep && child.id() == self.server.pid {
                continue;
            }
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        if keep {
            println!(
                "stopped watching; {} goes on serving on {} ({} stops it)",
                self.step.name,
                self.server.url(),
                self.server.stop_command()
            );
        } else {
            println!("stopped watching; {} stopped", self.step.name);
        }
        Ok(())
    }
}

/// Is this path, inside a step's folder, one of its own files: `Cargo.toml`,
/// or a file of `src/` or `static/` other than an editor's temporary files?
fn is_source(inside: &Path) -> bool {
    let mut parts = inside.components();
    let top = match parts.next() {
        Some(Component::Normal(top)) => top,
        _ => return false,
    };
    if top == "Cargo.toml" {
        return parts.next().is_none();
    }
    if top != "src" && top != "static" && top != "migrations" {
        return false;
    }
    let name = inside
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    // Vim's .main.rs.swp and 4913, Emacs' #main.rs# and .#main.rs, backups~.
    let scratch = name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
        || name == "4913";
    !scratch
}

fn modified(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

// ------------------------------------------------------------- Ctrl-C

static CTRL_C: AtomicBool = AtomicBool::new(false);

fn ctrl_c_pressed() -> bool {
    CTRL_C.load(Ordering::SeqCst)
}

/// From now on Ctrl-C (and, on Unix, the SIGTERM of a `kill`) only raises a
/// flag, which the watch loop looks at: it then stops the server before
/// exiting. The server runs in a process group of its own, so the terminal's
/// Ctrl-C does not reach it.
#[cfg(unix)]
pub fn catch_ctrl_c() {
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    extern "C" fn raise_flag(_signal: i32) {
        // An atomic store is all a signal handler may safely do here.
        CTRL_C.store(true, Ordering::SeqCst);
    }
    // signal(2) from the C library, which the standard library links anyway:
    // declaring it saves a dependency for two calls.
    unsafe extern "C" {
        fn signal(signal: i32, handler: extern "C" fn(i32)) -> usize;
    }
    for number in [SIGINT, SIGTERM] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { signal(number, raise_flag) };
    }
}

/// The same on Windows, where Ctrl-C reaches a console program as an event.
#[cfg(windows)]
pub fn catch_ctrl_c() {
    unsafe extern "system" fn raise_flag(_event: u32) -> i32 {
        CTRL_C.store(true, Ordering::SeqCst);
        1 // handled: do not end the process, the watch loop does
    }
    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn SetConsoleCtrlHandler(
            handler: Option<unsafe extern "system" fn(u32) -> i32>,
            add: i32,
        ) -> i32;
    }
    // SAFETY: the handler only stores to an atomic.
    unsafe { SetConsoleCtrlHandler(Some(raise_flag), 1) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_step_s_own_files_are_watched() {
        for path in [
            "Cargo.toml",
            "src/main.rs",
            "src/db.rs",
            "static/style.css",
            "static/js/chat.js",
        ] {
            assert!(is_source(Path::new(path)), "{path}");
        }
        for path in [
            "README.md",
            "instance/chat.db",
            "instance/chat.db-wal",
            "tests/step/main.rs",
            "target/debug/s07",
            "src/.main.rs.swp",
            "src/4913",
            "src/main.rs~",
            "src/#main.rs#",
            "src/.#main.rs",
            "",
        ] {
            assert!(!is_source(Path::new(path)), "{path}");
        }
    }
}
