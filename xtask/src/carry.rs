//! `cargo xtask carry 04`: a change made in step 04 (not committed yet) is
//! applied to every later step in turn, s05, s06, ..., with `git apply`, and
//! stops at the first step where it does not apply as it is. For the
//! maintainers: a fix to code that many steps share is made once.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::steps::{self, Step};

pub const USAGE: &str = "\
usage: cargo xtask carry STEP [PATH ...] [--check]

  cargo xtask carry 04             apply the uncommitted change of steps/s04
                                   to s05, s06, ... in turn
  cargo xtask carry 04 src/db.rs   only the change to these paths of the step
  cargo xtask carry 04 --check     only say which steps it would apply to

The change is steps/<STEP> in the working tree against HEAD, new untracked
files included. It goes no further than a step that replaces one of the
changed files (a machinery file whose //! says \"Replaced at step NN\",
`cargo xtask check`): from there on, the steps have that step's copy. The step's README.md is left out (each step's lesson is its
own) unless it is named as a PATH. Each later step gets the change with
`git apply`, which wants the same lines around it (no fuzz); carry stops at the
first step where it does not apply, and says which file and why. The index is
never touched.
";

pub fn main(args: Vec<String>) -> Result<(), String> {
    let (mut words, mut check) = (Vec::new(), false);
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--check" => check = true,
            option if option.starts_with('-') => {
                return Err(format!("unknown option {option:?}\n\n{USAGE}"));
            }
            _ => words.push(arg),
        }
    }
    let Some((wanted, paths)) = words.split_first() else {
        return Err(format!("which step's change?\n\n{USAGE}"));
    };
    let root = steps::workspace_root();
    let all = steps::all(&root)?;
    let from = steps::find(&all, wanted)?;
    let position = all.iter().position(|s| s.name == from.name).unwrap_or(0);
    let later = &all[position + 1..];
    if later.is_empty() {
        return Err(format!(
            "{} is the last step: there is nowhere to carry its change",
            from.name
        ));
    }

    let patch = change(&root, from, paths)?;
    if patch.trim().is_empty() {
        return Err(format!(
            "steps/{} has no uncommitted change{} (README.md is left out unless named)",
            from.name,
            if paths.is_empty() {
                String::new()
            } else {
                format!(" in {}", paths.join(", "))
            }
        ));
    }

    let mut done: Vec<&str> = Vec::new();
    let mut replaced = None;
    for step in later {
        if let Some(file) = replaces(&root, &from.name, step, &patch) {
            replaced = Some(format!(
                "; not to {} and later, which replace {file} (its //! says so): \
                 make the change there by hand if it applies",
                step.name
            ));
            break;
        }
        let moved = move_patch(&patch, &from.name, &step.name);
        if let Err(why) = git_apply(&root, &moved, true) {
            let so_far = match done.as_slice() {
                [] => "no step got it".to_string(),
                names if check => format!("it would apply to {}", names.join(", ")),
                names => format!("carried to {}", names.join(", ")),
            };
            return Err(format!(
                "the change of {} does not apply to {}{}: {so_far}.\n\
                 git apply says:\n{why}\n\
                 From {} on, make the change by hand (then `cargo xtask carry {}` \
                 can take it further).",
                from.name,
                step.name,
                file_named(&why)
                    .map(|f| format!(", file {f}"))
                    .unwrap_or_default(),
                step.name,
                step.name,
            ));
        }
        if !check {
            git_apply(&root, &moved, false)?;
        }
        done.push(&step.name);
    }
    let verb = if check {
        "would apply to"
    } else {
        "carried to"
    };
    let done = match done.as_slice() {
        [] => "no step".to_string(),
        names => names.join(", "),
    };
    let replaced = replaced.unwrap_or_default();
    println!("the change of {} {verb} {done}{replaced}", from.name);
    Ok(())
}

/// A file the patch changes that `step` replaces (its copy's module doc
/// says "Replaced at step NN", NN being `step`'s number), if any.
fn replaces(root: &Path, from: &str, step: &Step, patch: &str) -> Option<String> {
    let prefix = format!("diff --git a/steps/{from}/");
    let number = step.name.trim_start_matches('s');
    patch
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_once(' ').map(|(file, _)| file.to_string()))
        .find(|file| {
            let copy = root.join("steps").join(&step.name).join(file);
            std::fs::read_to_string(copy)
                .is_ok_and(|text| crate::check::replaced_at(&text).as_deref() == Some(number))
        })
}

