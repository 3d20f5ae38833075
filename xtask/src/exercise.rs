//! `scripts/exercise`: practise a step by changing it. An exercise
//! (`exercises/<name>/`: a statement, tests, a reference solution) starts
//! from one step; `start` copies that step into `exercises/work/<name>/`, a
//! crate of its own that the learner edits while the step stays untouched;
//! `check` runs the exercise's tests and the step's own on that copy and
//! says, in words, what is still wrong. `verify` (CI) proves each exercise
//! honest: its tests fail on the unmodified step and pass with the solution.
//!
//! The copy is a workspace of its own (not a member of the tutorial's, so
//! `cargo test --workspace` never runs half-done work) with the root's
//! Cargo.lock and `[profile.dev]`, and the root's `target/` as its target
//! folder: cargo then reuses the dependencies the steps already compiled,
//! and the first build of a copy only compiles `shared` and the copy itself.

use std::fs;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::diff::copy_crate;
use crate::steps::{self, Step};
use crate::switch;

pub const USAGE: &str = "\
usage: scripts/exercise                        list the exercises
       scripts/exercise start EXERCISE         copy its step into exercises/work/, print the task
       scripts/exercise check [EXERCISE]       run its checks on your copy: done, or what is still wrong
       scripts/exercise hint [EXERCISE]        show the next hint
       scripts/exercise run [EXERCISE] [-- OPTIONS]   run your copy (on :5001, like cargo run -p sNN)
       scripts/exercise run [EXERCISE] --watch [--seed] [--port N]
                                               ... and rebuild and restart it at each save
                                               (--seed: with the sample users and messages)
       scripts/exercise diff [EXERCISE]        what you changed, compared with the step
       scripts/exercise solution [EXERCISE] [--apply]  the reference solution (--apply: onto your copy)
       scripts/exercise reset [EXERCISE]       start again from the step (your copy is kept aside)
       scripts/exercise verify [EXERCISE ...]  (maintainers, CI) each fails on its step, passes solved

An EXERCISE is named by its number in the list, its name, or a part of its
name (`nickname`); without one, the exercise you started (if only one is).
Your copy is exercises/work/<name>/, a crate of its own: edit it, and
`cargo run`/`cargo test` work inside it too.
";

/// One exercise: `exercises/<name>/`, started from the step its name begins with.
struct Exercise {
    /// `s03-find-users-by-nickname`
    name: String,
    /// `s03`
    step: String,
    /// The statement's title: its first line without the `# `.
    title: String,
    dir: PathBuf,
}

/// Where learners' copies go (git-ignored).
const WORK: &str = "exercises/work";

/// `run`'s options: served as `scripts/switch` serves a step (`--watch`,
/// `--seed`), or with `cargo run` (neither).
#[derive(Default)]
struct Serve {
    watch: bool,
    seed: bool,
    port: Option<u16>,
}

pub fn main(args: Vec<String>) -> Result<(), String> {
    let (mut words, mut apply) = (Vec::new(), false);
    let mut serve = Serve::default();
    let mut passed_on = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--apply" => apply = true,
            "--watch" | "-w" => serve.watch = true,
            "--seed" => serve.seed = true,
            "--port" | "-p" => serve.port = Some(crate::switch::port_option(inline, &mut args)?),
            // What follows `--` goes to the copy (`run -- --port 5002`).
            "--" => passed_on.extend(args.by_ref()),
            _ => words.push(arg),
        }
    }
    let command = words.first().cloned().unwrap_or_default();
    if (serve.watch || serve.seed || serve.port.is_some()) && command != "run" {
        return Err("--watch, --seed and --port go with run: scripts/exercise run --watch".into());
    }
    let root = steps::workspace_root();
    let exercises = all(&root)?;
    let named = words.get(1).map(String::as_str);
    match command.as_str() {
        "" | "list" => list(&root, &exercises),
        "start" => {
            let exercise = find(&exercises, named.ok_or("which exercise? (see the list)")?)?;
            start(&root, exercise)
        }
        "check" => check(&root, chosen(&root, &exercises, named)?),
        "hint" => hint(&root, chosen(&root, &exercises, named)?),
        "run" => run(&root, chosen(&root, &exercises, named)?, &serve, passed_on),
        "diff" => {
            let exercise = chosen(&root, &exercises, named)?;
            print!(
                "{}",
                learner_diff(&root, exercise, &work_dir(&root, exercise))?
            );
            Ok(())
        }
        "solution" => solution(&root, chosen(&root, &exercises, named)?, apply),
        "reset" => reset(&root, chosen(&root, &exercises, named)?),
        "verify" => {
            let wanted: Vec<&Exercise> = if words.len() > 1 {
                words[1..]
                    .iter()
                    .map(|w| find(&exercises, w))
                    .collect::<Result<_, _>>()?
            } else {
                exercises.iter().collect()
            };
            verify(&root, &wanted)
        }
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    }
}

// ------------------------------------------------------------ the exercises

/// Every folder of `exercises/` with a README.md, in the order of their steps.
fn all(root: &Path) -> Result<Vec<Exercise>, String> {
    let folder = root.join("exercises");
    let entries = match fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", folder.display())),
    };
    let mut exercises = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(statement) = fs::read_to_string(dir.join("README.md")) else {
            continue;
        };
        let Some((step, _)) = name.split_once('-') else {
            continue;
        };
        let title = statement
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches('#')
            .trim()
            .to_string();
        exercises.push(Exercise {
            step: step.to_string(),
            name,
            title,
            dir,
        });
    }
    // Step names sort in the tutorial's order (s01 < s01b < s02).
    exercises.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(exercises)
}

