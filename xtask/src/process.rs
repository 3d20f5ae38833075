//! Starting a step's server in the background and stopping it again, on Linux,
//! macOS and Windows, with nothing but the standard library and the tools
//! every system has.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

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
    if !runs(pid, binary) {
        return Ok(());
    }
    // From here on, wait for the process to be gone, not for its command
    // line to change: an exiting process shows an empty command line while
    // it still holds its files, the listening socket among them.
    for force in [false, true] {
        terminate(pid, force);
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if !alive(pid) || done() {
                return Ok(());
            }
            sleep(Duration::from_millis(50));
        }
    }
    Err(format!(
        "process {pid} ({}) does not stop",
        binary.display()
    ))
}

/// Is process `pid` alive and running `binary`? Once a process is gone its
/// PID is given to the next program that starts, so the PID alone could name
/// someone else's program: check what it runs before stopping it.
#[cfg(unix)]
pub fn runs(pid: u32, binary: &Path) -> bool {
    let binary = binary.to_string_lossy();
    command_line(pid).is_some_and(|line| {
        line.strip_prefix(&*binary)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    })
}

/// Is process `pid` still there? A zombie (it has exited and only waits for
/// its parent to read its exit status) is gone for our purpose.
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    state(pid).is_some_and(|state| state != 'Z' && state != 'X')
}

/// The state letter of process `pid` (R, S, Z...), if it exists.
#[cfg(target_os = "linux")]
fn state(pid: u32) -> Option<char> {
    // /proc/PID/stat reads "1234 (s04) S ...": the state follows the last ')'.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The command line of a live process, its words joined by spaces.
#[cfg(target_os = "linux")]
fn command_line(pid: u32) -> Option<String> {
    if !alive(pid) {
        return None;
    }
    let words = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let line = String::from_utf8_lossy(&words).replace('\0', " ");
    Some(line.trim_end().to_string())
}

/// The state and command line of a process, as `ps` shows them (macOS and the BSDs).
#[cfg(all(unix, not(target_os = "linux")))]
fn ps(pid: u32) -> Option<(char, String)> {
    let output = Command::new("ps")
        .args(["-o", "stat=", "-o", "command=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let (state, line) = text.trim().split_once(char::is_whitespace)?;
    Some((state.chars().next()?, line.trim().to_string()))
}

#[cfg(all(unix, not(target_os = "linux")))]
fn state(pid: u32) -> Option<char> {
    ps(pid).map(|(state, _)| state)
}

#[cfg(all(unix, not(target_os = "linux")))]
fn command_line(pid: u32) -> Option<String> {
    ps(pid).and_then(|(state, line)| (state != 'Z').then_some(line))
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
    for process in processes.flatten() {
        let Some(pid) = process.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // Another user's processes cannot be read, and are not ours to mind.
        let Ok(descriptors) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        let holds = descriptors
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == file));
        if holds && pid != me {
            found.push((pid, command_line(pid).unwrap_or_default()));
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
        .map(|pid| (pid, command_line(pid).unwrap_or_default()))
        .collect()
}

#[cfg(windows)]
pub fn holders(_file: &Path) -> Vec<(u32, String)> {
    Vec::new()
}

/// SIGTERM asks, SIGKILL forces (the same numbers on Linux and macOS).
#[cfg(unix)]
fn terminate(pid: u32, force: bool) {
    const SIGTERM: i32 = 15;
    const SIGKILL: i32 = 9;
    // kill(2) from the C library, which the standard library links anyway:
    // declaring it saves a dependency for a single call.
    unsafe extern "C" {
        fn kill(pid: i32, signal: i32) -> i32;
    }
    // 0, -1 and other negative numbers would signal whole groups of processes.
    if let Ok(pid) = i32::try_from(pid)
        && pid > 1
    {
        // SAFETY: kill(2) takes two integers and touches no memory of ours.
        unsafe { kill(pid, if force { SIGKILL } else { SIGTERM }) };
    }
}

/// Is process `pid` alive and running `binary`? (See the Unix version.)
#[cfg(windows)]
pub fn runs(pid: u32, binary: &Path) -> bool {
    image(pid).is_some_and(|image| {
        binary
            .file_name()
            .is_some_and(|name| name.to_string_lossy().eq_ignore_ascii_case(&image))
    })
}

#[cfg(windows)]
fn alive(pid: u32) -> bool {
    image(pid).is_some()
}

/// The file name of the program process `pid` runs, if it exists.
#[cfg(windows)]
fn image(pid: u32) -> Option<String> {
    // One CSV line per process: "s04.exe","1234","Console","1","9,876 K"
    let output = Command::new("tasklist")
        .args(["/FI", &format!("PID eq {pid}"), "/FO", "CSV", "/NH"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.trim().split(',').map(|f| f.trim_matches('"'));
    let image = fields.next()?.to_string();
    // With no such process, tasklist prints an "INFO: ..." line instead.
    (fields.next()? == pid.to_string()).then_some(image)
}

/// A server without a window cannot be asked to close on Windows, so this
/// always forces it. Nothing is lost: SQLite commits are atomic.
#[cfg(windows)]
fn terminate(pid: u32, _force: bool) {
    let _ = Command::new("taskkill")
        .args(["/PID", &pid.to_string(), "/F"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
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
