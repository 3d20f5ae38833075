//! `scripts/diff 03 04`: what step 04 changes, compared with step 03, over the
//! whole crate: code, tests, static files, Cargo.toml. `git diff --no-index`
//! does the comparing (it works on any two folders, in a repository or not),
//! on copies of the two crates without what is not part of the lesson.
//! Before the diff, the steps it covers, with their titles: `scripts/diff
//! 04 06` is what a class that last saw step 04 is shown at step 06.

use std::fs;
use std::io::{self, ErrorKind, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use crate::steps::{self, Step};

pub const USAGE: &str = "\
usage: scripts/diff [OLD] NEW [--code] [--stat] [other git diff options]

  scripts/diff 03 04      what step 04 changes, compared with step 03
  scripts/diff 04         the same: compared with the step before 04
  scripts/diff 04 07      what steps 05, 06 and 07 change together (listed first)
  scripts/diff 04 --code  only the app: src/, static/, migrations/ (step 22 on)
                          and Cargo.toml (without its dev-dependencies), no tests
  scripts/diff 04 --stat  only the files changed and how many lines

Steps may be written 04, s04 or 4. Options starting with - go to `git diff`
(e.g. --word-diff). The package name and the version string, which change at
every step, are left out, and so are the step's README.md (the lesson
itself), instance/ and target/.
";

/// Changes that are not the lesson: git leaves out a change when every line
/// of it matches one of these (`git diff -I`, git 2.30 and later).
const NOISE: [&str; 5] = [
    // The step's name as a string: the package's name in Cargo.toml, the
    // binary the tests start (CARGO_BIN_EXE_s04).
    r#"[_"]s[0-9][0-9][a-z]?""#,
    // Cargo.toml's one-line title ("Step 04 of the Rust chat tutorial: ...").
    r#"^description = "Step "#,
    // What /api/version answers, and what the tests expect it to say.
    r#"^const VERSION: &str = "#,
    r#"version[]":, (]*[0-9][0-9][a-z]?[")]"#,
    // Comments naming the step ("Step 04 against its real binary"). The first
    // line of src/main.rs ("//! Step 04: ...") stays: it says what the step adds.
    r#"^ *(//|#).*Step [0-9][0-9][a-z]?([^:0-9a-z]|$)"#,
];

/// What is not copied from the top of a step's folder.
const LEFT_OUT: [&str; 3] = ["README.md", "instance", "target"];

/// With `--code`, all that is copied from the top of a step's folder: the app.
const CODE_ONLY: [&str; 4] = ["src", "static", "migrations", "Cargo.toml"];

pub fn main(args: Vec<String>) -> Result<(), String> {
    let (mut names, mut git_options, mut code_only) = (Vec::new(), Vec::new(), false);
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--" => {}
            "--code" => code_only = true,
            option if option.starts_with('-') => git_options.push(arg),
            _ => names.push(arg),
        }
    }
    let root = steps::workspace_root();
    let all = steps::all(&root)?;
    let (old, new) = match names.as_slice() {
        [new] => {
            let new = steps::find(&all, new)?;
            let old = steps::previous(&all, new).ok_or_else(|| {
                format!("{} is the first step: nothing comes before it", new.name)
            })?;
            (old, new)
        }
        [old, new] => (steps::find(&all, old)?, steps::find(&all, new)?),
        _ => return Err(format!("which steps?\n\n{USAGE}")),
    };

    let covered = between(&all, old, new);
    let (_scratch, mut git) = git_diff(old, new, code_only)?;
    git.args(&git_options);
    let status = show(&covered, &git_options, git, [old, new])?;
    // `git diff --no-index` exits with 1 when the folders differ: that is
    // what we asked for, not a failure.
    match status.code() {
        Some(0) => {
            eprintln!("{} and {} do not differ", old.name, new.name);
            Ok(())
        }
        // No code: a signal stopped git, because what read its output went
        // away (`scripts/diff 04 | head`) or Ctrl-C was pressed. Nothing to add.
        Some(1) | None => Ok(()),
        _ => Err(format!(
            "git diff failed ({status}); scripts/diff needs git 2.30 or later (git --version)"
        )),
    }
}

/// The steps whose changes the diff from `old` to `new` shows, with their
/// titles: from the one after `old` up to `new` (going back, from `old`
/// down to the one after `new`, whose changes it undoes).
fn between(all: &[Step], old: &Step, new: &Step) -> String {
    let position = |step: &Step| all.iter().position(|s| s.name == step.name);
    let (Some(from), Some(to)) = (position(old), position(new)) else {
        return String::new();
    };
    let (steps, going): (Vec<&Step>, &str) = if from <= to {
        (all[from + 1..=to].iter().collect(), "")
    } else {
        (all[to + 1..=from].iter().rev().collect(), ", undone")
    };
    let count = match steps.len() {
        1 => "1 step".to_string(),
        n => format!("{n} steps"),
    };
    let heading = format!("{} -> {}: {count}{going}\n", old.name, new.name);
    let mut text = heading;
    for step in steps {
        text.push_str(&format!("  {:<5} {}\n", step.name, step.title()));
    }
    text.push('\n');
    text
}