/// The exercise a learner means: its number in the list, its name, or a
/// part of its name that only it has.
fn find<'a>(exercises: &'a [Exercise], wanted: &str) -> Result<&'a Exercise, String> {
    let wanted = wanted.trim().trim_end_matches('/');
    let wanted = wanted.rsplit('/').next().unwrap_or(wanted);
    if let Ok(number) = wanted.parse::<usize>()
        && let Some(exercise) = number.checked_sub(1).and_then(|i| exercises.get(i))
    {
        return Ok(exercise);
    }
    if let Some(exercise) = exercises.iter().find(|e| e.name == wanted) {
        return Ok(exercise);
    }
    let matching: Vec<&Exercise> = exercises
        .iter()
        .filter(|e| e.name.contains(&wanted.to_lowercase()))
        .collect();
    match matching.as_slice() {
        [exercise] => Ok(exercise),
        [] => Err(format!(
            "there is no exercise {wanted:?}; the exercises are:\n{}",
            numbered(exercises)
        )),
        several => Err(format!(
            "{wanted:?} names several exercises: {}",
            several
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The exercise named, or else the one started (when only one is).
fn chosen<'a>(
    root: &Path,
    exercises: &'a [Exercise],
    named: Option<&str>,
) -> Result<&'a Exercise, String> {
    if let Some(named) = named {
        return find(exercises, named);
    }
    let started: Vec<&Exercise> = exercises
        .iter()
        .filter(|e| work_dir(root, e).join("Cargo.toml").is_file())
        .collect();
    match started.as_slice() {
        [one] => Ok(one),
        [] => Err("no exercise started yet: `scripts/exercise start 1` starts the first".into()),
        _ => Err(format!(
            "you started several exercises; say which: {}",
            started
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn numbered(exercises: &[Exercise]) -> String {
    exercises
        .iter()
        .enumerate()
        .map(|(i, e)| format!("  {:>2}  {:<34} {}\n", i + 1, e.name, e.title))
        .collect()
}

fn work_dir(root: &Path, exercise: &Exercise) -> PathBuf {
    root.join(WORK).join(&exercise.name)
}

fn step_dir(root: &Path, exercise: &Exercise) -> Result<PathBuf, String> {
    let dir = root.join("steps").join(&exercise.step);
    if dir.join("Cargo.toml").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "exercise {} starts from step {}, which is not in steps/",
            exercise.name, exercise.step
        ))
    }
}

// --------------------------------------------------------------- the commands

fn list(root: &Path, exercises: &[Exercise]) -> Result<(), String> {
    if exercises.is_empty() {
        return Err("no exercises found in exercises/".into());
    }
    println!("The exercises (each starts from the step its name begins with):\n");
    for (i, exercise) in exercises.iter().enumerate() {
        let work = work_dir(root, exercise);
        let state = if work.join(".done").is_file() {
            "  [done]"
        } else if work.join("Cargo.toml").is_file() {
            "  [started]"
        } else {
            ""
        };
        println!(
            "  {:>2}  {:<34} {}{state}",
            i + 1,
            exercise.name,
            exercise.title
        );
    }
    println!(
        "\nStart one with `scripts/exercise start 1` (or its name); docs/exercises.md says more."
    );
    Ok(())
}

fn start(root: &Path, exercise: &Exercise) -> Result<(), String> {
    let work = work_dir(root, exercise);
    if work.join("Cargo.toml").is_file() {
        println!(
            "You already started {}: your copy is {} (`scripts/exercise reset {}` starts again).\n",
            exercise.name,
            shown(root, &work),
            exercise.name
        );
    } else {
        make_copy(root, exercise, &work)?;
        println!(
            "Step {} copied into {}: edit it there; steps/{} stays as it is.\n",
            exercise.step,
            shown(root, &work),
            exercise.step
        );
    }
    let statement = read(&exercise.dir.join("README.md"))?;
    let (task, hints) = split_hints(&statement);
    println!("{}", task.trim_end());
    println!(
        "\n----\n{}`scripts/exercise check` says what is still to do; `scripts/exercise run` runs \
         your copy on :5001 (`--watch`: and restarts it at each save).",
        match hints.len() {
            0 => String::new(),
            n => format!("{n} hints, one at a time: `scripts/exercise hint`.\n"),
        }
    );
    Ok(())
}

fn hint(root: &Path, exercise: &Exercise) -> Result<(), String> {
    let work = started(root, exercise)?;
    let statement = read(&exercise.dir.join("README.md"))?;
    let (_, hints) = split_hints(&statement);
    let counter = work.join(".hints");
    let shown_so_far: usize = fs::read_to_string(&counter)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    match hints.get(shown_so_far) {
        Some(hint) => {
            println!(
                "Hint {} of {}: {}",
                shown_so_far + 1,
                hints.len(),
                hint.trim()
            );
            let _ = fs::write(&counter, (shown_so_far + 1).to_string());
        }
        None => {
            // Start over next time: the learner may want to read them again.
            let _ = fs::remove_file(&counter);
            println!(
                "No more hints ({} shown; the next `hint` starts again from the first). \
                 `scripts/exercise solution` shows the reference solution.",
                hints.len()
            );
        }
    }
    Ok(())
}

fn check(root: &Path, exercise: &Exercise) -> Result<(), String> {
    let work = started(root, exercise)?;
    // The exercise's tests as they are in exercises/, not as the copy may
    // have them: a learner passes by changing the app, not the tests.
    copy_exercise_tests(root, exercise, &work)?;
    println!(
        "Checking {} (building your copy, then running its tests)...",
        shown(root, &work)
    );
    let run = run_tests(&work, None)?;
    let _ = fs::remove_file(work.join(".done"));
    if let Some(errors) = &run.build_errors {
        println!("{errors}");
        println!("Your copy does not compile yet: the compiler's messages are above.");
        std::process::exit(1)
    }
    // The exercise's checks first, then the step's own, each in name order.
    let mut failed: Vec<&TestResult> = run.results.iter().filter(|t| !t.passed).collect();
    failed.sort_by_key(|t| (!t.is_exercise(), t.name.clone()));
    let total = run.results.len();
    let (ours, theirs): (Vec<&TestResult>, Vec<&TestResult>) =
        run.results.iter().partition(|t| t.is_exercise());
    for test in &failed {
        println!("\nNOT YET: {}", test.in_words());
        for line in test.message.lines() {
            println!("    {line}");
        }
    }
    println!();
    for reason in &run.skipped {
        println!("NOT CHECKED HERE: {reason}\n");
    }
    // An exercise checked in a browser is not done until the browser ran.
    let has_page_checks = fs::read_dir(exercise.dir.join("tests"))
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "mjs"))
        })
        .unwrap_or(false);
    if has_page_checks && run.skipped.iter().any(|reason| reason.contains("browser")) {
        println!(
            "Not done yet: this exercise's checks run in a browser, and they did not run \
             (what to install is said above)."
        );
        std::process::exit(1)
    }
    if failed.is_empty() {
        let _ = fs::write(work.join(".done"), "");
        println!(
            "done: {total} of {total} checks pass ({} of the exercise, {} of the step's own).",
            ours.len(),
            theirs.len()
        );
        println!(
            "Compare with the reference solution: `scripts/exercise solution {}`.",
            exercise.name
        );
        Ok(())
    } else {
        let broken = failed.iter().filter(|t| !t.is_exercise()).count();
        println!(
            "{} still to do: {} of {total} checks pass.",
            failed.len(),
            total - failed.len()
        );
        if broken > 0 {
            println!(
                "({broken} of them are the step's own tests: something that worked before \
                 the change does not any more.)"
            );
        }
        // Not an error of the command: the answer is "not yet" (exit code 1).
        std::process::exit(1)
    }
}

