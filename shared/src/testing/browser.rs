//! Real-browser checks: runs a step's `tests/pages.mjs` with node, against a
//! running [`TestApp`], in headless Chromium driven by playwright-core
//! (`shared/browser/harness.mjs`; see docs/browser-tests.md).
//!
//! In a step's `tests/step/pages.rs`:
//! ```ignore
//! let app = shared::test_app!();
//! app.add_sample_users();
//! browser::check_pages(&app, concat!(env!("CARGO_MANIFEST_DIR"), "/tests/step/pages.mjs"));
//! ```
//!
//! What it needs: Node.js 20 or newer, `npm ci` run once at the repository's
//! root (it installs playwright-core, without any browser), and Chromium or
//! Chrome. `CHROMIUM_PATH` names the browser when it is not found on its own.
//! When one is missing, the checks are skipped with a message saying what to
//! install; in CI (`CI=true`) that is a failure instead.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{TestApp, missing_tool};

/// How long one file of page checks may take, browser start included.
const TIME_LIMIT: Duration = Duration::from_secs(180);

/// Runs the page checks in `script` (a `.mjs` file using `node:test`)
/// against `app`; the step's name starts the screenshots' names
/// (`target/screenshots/<step>-*.png`). Fails the test, with node's report,
/// when a check fails. Answers whether the checks ran: false when they were
/// skipped for a missing tool (never in CI, where that fails instead).
///
/// A check may restart the app (`await app.restart()` in the harness): it
/// asks through a file in a folder of its own (`CONTROL_DIR`), and this
/// function, which waits for node, restarts the app on the same port.
pub fn check_pages(app: &TestApp, script: &str) -> bool {
    let restart = |command: &str| match command {
        "restart" => {
            app.restart_on_the_same_port();
            Ok(String::new())
        }
        other => Err(format!("no command {other:?} here")),
    };
    check_pages_with(script, &app.step, &app.base_url, &restart)
}

/// [`check_pages`] against the server at `base_url` (several instances
/// behind nginx, step 23): each `await app.control("name")` of the checks
/// runs `commands("name")` here, and answers its text; an `Err` fails that
/// check with its text.
pub fn check_pages_with(
    script: &str,
    step: &str,
    base_url: &str,
    commands: &dyn Fn(&str) -> Result<String, String>,
) -> bool {
    let Some(tools) = find_tools() else {
        return false;
    };
    // Where the checks ask, and where they find the answers.
    let folder = super::temp_dir();
    let control = folder.as_path();
    let screenshots = target_dir().join("screenshots");

    let mut child = Command::new(&tools.node)
        .arg("--test-reporter=spec")
        .arg(script)
        .current_dir(workspace_root())
        .env("BASE_URL", base_url)
        .env("CHROMIUM_PATH", &tools.chromium)
        .env("STEP", step)
        .env("SCREENSHOT_DIR", &screenshots)
        .env("CONTROL_DIR", control)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", tools.node.display()));
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        // A request is a file `<command>.asked`; its answer `<command>.done`,
        // or `<command>.failed` with the reason.
        for asked in std::fs::read_dir(control).into_iter().flatten().flatten() {
            let name = asked.file_name().to_string_lossy().into_owned();
            let Some(command) = name.strip_suffix(".asked") else {
                continue;
            };
            let _ = std::fs::remove_file(asked.path());
            let (answer, text) = match commands(command) {
                Ok(text) => ("done", text),
                Err(why) => ("failed", why),
            };
            // Written aside, then renamed: the checks never read half of it.
            let aside = control.join(format!("{command}.writing"));
            std::fs::write(&aside, text).expect("answer the checks");
            std::fs::rename(&aside, control.join(format!("{command}.{answer}")))
                .expect("answer the checks");
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    let _ = std::fs::remove_dir_all(&folder);
    let report = format!(
        "{}{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    match status {
        Some(status) if status.success() => {
            println!(
                "{report}page checks passed in {:.1} s; screenshots in {}",
                started.elapsed().as_secs_f32(),
                screenshots.display()
            );
            true
        }
        Some(status) => panic!("page checks in {script} failed ({status}):\n{report}"),
        None => panic!(
            "page checks in {script} took more than {} s and were stopped:\n{report}",
            TIME_LIMIT.as_secs()
        ),
    }
}

struct Tools {
    node: PathBuf,
    chromium: PathBuf,
}

/// Finds node, playwright-core and a browser; says what is missing otherwise.
fn find_tools() -> Option<Tools> {
    let node = Path::new("node");
    let version = Command::new(node)
        .arg("--version")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string());
    let major: Option<u32> = version
        .as_deref()
        .and_then(|v| v.trim_start_matches('v').split('.').next()?.parse().ok());
    if major.is_none_or(|major| major < 20) {
        let found = version.map_or("no `node` on the PATH".into(), |v| format!("node {v}"));
        return skip(&format!(
            "the browser tests need Node.js 20 or newer ({found}). Install it \
             (nodejs.org, or your package manager if it has 20 or newer), then run `npm ci` \
             at the repository's root."
        ));
    }
    if !workspace_root()
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return skip(
            "playwright-core is not installed: run `npm ci` at the repository's root \
             (one npm package, about 14 MB; it downloads no browser).",
        );
    }
    let chromium = match find_chromium() {
        Ok(chromium) => chromium,
        Err(reason) => return skip(&reason),
    };
    Some(Tools {
        node: node.into(),
        chromium,
    })
}