/// The step's uncommitted change as a patch: `git diff HEAD` for the files
/// git knows, `git diff --no-index /dev/null FILE` for new untracked ones.
fn change(root: &Path, step: &Step, paths: &[String]) -> Result<String, String> {
    let base = format!("steps/{}", step.name);
    let mut pathspecs: Vec<String> = paths
        .iter()
        .map(|path| {
            // `src/db.rs` and `steps/s04/src/db.rs` both name the step's file.
            let path = path.replace('\\', "/");
            let inside = path.strip_prefix(&format!("{base}/")).unwrap_or(&path);
            format!("{base}/{}", inside.trim_end_matches('/'))
        })
        .collect();
    if pathspecs.is_empty() {
        pathspecs = vec![base.clone(), format!(":(exclude){base}/README.md")];
    }
    // Explicit prefixes and no colours, whatever the user's git config says.
    let options = [
        "--no-color",
        "--no-ext-diff",
        "--no-renames",
        "--binary",
        "--src-prefix=a/",
        "--dst-prefix=b/",
    ];
    let mut patch = git(
        root,
        &[&["diff"], &options[..], &["HEAD", "--"]].concat(),
        &pathspecs,
    )?;
    let untracked = git(
        root,
        &["ls-files", "--others", "--exclude-standard", "--"],
        &pathspecs,
    )?;
    for file in untracked.lines() {
        patch.push_str(&git(
            root,
            &[
                &["diff", "--no-index"],
                &options[..],
                &["--", "/dev/null", file],
            ]
            .concat(),
            &[],
        )?);
    }
    Ok(patch)
}

/// Runs git in `root`; its output. `git diff --no-index` exits with 1 when
/// the files differ, which is what was asked.
fn git(root: &Path, args: &[&str], more: &[String]) -> Result<String, String> {
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .args(more)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let differ = args.contains(&"--no-index") && output.status.code() == Some(1);
    if !output.status.success() && !differ {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The patch with `steps/s04/` replaced by `steps/s05/` in its file names,
/// never in the lines of code it changes.
fn move_patch(patch: &str, from: &str, to: &str) -> String {
    let (from, to) = (format!("steps/{from}/"), format!("steps/{to}/"));
    let mut in_header = false;
    let mut moved = String::with_capacity(patch.len());
    for line in patch.split_inclusive('\n') {
        if line.starts_with("diff --git ") {
            in_header = true;
        } else if line.starts_with("@@") || line.starts_with("GIT binary patch") {
            in_header = false;
        }
        if in_header {
            moved.push_str(&line.replace(&from, &to));
        } else {
            moved.push_str(line);
        }
    }
    moved
}

/// `git apply` (or only `--check`) with the patch on its standard input; git's
/// message when it refuses.
fn git_apply(root: &Path, patch: &str, check_only: bool) -> Result<(), String> {
    let mut command = Command::new("git");
    command
        .current_dir(root)
        .args(["apply", "--whitespace=nowarn"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if check_only {
        command.arg("--check");
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(patch.as_bytes())
            .map_err(|e| format!("cannot give git the patch: {e}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("git apply: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr)
            .trim_end()
            .to_string())
    }
}

/// The file git apply complains about: "error: patch failed: steps/s05/src/db.rs:12"
/// or "error: steps/s05/src/db.rs: does not exist in index".
fn file_named(message: &str) -> Option<String> {
    let line = message.lines().find_map(|l| l.strip_prefix("error: "))?;
    let line = line.strip_prefix("patch failed: ").unwrap_or(line);
    let (file, _) = line.split_once(':')?;
    file.starts_with("steps/").then(|| file.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_file_names_move_to_the_next_step() {
        let patch = "diff --git a/steps/s04/src/db.rs b/steps/s04/src/db.rs\n\
                     --- a/steps/s04/src/db.rs\n\
                     +++ b/steps/s04/src/db.rs\n\
                     @@ -1 +1 @@\n\
                     --- a/steps/s04/x\n\
                     +// see steps/s04/\n";
        let moved = move_patch(patch, "s04", "s05");
        assert!(moved.starts_with("diff --git a/steps/s05/src/db.rs b/steps/s05/src/db.rs\n"));
        assert!(moved.contains("+++ b/steps/s05/src/db.rs\n"));
        assert!(moved.ends_with("@@ -1 +1 @@\n--- a/steps/s04/x\n+// see steps/s04/\n"));
    }

    #[test]
    fn the_file_is_read_from_git_s_complaint() {
        let message = "error: patch failed: steps/s05/src/db.rs:12\n\
                       error: steps/s05/src/db.rs: patch does not apply";
        assert_eq!(file_named(message).as_deref(), Some("steps/s05/src/db.rs"));
        assert_eq!(file_named("fatal: corrupt patch"), None);
    }
}