fn run(
    root: &Path,
    exercise: &Exercise,
    serve: &Serve,
    mut options: Vec<String>,
) -> Result<(), String> {
    let work = started(root, exercise)?;
    if serve.watch || serve.seed {
        if !options.is_empty() {
            return Err(format!(
                "with --watch or --seed, the copy is started as scripts/switch starts a step \
                 (--port N, its own database): {options:?} after -- would not reach it"
            ));
        }
        // Served as a step is, by the same code: a server of its own on its
        // port, seeded as `scripts/switch --seed` seeds, watched as
        // `scripts/switch --watch` watches.
        let copy = Step {
            name: package_name(exercise),
            description: format!("your copy of {}: {}", exercise.step, exercise.title),
            dir: work.clone(),
        };
        let database = work.join("instance").join("chat.db");
        let port = serve.port.unwrap_or(shared::DEFAULT_PORT);
        return switch::serve_copy(&copy, &database, port, serve.seed, serve.watch);
    }
    if let Some(port) = serve.port {
        options.extend(["--port".to_string(), port.to_string()]);
    }
    let status = cargo(&work)
        .args(["run", "--quiet", "--"])
        .args(&options)
        .status()
        .map_err(cargo_missing)?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("your copy stopped ({status})"))
    }
}

fn solution(root: &Path, exercise: &Exercise, apply: bool) -> Result<(), String> {
    let patch_file = exercise.dir.join("solution.patch");
    let patch = read(&patch_file)?;
    if !apply {
        println!(
            "The reference solution of {}, as a change to step {} ({}):\n",
            exercise.name,
            exercise.step,
            shown(root, &patch_file)
        );
        print!("{patch}");
        println!(
            "\n`scripts/exercise solution {} --apply` applies it to your copy.",
            exercise.name
        );
        return Ok(());
    }
    let work = started(root, exercise)?;
    apply_patch(&work, &patch_file).map_err(|e| {
        format!(
            "{e}\nThe solution applies to the step as it was: `scripts/exercise reset {0}` \
             first (your copy is kept aside), then `scripts/exercise solution {0} --apply`.",
            exercise.name
        )
    })?;
    println!(
        "The reference solution is applied to {}; `scripts/exercise check` checks it.",
        shown(root, &work)
    );
    Ok(())
}

fn reset(root: &Path, exercise: &Exercise) -> Result<(), String> {
    let work = work_dir(root, exercise);
    if work.exists() {
        let aside = root.join(WORK).join(format!("{}.previous", exercise.name));
        let _ = fs::remove_dir_all(&aside);
        fs::rename(&work, &aside).map_err(|e| format!("cannot move {}: {e}", work.display()))?;
        println!("Your copy is kept aside in {}.", shown(root, &aside));
    }
    make_copy(root, exercise, &work)?;
    println!(
        "{} is step {} again: `scripts/exercise start {}` shows the task.",
        shown(root, &work),
        exercise.step,
        exercise.name
    );
    Ok(())
}