/// The browser to drive: `CHROMIUM_PATH` if set, otherwise the first of the
/// usual names on the PATH, then the usual install places on macOS and Windows.
///
/// Chromium's headless shell comes first (Debian's `chromium-headless-shell`
/// package; Playwright's own default for headless runs): the same Blink and
/// V8 without the desktop browser around them. Measured here, a window costs
/// 0.12 s of CPU in it against 0.43 s in the full `chromium --headless`, and
/// s14's page checks take 4.6 s instead of 8.6 s (bench/README.md).
pub fn find_chromium() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("CHROMIUM_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "CHROMIUM_PATH is {}, which is not a file",
                path.display()
            ))
        };
    }
    let names = [
        "chromium-headless-shell",
        "chrome-headless-shell",
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
        "chrome",
    ];
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| names.map(|name| dir.join(name)))
            .collect::<Vec<_>>()
    });
    let installed = [
        "/Applications/Chromium.app/Contents/MacOS/Chromium",
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
    ]
    .map(PathBuf::from);
    on_path.chain(installed).find(|path| path.is_file()).ok_or(
        "no Chromium or Chrome found. Install Chromium's headless shell (Debian/Ubuntu: \
         `apt install chromium-headless-shell`) or Chromium, or set CHROMIUM_PATH to a \
         Chromium or Chrome binary."
            .into(),
    )
}

/// Skips the browser checks with a banner nobody can miss; in CI, fails instead.
fn skip(reason: &str) -> Option<Tools> {
    missing_tool(&format!(
        "the pages were NOT checked in a browser: {reason} (see docs/browser-tests.md)"
    ));
    None
}

/// The repository's root, where `package.json` and `node_modules/` are.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the shared crate is in the workspace's root")
        .to_path_buf()
}

/// Cargo's target folder (wherever `CARGO_TARGET_DIR` put it): the nearest
/// folder above the running test binary that holds cargo's `CACHEDIR.TAG`.
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|dir| dir.join("CACHEDIR.TAG").is_file())
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness itself: pages that each break one rule (a request to
    /// another host, a console error, markup that runs...) must be reported.
    #[test]
    fn the_harness_reports_what_a_page_must_never_do() {
        let script = workspace_root().join("shared/browser/selftest.mjs");
        // The script serves its own pages and sets BASE_URL itself; its
        // `app.control("echo")` is answered, any other command fails.
        let echo = |command: &str| match command {
            "echo" => Ok("echoed".to_string()),
            other => Err(format!("no command {other:?} here")),
        };
        check_pages_with(&script.to_string_lossy(), "harness", "", &echo);
    }
}
