//! Processes known by their id, on Linux, macOS and Windows: is one still
//! there, does it run a given program, and stopping it. `scripts/switch`
//! (the steps' servers) and `services` (PostgreSQL, Redis, nginx) both stop
//! what they started through this module, with the standard library and the
//! tools every system has.

use std::path::Path;
#[cfg(not(target_os = "linux"))]
use std::process::Command;
#[cfg(windows)]
use std::process::Stdio;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How a process is asked to stop before it is forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// SIGTERM: a step finishes the requests in flight, Redis and nginx exit.
    Terminate,
    /// SIGINT: PostgreSQL's fast shutdown (SIGTERM is its smart one, which
    /// waits for every client to leave).
    Interrupt,
}

/// Stops process `pid` if it still runs `binary`: asks first, then forces it
/// if it is still there after `patience`. Done early as soon as `done()` says
/// so, even if the process is still finishing: `switch --watch` restarts a
/// step as soon as the old one has closed its port.
pub fn stop(
    pid: u32,
    binary: &Path,
    ask: Ask,
    patience: Duration,
    done: impl Fn() -> bool,
) -> Result<(), String> {
    if !runs(pid, binary) {
        return Ok(());
    }
    // From here on, wait for the process to be gone, not for its command
    // line to change: an exiting process shows an empty command line while
    // it still holds its files, the listening socket among them.
    for force in [false, true] {
        terminate(pid, ask, force);
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if !alive(pid) || done() {
                return Ok(());
            }
            sleep(Duration::from_millis(20));
        }
    }
    Err(format!(
        "process {pid} ({}) does not stop",
        binary.display()
    ))
}

/// Is process `pid` alive and running `binary`? Once a process is gone its
/// PID is given to the next program that starts, so the PID alone could name
/// someone else's program: check what it runs before stopping it. On Linux,
/// from its executable in /proc, as servers rewrite their command line
/// ("nginx: master process ...").
#[cfg(target_os = "linux")]
pub fn runs(pid: u32, binary: &Path) -> bool {
    // A zombie, which has exited, has no executable there any more.
    let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
        return false;
    };
    // A package upgrade or a new build replaces the file under a running
    // program, which Linux then shows as "/usr/bin/redis-server (deleted)".
    let exe = exe.to_string_lossy();
    let exe = exe.strip_suffix(" (deleted)").unwrap_or(&exe);
    Path::new(exe) == canonical(binary)
}

/// `path` with its links resolved, or its folder's when the file is gone.
#[cfg(target_os = "linux")]
fn canonical(path: &Path) -> std::path::PathBuf {
    path.canonicalize()
        .ok()
        .or_else(|| Some(path.parent()?.canonicalize().ok()?.join(path.file_name()?)))
        .unwrap_or_else(|| path.to_path_buf())
}

/// Is process `pid` alive and running `binary`? (See the Linux version.)
/// Elsewhere, from its command line, which must start with `binary`.
#[cfg(all(unix, not(target_os = "linux")))]
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
pub fn alive(pid: u32) -> bool {
    state(pid).is_some_and(|state| state != 'Z' && state != 'X')
}

/// The state letter of process `pid` (R, S, Z...), if it exists.
#[cfg(target_os = "linux")]
fn state(pid: u32) -> Option<char> {
    // /proc/PID/stat reads "1234 (s04) S ...": the state follows the last ')'.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The command line of a live process, its words joined by spaces: to tell
/// people which program holds a file.
#[cfg(target_os = "linux")]
pub fn command_line(pid: u32) -> Option<String> {
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

/// The command line of a live process (see the Linux version).
#[cfg(all(unix, not(target_os = "linux")))]
pub fn command_line(pid: u32) -> Option<String> {
    ps(pid).and_then(|(state, line)| (state != 'Z').then_some(line))
}

/// SIGTERM or SIGINT asks, SIGKILL forces (the same numbers on Linux and macOS).
#[cfg(unix)]
fn terminate(pid: u32, ask: Ask, force: bool) {
    const SIGINT: i32 = 2;
    const SIGKILL: i32 = 9;
    const SIGTERM: i32 = 15;
    // kill(2) from the C library, which the standard library links anyway:
    // declaring it saves a dependency for a single call.
    unsafe extern "C" {
        fn kill(pid: i32, signal: i32) -> i32;
    }
    let signal = match (force, ask) {
        (true, _) => SIGKILL,
        (false, Ask::Terminate) => SIGTERM,
        (false, Ask::Interrupt) => SIGINT,
    };
    // 0, -1 and other negative numbers would signal whole groups of processes.
    if let Ok(pid) = i32::try_from(pid)
        && pid > 1
    {
        // SAFETY: kill(2) takes two integers and touches no memory of ours.
        unsafe { kill(pid, signal) };
    }
}

/// Is process `pid` alive and running `binary`? (See the Linux version.)
#[cfg(windows)]
pub fn runs(pid: u32, binary: &Path) -> bool {
    image(pid).is_some_and(|image| {
        binary
            .file_name()
            .is_some_and(|name| name.to_string_lossy().eq_ignore_ascii_case(&image))
    })
}

/// Is process `pid` still there?
#[cfg(windows)]
pub fn alive(pid: u32) -> bool {
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
fn terminate(pid: u32, _ask: Ask, _force: bool) {
    let _ = Command::new("taskkill")
        .args(["/PID", &pid.to_string(), "/F"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// A rebuilt step or an upgraded package replaces the binary under a
    /// running process: it still runs "its" binary, and is stopped.
    #[test]
    fn a_process_whose_binary_was_replaced_is_still_recognised_and_stopped() {
        let dir = std::env::temp_dir().join(format!("shared-process-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join("sleep");
        std::fs::copy("/bin/sleep", &copy).unwrap();
        // Another test's fork may briefly hold the new file open for
        // writing ("Text file busy"): try again.
        let mut tries = 0;
        let mut child = loop {
            match std::process::Command::new(&copy).arg("60").spawn() {
                Err(e) if e.raw_os_error() == Some(26) && tries < 50 => tries += 1,
                started => break started.unwrap(),
            }
            sleep(Duration::from_millis(20));
        };
        let pid = child.id();
        let started = Instant::now();
        while !runs(pid, &copy) && started.elapsed() < Duration::from_secs(5) {
            sleep(Duration::from_millis(10));
        }
        assert!(runs(pid, &copy));
        std::fs::remove_file(&copy).unwrap();
        assert!(runs(pid, &copy), "still ours once its binary is deleted");
        assert!(!runs(pid, Path::new("/bin/sleep")));

        stop(pid, &copy, Ask::Terminate, Duration::from_secs(5), || false).unwrap();
        assert!(!alive(pid), "a zombie is gone");
        assert!(child.wait().is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