/// For each exercise, on a fresh copy of its step: its tests must fail
/// (doing nothing cannot pass), then, with the reference solution applied,
/// every test (the exercise's and the step's own) must pass.
fn verify(root: &Path, exercises: &[&Exercise]) -> Result<(), String> {
    let all_started = Instant::now();
    let mut dishonest = Vec::new();
    for exercise in exercises {
        let started = Instant::now();
        let dir = root.join(WORK).join(".verify").join(&exercise.name);
        let verdict = verify_one(root, exercise, &dir);
        let seconds = started.elapsed().as_secs_f32();
        match verdict {
            Ok(verdict) => {
                println!("{}: {verdict} ({seconds:.0} s)", exercise.name);
                let _ = fs::remove_dir_all(&dir);
            }
            Err(problem) => {
                println!(
                    "{}: NOT HONEST: {problem} ({seconds:.0} s; the copy is kept in {})",
                    exercise.name,
                    shown(root, &dir)
                );
                dishonest.push(exercise.name.as_str());
            }
        }
    }
    println!(
        "{} exercises verified in {:.0} s",
        exercises.len(),
        all_started.elapsed().as_secs_f32()
    );
    if dishonest.is_empty() {
        Ok(())
    } else {
        Err(format!("not honest: {}", dishonest.join(", ")))
    }
}

fn verify_one(root: &Path, exercise: &Exercise, dir: &Path) -> Result<String, String> {
    let _ = fs::remove_dir_all(dir);
    make_copy(root, exercise, dir)?;
    let before = run_tests(dir, Some("exercise::"))?;
    if let Some(errors) = before.build_errors {
        return Err(format!(
            "the tests do not compile on the unmodified step:\n{errors}"
        ));
    }
    let failing = before.results.iter().filter(|t| !t.passed).count();
    if before.results.is_empty() {
        return Err("the exercise has no tests".into());
    }
    if failing == 0 {
        return Err(format!(
            "all {} of its tests pass on the unmodified step",
            before.results.len()
        ));
    }
    apply_patch(dir, &exercise.dir.join("solution.patch"))?;
    // What a learner compares with is formatted as the steps are (the
    // workspace's `cargo fmt --all --check` does not see exercises/).
    let formatted = cargo(dir)
        .args(["fmt", "--check"])
        .output()
        .map_err(cargo_missing)?;
    if !formatted.status.success() {
        return Err(format!(
            "the solution or the tests are not formatted (cargo fmt):\n{}",
            String::from_utf8_lossy(&formatted.stdout)
        ));
    }
    let after = run_tests(dir, None)?;
    if let Some(errors) = after.build_errors {
        return Err(format!("the solution does not compile:\n{errors}"));
    }
    let still: Vec<String> = after
        .results
        .iter()
        .filter(|t| !t.passed)
        .map(|t| format!("{}\n    {}", t.name, t.message.replace('\n', "\n    ")))
        .collect();
    if !still.is_empty() {
        return Err(format!(
            "with the solution, {} tests still fail:\n{}",
            still.len(),
            still.join("\n")
        ));
    }
    Ok(format!(
        "honest: {failing} of its {} tests fail without the solution; with it all {} pass \
         (the step's own too)",
        before.results.len(),
        after.results.len()
    ))
}

// ------------------------------------------------------------------ the copy

/// Copies the exercise's step into `dest` as a crate of its own, with the
/// exercise's tests added to the step's.
fn make_copy(root: &Path, exercise: &Exercise, dest: &Path) -> Result<(), String> {
    let step = step_dir(root, exercise)?;
    let fail = |e: io::Error| {
        format!(
            "cannot copy step {} to {}: {e}",
            exercise.step,
            dest.display()
        )
    };
    let _ = fs::remove_dir_all(dest);
    fs::create_dir_all(dest).map_err(fail)?;
    for part in ["src", "static", "tests"] {
        if step.join(part).is_dir() {
            copy_crate(&step.join(part), &dest.join(part), None).map_err(fail)?;
        }
    }
    // The exercise's tests join the step's test binary, as one more module.
    let tests = dest.join("tests").join("step");
    let up = up_to_root(root, dest)?;
    rewrite_harness_paths(&tests, &up)?;
    let modules: String = copy_exercise_tests(root, exercise, dest)?
        .iter()
        .map(|module| format!("mod {module};\n"))
        .collect();
    let main = tests.join("main.rs");
    let mut text = read(&main)?;
    text.push_str(&format!(
        "\n// The exercise's checks (from exercises/{}/tests/).\n{modules}",
        exercise.name
    ));
    fs::write(&main, text).map_err(fail)?;

    let manifest = manifest(
        &read(&root.join("Cargo.toml"))?,
        &read(&step.join("Cargo.toml"))?,
        exercise,
        &up,
    )?;
    fs::write(dest.join("Cargo.toml"), manifest).map_err(fail)?;
    fs::copy(root.join("Cargo.lock"), dest.join("Cargo.lock")).map_err(fail)?;
    // The steps' formatting, so that `cargo fmt` in the copy writes as they do.
    let format = root.join("steps").join("rustfmt.toml");
    if format.is_file() {
        fs::copy(&format, dest.join("rustfmt.toml")).map_err(fail)?;
    }
    fs::create_dir_all(dest.join(".cargo")).map_err(fail)?;
    fs::write(
        dest.join(".cargo").join("config.toml"),
        format!(
            "# Build into the tutorial's target/, to reuse the dependencies it compiled.\n\
             [build]\ntarget-dir = \"{up}target\"\n"
        ),
    )
    .map_err(fail)?;
    fs::copy(exercise.dir.join("README.md"), dest.join("EXERCISE.md")).map_err(fail)?;
    Ok(())
}

