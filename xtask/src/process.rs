//! Starting a step's server in the background and stopping it again, on Linux,
//! macOS and Windows, with nothing but the standard library and the tools
//! every system has. Whether a process runs, and how it is stopped, is
//! `shared::process`, which `scripts/services` uses too.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use shared::process::runs;
use shared::process::{self, Ask};

/// How long a server gets to finish its requests in flight before it is killed.
const PATIENCE: Duration = Duration::from_secs(5);

/// Starts `binary` with `args` in the background, writing its output to `log`.
/// It keeps running after `switch` exits, and a Ctrl-C typed later in this
/// terminal does not reach it.
pub fn spawn_detached(binary: &Path, args: &[&OsStr], log: &File) -> io::Result<Child> {
    let mut command = Command::new(binary);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // A process group of its own: the terminal sends Ctrl-C to the
        // foreground group, which will not be this one.
        command.process_group(0);
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        // The same on Windows: a process group of its own, and a hidden
        // console rather than this terminal's.
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW);
    }
    command.spawn()
}

/// Stops process `pid` if it still runs `binary`: asks first (on Unix a
/// SIGTERM, which a step answers by finishing the requests in flight), then
/// forces it if it is still there after a few seconds.
pub fn stop(pid: u32, binary: &Path) -> Result<(), String> {
    stop_until(pid, binary, || false)
}

/// The same as `stop`, but done as soon as `done()` says so, even if the
/// process is still finishing: `switch --watch` restarts a step as soon as
/// the old one has closed its port.
pub fn stop_until(pid: u32, binary: &Path, done: impl Fn() -> bool) -> Result<(), String> {
    process::stop(pid, binary, Ask::Terminate, PATIENCE, done)
}

/// The processes that have `file` open, with their command lines, read
/// from /proc. (On Windows a file that is open cannot be renamed: there the
/// rename itself says so.)
#[cfg(target_os = "linux")]
pub fn holders(file: &Path) -> Vec<(u32, String)> {
    let Ok(file) = file.canonicalize() else {
        return Vec::new();
    };
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in processes.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // Another user's processes cannot be read, and are not ours to mind.
        let Ok(descriptors) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = descriptors
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == file));
        if holds && pid != me {
            found.push((pid, process::command_line(pid).unwrap_or_default()));
        }
    }
    found
}

/// The same with lsof, which macOS and the BSDs have.
#[cfg(all(unix, not(target_os = "linux")))]
pub fn holders(file: &Path) -> Vec<(u32, String)> {
    let Ok(output) = Command::new("lsof").arg("-t").arg("--").arg(file).output() else {
        return Vec::new();
    };
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .filter(|&pid| pid != std::process::id())
        .map(|pid| (pid, process::command_line(pid).unwrap_or_default()))
        .collect()
}

#[cfg(windows)]
pub fn holders(_file: &Path) -> Vec<(u32, String)> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use std::thread::sleep;
    use std::time::Instant;

    use super::*;

    #[test]
    fn a_process_is_recognised_by_its_binary_and_stopped() {
        let log = File::create(std::env::temp_dir().join("xtask-process-test.log")).unwrap();
        let (program, args): (&str, &[&OsStr]) = if cfg!(windows) {
            (
                "ping",
                &[OsStr::new("-n"), OsStr::new("60"), OsStr::new("127.0.0.1")],
            )
        } else {
            ("sleep", &[OsStr::new("60")])
        };
        let path = find_on_path(program).expect("sleep (ping on Windows) is on the PATH");
        let mut child = spawn_detached(&path, args, &log).unwrap();
        let pid = child.id();
        // Right after the start, the new program's command line may not be
        // readable yet: give it a moment.
        let started = Instant::now();
        while !runs(pid, &path) && started.elapsed() < Duration::from_secs(5) {
            sleep(Duration::from_millis(10));
        }
        assert!(runs(pid, &path));
        assert!(!runs(pid, Path::new("/usr/bin/something-else")));
        // Stopping someone else's program is refused: it is not ours.
        stop(pid, Path::new("/usr/bin/something-else")).unwrap();
        assert!(child.try_wait().unwrap().is_none(), "still running");

        stop(pid, &path).unwrap();
        assert!(child.try_wait().unwrap().is_some(), "stopped");
        assert!(!runs(pid, &path));
    }

    fn find_on_path(program: &str) -> Option<std::path::PathBuf> {
        let name = if cfg!(windows) {
            format!("{program}.exe")
        } else {
            program.to_string()
        };
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(&name))
            .find(|path| path.is_file())
    }
}