/// Runs `git` (the diff, options given) on the two steps, after printing
/// `heading`. In a terminal, both go through git's pager together, so a
/// long diff does not push the list of steps out of sight; colours are then
/// git's choice for a terminal (`color.diff`, `color.ui`).
fn show(
    heading: &str,
    git_options: &[String],
    mut git: Command,
    [old, new]: [&Step; 2],
) -> Result<ExitStatus, String> {
    let terminal = io::stdout().is_terminal();
    let pager = if terminal { pager() } else { None };
    if terminal && !git_options.iter().any(|o| o.contains("color")) {
        git.arg(if colour_wanted() {
            "--color=always"
        } else {
            "--no-color"
        });
    }
    git.arg("--")
        .args([old, new].map(|step| format!("steps/{}", step.name)));
    let Some(mut pager) = pager else {
        print!("{heading}");
        let _ = io::stdout().flush();
        return git.status().map_err(git_missing);
    };
    let mut input = pager.stdin.take().expect("the pager's input is piped");
    // A pager that quits at once (q) closes its input: nothing to report.
    let _ = input.write_all(heading.as_bytes());
    let status = git.stdout(Stdio::from(input)).status().map_err(git_missing);
    let _ = pager.wait();
    status
}

/// The pager git would use (`GIT_PAGER`, `core.pager`, `PAGER`, then
/// `less`), started with its input piped; `None` when there is none (`cat`)
/// or it cannot be started (then the output is not paged).
fn pager() -> Option<std::process::Child> {
    let output = Command::new("git")
        .args(["var", "GIT_PAGER"])
        .output()
        .ok()?;
    let pager = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || pager.is_empty() || pager == "cat" {
        return None;
    }
    let mut command = if cfg!(windows) {
        let mut words = pager.split_whitespace();
        let mut command = Command::new(words.next()?);
        command.args(words);
        command
    } else {
        let mut command = Command::new("sh");
        command.args(["-c", &pager]);
        command
    };
    // What git sets for its pager unless the user did: quit if it fits on
    // one screen, keep the colours, leave the text on the screen after.
    for (name, value) in [("LESS", "FRX"), ("LV", "-c")] {
        if std::env::var_os(name).is_none() {
            command.env(name, value);
        }
    }
    command.stdin(Stdio::piped()).spawn().ok()
}

/// Would git colour a diff in this terminal? (`color.diff`, `color.ui`.)
fn colour_wanted() -> bool {
    Command::new("git")
        .args(["config", "--get-colorbool", "color.diff", "true"])
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "true")
}

/// `git diff --no-index` with the noise left out, ready for more options and
/// then `--` and the two folders `steps/OLD` and `steps/NEW`, to run in the
/// scratch folder that holds the copies (dropping it removes them).
pub(crate) fn git_diff(
    old: &Step,
    new: &Step,
    code_only: bool,
) -> Result<(Scratch, Command), String> {
    // Copies named steps/s03 and steps/s04, so that git shows the real paths.
    let scratch = Scratch::new()?;
    let keep = |name: &str| {
        if code_only {
            CODE_ONLY.contains(&name)
        } else {
            !LEFT_OUT.contains(&name)
        }
    };
    for step in [old, new] {
        copy_crate(&step.dir, &scratch.folder(step), Some(&keep))
            .map_err(|e| format!("cannot copy {}: {e}", step.dir.display()))?;
        if code_only {
            let manifest = scratch.folder(step).join("Cargo.toml");
            if let Ok(text) = fs::read_to_string(&manifest) {
                fs::write(&manifest, without_test_sections(&text))
                    .map_err(|e| format!("cannot write {}: {e}", manifest.display()))?;
            }
        }
    }
    let mut git = Command::new("git");
    git.current_dir(&scratch.0)
        .args(["diff", "--no-index"])
        .args(NOISE.map(|regex| format!("-I{regex}")));
    Ok((scratch, git))
}

pub(crate) fn git_missing(e: io::Error) -> String {
    match e.kind() {
        ErrorKind::NotFound => {
            "scripts/diff uses git, which was not found: install it from https://git-scm.com"
                .to_string()
        }
        _ => format!("cannot run git: {e}"),
    }
}

/// Copies a step's crate, leaving out hidden files (editors' swap files,
/// .DS_Store) and, at the top, what `keep` refuses.
pub(crate) fn copy_crate(
    from: &Path,
    to: &Path,
    keep: Option<&dyn Fn(&str) -> bool>,
) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let name_text = name.to_string_lossy();
        if name_text.starts_with('.') || keep.is_some_and(|keep| !keep(&name_text)) {
            continue;
        }
        if entry.file_type()?.is_dir() {
            copy_crate(&entry.path(), &to.join(&name), None)?;
        } else {
            fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

/// A Cargo.toml without what only the tests use (`[dev-dependencies]`,
/// `[[test]]`): with `--code`, a change there is not the app's.
fn without_test_sections(manifest: &str) -> String {
    let mut kept = String::new();
    let mut skipping = false;
    for line in manifest.split_inclusive('\n') {
        let header = line.trim();
        if header.starts_with('[') {
            skipping = header == "[[test]]" || header.ends_with("dev-dependencies]");
        }
        if !skipping {
            kept.push_str(line);
        }
    }
    kept
}

/// A temporary folder, removed when dropped.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, String> {
        let path = std::env::temp_dir().join(format!("xtask-diff-{}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Scratch(path))
    }

    fn folder(&self, step: &Step) -> PathBuf {
        self.0.join("steps").join(&step.name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