/// Copies the exercise's test files into a copy's `tests/step/`; answers
/// the modules they make (`exercise` for `exercise.rs`).
fn copy_exercise_tests(
    root: &Path,
    exercise: &Exercise,
    copy: &Path,
) -> Result<Vec<String>, String> {
    let tests = copy.join("tests").join("step");
    let from = exercise.dir.join("tests");
    let fail = |e: io::Error| format!("cannot copy the tests of {}: {e}", from.display());
    let mut modules = Vec::new();
    for entry in fs::read_dir(&from).map_err(fail)? {
        let path = entry.map_err(fail)?.path();
        let Some(file) = path.file_name() else {
            continue;
        };
        fs::copy(&path, tests.join(file)).map_err(fail)?;
        if let Some(module) = file.to_string_lossy().strip_suffix(".rs") {
            modules.push(module.to_string());
        }
    }
    modules.sort();
    // Ours are written as a step's are: their page scripts need the same rewriting.
    rewrite_harness_paths(&tests, &up_to_root(root, copy)?)?;
    Ok(modules)
}

/// The way up from a folder of the workspace to its root: "../../../".
fn up_to_root(root: &Path, dir: &Path) -> Result<String, String> {
    let depth = dir
        .strip_prefix(root)
        .map_err(|_| format!("{} is not inside the workspace", dir.display()))?
        .components()
        .count();
    Ok("../".repeat(depth))
}

/// Page scripts import the browser harness from the root's shared/ as
/// `'../../../../shared/`: right for a step's tests/step/, too short for a
/// copy's. `up` leads from the copy to the root. Done once per file: a path
/// already rewritten no longer starts with the four steps up alone.
fn rewrite_harness_paths(tests: &Path, up: &str) -> Result<(), String> {
    let fail = |e: io::Error| {
        format!(
            "cannot rewrite the page scripts in {}: {e}",
            tests.display()
        )
    };
    for entry in fs::read_dir(tests).map_err(fail)? {
        let path = entry.map_err(fail)?.path();
        if path.extension().is_some_and(|e| e == "mjs") {
            let text = read(&path)?;
            let rewritten = text.replace("'../../../../shared/", &format!("'{up}../../shared/"));
            fs::write(&path, rewritten).map_err(fail)?;
        }
    }
    Ok(())
}

/// The package name of an exercise's copy (and of its binary): a name no
/// step has, so its binary never replaces a step's in target/debug/.
fn package_name(exercise: &Exercise) -> String {
    format!("ex-{}", exercise.name)
}

/// The copy's Cargo.toml: the step's, with what it inherits from the
/// workspace written out (versions, features, lints), the package renamed,
/// `shared` found from the copy, and the root's `[profile.dev]` (the same
/// settings, or cargo would compile every dependency again).
fn manifest(root: &str, step: &str, exercise: &Exercise, up: &str) -> Result<String, String> {
    let package = section_values(root, "workspace.package");
    let dependencies = section_values(root, "workspace.dependencies");
    let lints = section_lines(root, "workspace.lints.clippy");
    let profile = section_lines(root, "profile.dev");
    let name = package_name(exercise);

    let mut out = format!(
        "# Exercise {}, started from step {} (written by scripts/exercise start).\n",
        exercise.name, exercise.step
    );
    let mut section = String::new();
    for line in step.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_string();
            if section == "[lints]" {
                out.push_str("[lints.clippy]\n");
                for line in &lints {
                    out.push_str(line);
                    out.push('\n');
                }
                continue;
            }
        }
        if section == "[lints]" {
            continue;
        }
        let (key, value) = match trimmed.split_once('=') {
            Some((key, value)) => (key.trim(), value.trim()),
            None => {
                out.push_str(line);
                out.push('\n');
                continue;
            }
        };
        let written = match (section.as_str(), key) {
            ("[package]" | "[[bin]]", "name") => format!("name = \"{name}\""),
            ("[package]", "description") => format!(
                "description = \"Exercise {}, started from step {}\"",
                exercise.name, exercise.step
            ),
            (_, key) if key.ends_with(".workspace") && value == "true" => {
                let key = key.trim_end_matches(".workspace");
                let table = if section == "[package]" {
                    &package
                } else {
                    &dependencies
                };
                let inherited = table
                    .iter()
                    .find(|(name, _)| name == key)
                    .map(|(_, value)| value.clone())
                    .ok_or_else(|| format!("{key} is not in the root Cargo.toml's workspace"))?;
                // `shared = { path = "shared" }` is relative to the root.
                let inherited = inherited.replace("path = \"", &format!("path = \"{up}"));
                format!("{key} = {inherited}")
            }
            _ if value.contains("workspace = true") => {
                return Err(format!(
                    "cannot write out {trimmed:?} of steps/{}/Cargo.toml",
                    exercise.step
                ));
            }
            _ => line.to_string(),
        };
        out.push_str(&written);
        out.push('\n');
    }
    out.push_str(
        "\n# A workspace of its own: the tutorial's `cargo test --workspace` leaves it out.\n\
         [workspace]\nresolver = \"3\"\n\n[profile.dev]\n",
    );
    for line in profile {
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// The lines of a `[name]` section of a TOML file, comments included.
fn section_lines(toml: &str, name: &str) -> Vec<String> {
    let header = format!("[{name}]");
    let mut inside = false;
    let mut lines = Vec::new();
    for line in toml.lines() {
        if line.trim_start().starts_with('[') {
            inside = line.trim() == header;
            continue;
        }
        if inside {
            lines.push(line.to_string());
        }
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

/// The `key = value` lines of a section (one line each, as ours are).
fn section_values(toml: &str, name: &str) -> Vec<(String, String)> {
    section_lines(toml, name)
        .iter()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect()
}

/// `cargo` in the copy's folder, so that its `.cargo/config.toml` (the
/// shared target folder) applies.
fn cargo(dir: &Path) -> Command {
    // `cargo run` tells the programs it runs which cargo it is.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(dir).stdin(Stdio::null());
    command
}

fn cargo_missing(e: io::Error) -> String {
    format!("cannot run cargo: {e}")
}

// ------------------------------------------------------------ the patches

/// Applies a patch made by [`learner_diff`] (paths `a/src/main.rs`) to a copy.
fn apply_patch(dir: &Path, patch: &Path) -> Result<(), String> {
    let output = Command::new("git")
        .current_dir(dir)
        // Not in the tutorial's repository (which would take the patch's
        // paths from its root): git applies it to this folder as it is.
        .env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap_or(dir))
        .args(["apply", "--whitespace=nowarn"])
        .arg(patch)
        .stdin(Stdio::null())
        .output()
        .map_err(git_missing)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} does not apply: {}",
            patch.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// What a copy changes in its step's app (src/ and static/), as a patch.
fn learner_diff(root: &Path, exercise: &Exercise, work: &Path) -> Result<String, String> {
    if !work.join("Cargo.toml").is_file() {
        return Err(format!("{} is not there", work.display()));
    }
    let step = step_dir(root, exercise)?;
    let scratch = std::env::temp_dir().join(format!("xtask-exercise-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    // `a` (the step) and `b` (the copy), compared with --no-prefix: the
    // paths come out as a/src/main.rs and b/src/main.rs, a patch's usual.
    let copied = (|| -> io::Result<()> {
        for (from, side) in [(&step, "a"), (&work.to_path_buf(), "b")] {
            for part in ["src", "static"] {
                let dest = scratch.join(side).join(part);
                fs::create_dir_all(&dest)?;
                if from.join(part).is_dir() {
                    copy_crate(&from.join(part), &dest, None)?;
                }
            }
        }
        Ok(())
    })();
    let output = copied
        .map_err(|e| format!("cannot copy for the diff: {e}"))
        .and_then(|()| {
            Command::new("git")
                .current_dir(&scratch)
                .args([
                    "diff",
                    "--no-index",
                    "--no-prefix",
                    "--no-color",
                    "--no-ext-diff",
                    "a",
                    "b",
                ])
                .stdin(Stdio::null())
                .output()
                .map_err(git_missing)
        });
    let _ = fs::remove_dir_all(&scratch);
    let output = output?;
    match output.status.code() {
        Some(0 | 1) => Ok(String::from_utf8_lossy(&output.stdout).into_owned()),
        _ => Err(format!(
            "git diff failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

fn git_missing(e: io::Error) -> String {
    match e.kind() {
        ErrorKind::NotFound => {
            "scripts/exercise uses git, which was not found: install it from https://git-scm.com"
                .to_string()
        }
        _ => format!("cannot run git: {e}"),
    }
}

// -------------------------------------------------------------- the tests' run

/// One test of a copy, as `cargo test` reported it.
struct TestResult {
    /// `exercise::users_are_found_by_nickname`
    name: String,
    passed: bool,
    /// What it said when it failed: the panic's message.
    message: String,
}

impl TestResult {
    fn is_exercise(&self) -> bool {
        self.name.starts_with("exercise::")
    }

    /// "users are found by nickname", or for one of the step's own tests
    /// "(the step's test) users: users are listed in id order".
    fn in_words(&self) -> String {
        let (module, test) = self.name.rsplit_once("::").unwrap_or(("", &self.name));
        let words = test.replace('_', " ");
        if self.is_exercise() {
            words
        } else {
            format!("(one of the step's own tests, {module}) {words}")
        }
    }
}

struct TestRun {
    /// The compiler's errors when the copy does not compile.
    build_errors: Option<String>,
    results: Vec<TestResult>,
    /// What the tests could not check here, for a missing tool (httpie, a
    /// browser): their "*** SKIPPED: ... ***" banners, once each.
    skipped: Vec<String>,
}

/// `cargo test` on a copy (only the tests whose names contain `filter`, if given).
fn run_tests(dir: &Path, filter: Option<&str>) -> Result<TestRun, String> {
    let mut command = cargo(dir);
    command
        .args(["test", "--no-fail-fast", "--color", "never", "--"])
        .args(filter)
        .env("RUST_BACKTRACE", "0")
        .env("CARGO_TERM_COLOR", "never");
    let output = command.output().map_err(cargo_missing)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let results = parse_test_output(&stdout);
    if results.is_empty() && !output.status.success() {
        // Nothing ran: the copy did not build. Keep the compiler's messages,
        // without cargo's progress lines.
        let errors: Vec<&str> = stderr
            .lines()
            .filter(|line| {
                let line = line.trim_start();
                ![
                    "Compiling",
                    "Blocking",
                    "Finished",
                    "Running",
                    "Locking",
                    "Updating",
                ]
                .iter()
                .any(|word| line.starts_with(word))
            })
            .collect();
        return Ok(TestRun {
            build_errors: Some(errors.join("\n")),
            results,
            skipped: Vec::new(),
        });
    }
    let mut skipped: Vec<String> = stderr
        .lines()
        .filter_map(|line| line.trim().strip_prefix("*** SKIPPED: "))
        .map(|line| line.trim_end_matches("***").trim().to_string())
        .collect();
    skipped.sort();
    skipped.dedup();
    Ok(TestRun {
        build_errors: None,
        results,
        skipped,
    })
}

/// Reads libtest's report: `test NAME ... ok|FAILED` lines, then a
/// `---- NAME stdout ----` section per failure, where the panic is.
fn parse_test_output(stdout: &str) -> Vec<TestResult> {
    let mut results: Vec<TestResult> = stdout
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("test ")?;
            let (name, outcome) = rest.rsplit_once(" ... ")?;
            match outcome.trim() {
                "ok" => Some((name, true)),
                "FAILED" => Some((name, false)),
                _ => None,
            }
        })
        .map(|(name, passed)| TestResult {
            name: name.trim().to_string(),
            passed,
            message: String::new(),
        })
        .collect();
    for section in stdout.split("\n---- ").skip(1) {
        let Some((name, body)) = section.split_once(" stdout ----\n") else {
            continue;
        };
        let message = panic_message(body);
        if let Some(result) = results.iter_mut().find(|r| r.name == name) {
            result.message = message;
        }
    }
    results
}

/// The message of the first panic in a failed test's output, without the
/// "thread ... panicked at" line, the backtrace note and the server's log.
fn panic_message(output: &str) -> String {
    let mut lines = output.lines();
    let mut message = Vec::new();
    let mut place = String::new();
    for line in lines.by_ref() {
        if line.starts_with("thread '") && line.contains("panicked at") {
            place = line
                .split("panicked at ")
                .nth(1)
                .unwrap_or_default()
                .trim_end_matches(':')
                .to_string();
            break;
        }
    }
    for line in lines.by_ref() {
        if line.starts_with("note: run with `RUST_BACKTRACE")
            || line.starts_with("--- server log ---")
            || line.starts_with("failures:")
            || (line.starts_with("thread '") && line.contains("panicked at"))
        {
            break;
        }
        message.push(line);
    }
    while message.last().is_some_and(|l| l.trim().is_empty()) {
        message.pop();
    }
    // The server's errors (its log follows the panic), e.g. why a 500: a
    // learner sees what the step's terminal would have shown.
    let mut server_errors: Vec<&str> = lines
        .filter_map(|line| line.strip_prefix("ERROR "))
        .map(str::trim)
        .collect();
    server_errors.dedup();
    server_errors.truncate(3);
    let mut text = message.join("\n");
    // assert_eq!'s own words say less than the message it was given, and
    // its `left:`/`right:` lines repeat what the message says it got.
    if let Some(rest) = text.strip_prefix("assertion `left == right` failed: ") {
        text = rest
            .lines()
            .filter(|line| !line.starts_with("  left: ") && !line.starts_with(" right: "))
            .collect::<Vec<_>>()
            .join("\n");
    }
    // Page checks fail with node's whole report: keep what each failing
    // check said, and where it runs (the browser), not where it was started.
    if let Some(failures) = node_failures(&text) {
        return failures;
    }
    for error in server_errors {
        text.push_str(&format!("\nthe server's log said: {error}"));
    }
    if text.is_empty() {
        text = format!("(the test stopped at {place})");
    } else if !place.is_empty() {
        text.push_str(&format!("\n(at {place})"));
    }
    text
}

/// What node's test reporter lists under "failing tests": per failing
/// check, its name and its assertion's message, and what it got.
fn node_failures(report: &str) -> Option<String> {
    let (_, failing) = report.split_once("✖ failing tests:")?;
    let mut out = Vec::new();
    let mut lines = failing.lines().map(str::trim).peekable();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("✖ ") else {
            continue;
        };
        // "name (5775.9ms)": the time is noise here.
        let name = match name.rsplit_once(" (") {
            Some((name, time)) if time.ends_with("ms)") => name,
            _ => name,
        };
        out.push(format!("in the browser: {name}"));
        while let Some(line) = lines.next_if(|l| !l.starts_with("✖ ") && !l.starts_with("test at "))
        {
            if let Some((_, message)) = line.split_once("[ERR_ASSERTION]: ") {
                out.push(format!("  {message}"));
            } else if line.contains("Error") && !line.starts_with("at ") && out.len() < 40 {
                out.push(format!("  {line}"));
            } else if let Some(actual) = line.strip_prefix("+ ")
                && !line.starts_with("+ actual")
            {
                out.push(format!("  got: {actual}"));
            }
        }
    }
    (!out.is_empty()).then(|| out.join("\n"))
}

// ------------------------------------------------------------------- helpers

fn started(root: &Path, exercise: &Exercise) -> Result<PathBuf, String> {
    let work = work_dir(root, exercise);
    if work.join("Cargo.toml").is_file() {
        Ok(work)
    } else {
        Err(format!(
            "{} is not started: `scripts/exercise start {}` first",
            exercise.name, exercise.name
        ))
    }
}

/// The statement without its hints, and the hints: each
/// `<details><summary>TITLE</summary> TEXT </details>` block, as "TITLE\n\nTEXT".
fn split_hints(statement: &str) -> (String, Vec<String>) {
    let mut task = String::new();
    let mut hints = Vec::new();
    let mut rest = statement;
    while let Some(start) = rest.find("<details>") {
        task.push_str(&rest[..start]);
        let after = &rest[start + "<details>".len()..];
        let end = after.find("</details>").unwrap_or(after.len());
        let block = &after[..end];
        let hint = match (block.find("<summary>"), block.find("</summary>")) {
            (Some(open), Some(close)) => format!(
                "{}\n\n{}",
                without_number(block[open + "<summary>".len()..close].trim()),
                block[close + "</summary>".len()..].trim()
            ),
            _ => block.trim().to_string(),
        };
        hints.push(hint);
        rest = after.get(end + "</details>".len()..).unwrap_or("");
    }
    task.push_str(rest);
    // A "## Hints" heading left without its hints says nothing.
    let task = task
        .trim_end()
        .trim_end_matches("## Hints")
        .trim_end()
        .to_string();
    (task, hints)
}

/// "Hint 2: where" -> "where": `hint` numbers the hints itself.
fn without_number(summary: &str) -> &str {
    match summary.split_once(": ") {
        Some((hint, rest)) if hint.starts_with("Hint ") => rest,
        _ => summary,
    }
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A path as the learner would type it from the workspace's root.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_output_is_read_into_results_and_messages() {
        let stdout = "\nrunning 3 tests\n\
            test users::listed ... ok\n\
            test exercise::users_are_found_by_nickname ... FAILED\n\
            test exercise::other ... FAILED\n\n\
            failures:\n\n\
            ---- exercise::users_are_found_by_nickname stdout ----\n\n\
            thread 'exercise::users_are_found_by_nickname' panicked at tests/step/exercise.rs:12:5:\n\
            assertion `left == right` failed: GET /api/users?nickname=bob should list only Bob, got 3 users\n  \
            left: 3\n right: 1\n\
            note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\
            --- server log ---\nINFO  GET /api/users\nERROR database error: no such table\n\n\
            ---- exercise::other stdout ----\n\
            thread 'exercise::other' panicked at tests/step/exercise.rs:30:5:\n\
            explicit\n\n\
            failures:\n    exercise::users_are_found_by_nickname\n    exercise::other\n\n\
            test result: FAILED. 1 passed; 2 failed\n";
        let results = parse_test_output(stdout);
        assert_eq!(results.len(), 3);
        assert!(results[0].passed && !results[1].passed && !results[2].passed);
        assert_eq!(
            results[1].message,
            "GET /api/users?nickname=bob should list only Bob, got 3 users\n\
             the server's log said: database error: no such table\n\
             (at tests/step/exercise.rs:12:5)"
        );
        assert_eq!(results[1].in_words(), "users are found by nickname");
        assert_eq!(
            results[2].message,
            "explicit\n(at tests/step/exercise.rs:30:5)"
        );
        assert_eq!(
            results[0].in_words(),
            "(one of the step's own tests, users) listed"
        );
    }

    #[test]
    fn a_failing_page_check_is_told_by_its_name_and_message() {
        let report = "page checks in x.mjs failed (exit status: 1):\n\
            ✔ the page opens (120.5ms)\n\
            ✖ failing tests:\n\n\
            test at exercise.mjs:39:1\n\
            ✖ the button waits (5775.9ms)\n  \
              AssertionError [ERR_ASSERTION]: the button should be disabled\n  \
              + actual - expected\n\n  \
              + 'enabled Send'\n  \
              - 'disabled Sending…'\n      \
                  at TestContext.<anonymous> (file:///x/exercise.mjs:51:10)\n  \
              {\n    generatedMessage: false,\n  }\n";
        assert_eq!(
            node_failures(report).unwrap(),
            "in the browser: the button waits\n  the button should be disabled\n  \
             got: 'enabled Send'"
        );
        assert_eq!(node_failures("assertion failed"), None);
    }

    #[test]
    fn hints_are_taken_out_of_the_statement_in_order() {
        let statement = "# Task\n\nDo it.\n\n## Hints\n\n<details><summary>Hint 1: Where</summary>\n\n\
                         In main.rs.\n\n</details>\n\n<details>\n<summary>How</summary>\n\
                         With SQL.\n</details>\n";
        let (task, hints) = split_hints(statement);
        assert_eq!(task, "# Task\n\nDo it.");
        assert_eq!(hints, ["Where\n\nIn main.rs.", "How\n\nWith SQL."]);
    }

    #[test]
    fn the_manifest_inherits_nothing_from_the_workspace() {
        let root = "[workspace]\nmembers = [\"steps/*\"]\n\n[workspace.package]\nedition = \"2024\"\n\
                    rust-version = \"1.89\"\n\n[workspace.dependencies]\n# a comment\n\
                    log = \"0.4.35\"\nshared = { path = \"shared\" }\n\n[profile.dev]\n\
                    # why\ndebug = false\n\n[workspace.lints.clippy]\nawait_holding_lock = \"deny\"\n";
        let step = "[package]\nname = \"s03\"\ndescription = \"Step 03 of it\"\n\
                    edition.workspace = true\n\n[[bin]]\nname = \"s03\"\ntest = false\n\n\
                    [dependencies]\nlog.workspace = true\nshared.workspace = true\n\n\
                    [lints]\nworkspace = true\n";
        let exercise = Exercise {
            name: "s03-find".into(),
            step: "s03".into(),
            title: String::new(),
            dir: PathBuf::new(),
        };
        let written = manifest(root, step, &exercise, "../../../").unwrap();
        for wanted in [
            "name = \"ex-s03-find\"\n",
            "edition = \"2024\"\n",
            "[[bin]]\nname = \"ex-s03-find\"\ntest = false\n",
            "log = \"0.4.35\"\n",
            "shared = { path = \"../../../shared\" }\n",
            "[lints.clippy]\nawait_holding_lock = \"deny\"\n",
            "[workspace]\nresolver = \"3\"\n",
            "[profile.dev]\n# why\ndebug = false\n",
        ] {
            assert!(
                written.contains(wanted),
                "{wanted:?} missing from:\n{written}"
            );
        }
        assert!(!written.contains("workspace = true"), "{written}");
    }
}
