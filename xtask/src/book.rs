//! `scripts/book`: the tutorial as an mdBook, built offline into `target/book`.
//!
//! The book's sources in `docs/book/` mirror the repository's layout
//! (`docs/book/steps/s07b/README.md` is step 07b's chapter, `docs/book/README.md`
//! the introduction), so that the relative links of the lessons and docs it
//! includes (`../s07/README.md`, `../../README.md#the-steps`) lead to the
//! right chapter in the book as they do on a code host. Those sources are
//! generated here from the steps and committed:
//!
//! - each chapter includes its step's lesson, shows the step's change (the
//!   diff of `scripts/diff NN --code`, in `changes.diff` beside it), then the
//!   items of its code that the step adds or changes (Rust items, the
//!   scripts' functions and constants, style sheets whole), found by name
//!   in whatever file they are (items.rs), their text written in the chapter;
//! - `SUMMARY.md` lists the steps as they are on disk, those from
//!   `GOING_FURTHER` on in a part of their own, then the appendix.
//!
//! `--check` (CI) fails when the committed sources are not what the steps
//! give now. Then every `{{#include}}` must resolve, mdBook (installed at a
//! pinned version when missing) must build without an error, and every link
//! of the built pages must lead to a file and an id that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::diff;
use crate::items::{Code, Item, Kind};
use crate::steps::{self, Step, files, shown};

pub const USAGE: &str = "\
usage: scripts/book [--check] [--no-build]

  scripts/book             write the book's generated sources (docs/book/), then
                           build it into target/book and check its links; open
                           target/book/index.html
  scripts/book --check     the same, but fail instead of writing when the
                           committed sources are out of date with the steps (CI)
  scripts/book --no-build  only write (or --check) the sources and their includes

mdBook is installed when missing (once, a few minutes) with cargo, at version
MDBOOK_VERSION, under ~/.cargo/tools/ (or $CARGO_HOME/tools/); MDBOOK=/path/to/mdbook
uses another binary of that version instead.
";

/// The mdBook the book is built with: `cargo install` takes exactly this one.
pub const MDBOOK_VERSION: &str = "0.5.4";

/// The first step of the tutorial's second part, "Going further" (accounts,
/// and what a real app needs after them): the book lists it and the steps
/// after it under a part title of their own, as the README's second table.
const GOING_FURTHER: u32 = 20;

/// Where the book's sources are (mdBook's `src`), relative to the workspace.
const SOURCES: &str = "docs/book";

/// The pages after the steps: repository files (readable on a code host too),
/// each included by a page at the same path under docs/book/.
const APPENDIX: [(&str, &str, u8); 8] = [
    ("docs/flask.md", "From Flask to Rust: the concepts", 0),
    // Followed by each exercise's page: exercises/*/README.md.
    ("docs/exercises.md", "Exercises", 0),
    ("docs/scripts.md", "Switching steps, and diffs", 0),
    ("docs/services.md", "Private servers (steps 22 on)", 0),
    ("docs/browser-tests.md", "The browser tests", 0),
    ("bench/README.md", "Benchmarks", 0),
    ("bench/RESULTS.md", "Results", 1),
    ("docs/README.md", "About this book", 0),
];

/// What a chapter calls the files its key code comes from, by extension.
const LANGUAGES: [(&str, &str); 3] = [("rs", "rust"), ("js", "js"), ("css", "css")];

pub fn main(args: Vec<String>) -> Result<(), String> {
    let (mut check, mut build) = (false, true);
    for arg in &args {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{}", USAGE.replace("MDBOOK_VERSION", MDBOOK_VERSION));
                return Ok(());
            }
            "--check" => check = true,
            "--no-build" => build = false,
            other => return Err(format!("book does not know {other:?}\n\n{USAGE}")),
        }
    }
    let root = steps::workspace_root();
    let all = steps::all(&root)?;

    let generated = sources(&root, &all)?;
    // Both said at once: what is out of date, and what does not resolve.
    let out_of_date = sync(&root, &generated, check).err();
    let problems = includes(&root, &root.join(SOURCES));
    let unresolved = (!problems.is_empty()).then(|| {
        format!(
            "{} include(s) of the book do not resolve:\n  {}",
            problems.len(),
            problems.join("\n  ")
        )
    });
    let failures: Vec<String> = out_of_date.into_iter().chain(unresolved).collect();
    if !failures.is_empty() {
        return Err(failures.join("\n\n"));
    }
    println!(
        "book: {} chapters and {} diffs in {SOURCES}/ {}",
        all.len(),
        all.len().saturating_sub(1),
        if check { "up to date" } else { "written" }
    );
    if !build {
        return Ok(());
    }

    let mdbook = mdbook()?;
    let started = Instant::now();
    let out = root.join("target").join("book");
    run_mdbook(&mdbook, &root, &out)?;
    let (pages, links) = check_links(&out)?;
    println!(
        "book: built into {} in {:.1} s; {pages} pages, {links} links checked\n\
         open {}",
        shown(out.strip_prefix(&root).unwrap_or(&out)),
        started.elapsed().as_secs_f64(),
        shown(&out.join("index.html")),
    );
    Ok(())
}

// ------------------------------------------------------------- the sources

/// Every generated file of docs/book/: path relative to the workspace, text.
fn sources(root: &Path, all: &[Step]) -> Result<BTreeMap<PathBuf, String>, String> {
    let mut files = BTreeMap::new();
    let book = PathBuf::from(SOURCES);
    let header = "<!-- Generated by scripts/book (xtask/src/book.rs): do not edit. -->\n";

    // The introduction is the repository's README.
    files.insert(
        book.join("README.md"),
        format!("{header}{{{{#include ../../README.md}}}}\n"),
    );

    let mut summary = String::from(
        "# Summary\n\n[A chat application in Rust, step by step](README.md)\n\n# The steps\n\n",
    );
    for (index, step) in all.iter().enumerate() {
        let previous = index.checked_sub(1).map(|i| &all[i]);
        let folder = book.join("steps").join(&step.name);
        let to_root = "../../../../";
        let mut chapter = format!(
            "{header}{{{{#include {to_root}steps/{}/README.md}}}}\n",
            step.name
        );
        if let Some(previous) = previous {
            let changes = changes(previous, step)?;
            chapter += &format!(
                "\n## The change, from step {}\n\n\
                 What step {} changes in the app, as `scripts/diff {} --code` shows it \
                 (the tests left out; [as a file](changes.diff)):\n\n",
                number(previous),
                number(step),
                number(step),
            );
            if changes.is_empty() {
                chapter += "Nothing: this step changes only its tests and its lesson.\n";
            } else {
                let fence = fence(&changes);
                chapter += &format!("{fence}diff\n{{{{#include changes.diff}}}}\n{fence}\n");
            }
            files.insert(folder.join("changes.diff"), changes);
        }
        let key = key_code(previous, step)?;
        if !key.is_empty() {
            let which = match previous {
                Some(previous) => format!(
                    "the Rust items, the script's functions and constants, and the style \
                     sheets that are new in this step or whose text differs from step {}'s. \
                     A piece that only moved to another file is not repeated: the change \
                     above shows the move",
                    number(previous)
                ),
                None => "all of them, as this is the first step: its Rust items, and its \
                         scripts' functions and constants"
                    .to_string(),
            };
            chapter += &format!(
                "\n## The code of step {}\n\n\
                 What this step adds or changes, each piece whole, taken by name from the \
                 step's files as they are: {which}.\n",
                number(step),
            );
            for piece in key {
                let language = Path::new(&piece.file)
                    .extension()
                    .and_then(|e| LANGUAGES.iter().find(|(x, _)| e == *x))
                    .map_or("text", |(_, language)| language);
                // mdBook would read `{{#...}}` in the code as one of its directives.
                let text = piece.text.replace("{{#", "\\{{#");
                let fence = fence(&text);
                let what = if piece.name == piece.file {
                    format!("`{}`, {}:", piece.file, piece.status)
                } else {
                    format!("`{}`, {}, in `{}`:", piece.name, piece.status, piece.file)
                };
                chapter += &format!("\n{what}\n\n{fence}{language}\n{text}{fence}\n");
            }
        }
        files.insert(folder.join("README.md"), chapter);
        if going_further(step) && !previous.is_some_and(going_further) {
            summary += "\n# Going further\n\n";
        }
        summary += &format!(
            "- [{}](steps/{}/README.md)\n",
            chapter_title(step),
            step.name
        );
    }

    summary += "\n# Appendix\n\n";
    for (path, title, depth) in APPENDIX {
        if !root.join(path).is_file() {
            return Err(format!(
                "{path} is missing (the book's appendix includes it)"
            ));
        }
        let up = "../".repeat(Path::new(path).components().count() + 1);
        files.insert(
            book.join(path),
            format!("{header}{{{{#include {up}{path}}}}}\n"),
        );
        summary += &format!("{}- [{title}]({path})\n", "  ".repeat(usize::from(depth)));
        if path == "docs/exercises.md" {
            for (exercise, title) in exercises(root) {
                files.insert(
                    book.join(&exercise),
                    format!("{header}{{{{#include ../../../../{exercise}}}}}\n"),
                );
                summary += &format!("  - [{title}]({exercise})\n");
            }
        }
    }
    files.insert(book.join("SUMMARY.md"), summary);
    Ok(files)
}

/// Each exercise's page, `exercises/<name>/README.md`, with its title, in
/// the order of the names (a learner's copies in exercises/work/ left out).
fn exercises(root: &Path) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = fs::read_dir(root.join("exercises"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name() != "work")
        .filter_map(|entry| {
            let text = fs::read_to_string(entry.path().join("README.md")).ok()?;
            let title = text
                .lines()
                .find_map(|l| l.strip_prefix("# "))?
                .trim()
                .to_string();
            let name = entry.file_name().to_string_lossy().into_owned();
            Some((format!("exercises/{name}/README.md"), title))
        })
        .collect();
    found.sort();
    found
}

/// The step's number as the lessons write it: `07b`.
fn number(step: &Step) -> &str {
    step.name.strip_prefix('s').unwrap_or(&step.name)
}

/// Whether the step is in the second part, "Going further" (`GOING_FURTHER` on).
fn going_further(step: &Step) -> bool {
    let digits = number(step).trim_end_matches(|c: char| c.is_ascii_alphabetic());
    digits.parse::<u32>().is_ok_and(|n| n >= GOING_FURTHER)
}

/// "07b: `POST /api/messages` creates a message", from the lesson's title
/// ("# Step 07b: ..."), or else from Cargo.toml's description.
fn chapter_title(step: &Step) -> String {
    let lesson = fs::read_to_string(step.dir.join("README.md")).unwrap_or_default();
    let title = lesson
        .lines()
        .find_map(|line| line.strip_prefix("# "))
        .and_then(|title| title.split_once(": "))
        .map_or(step.title(), |(_, title)| title);
    format!("{}: {}", number(step), title.trim())
}

/// The app's change from `old` to `new`, as `scripts/diff NEW --code` shows
/// it, run with git's own defaults (no user's configuration) so that every
/// machine writes the same text; git's `index` lines (blob ids) left out.
fn changes(old: &Step, new: &Step) -> Result<String, String> {
    let (_scratch, mut git) = diff::git_diff(old, new, true)?;
    let null = if cfg!(windows) { "NUL" } else { "/dev/null" };
    let output = git
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", null)
        .args(["--no-color", "--no-ext-diff", "--"])
        .args([old, new].map(|step| format!("steps/{}", step.name)))
        .output()
        .map_err(diff::git_missing)?;
    if !matches!(output.status.code(), Some(0 | 1)) {
        return Err(format!(
            "git diff failed for {} -> {} ({}): {}",
            old.name,
            new.name,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("index "))
        .collect())
}

/// A piece of a step's code that its chapter shows.
struct Piece {
    /// Its name (`create_message`, `User::from_row`), or its path for a whole file.
    name: String,
    /// Its file, relative to the step: `src/main.rs`.
    file: String,
    /// "new" or "changed".
    status: &'static str,
    /// Its text, each line ended by a newline.
    text: String,
}

/// The pieces of `step` that are new or whose text differs from the same
/// piece (found by name, in whatever file) of the step before, in the order
/// of the files and of their lines: its Rust items and script items, and its
/// style sheets whole. Of an `impl` that changed, the functions that changed
/// (or the whole `impl`, if none of them did).
fn key_code(previous: Option<&Step>, step: &Step) -> Result<Vec<Piece>, String> {
    let now = Code::read(&step.dir).map_err(|e| format!("{}: {e}", step.name))?;
    let before = match previous {
        Some(previous) => {
            Code::read(&previous.dir).map_err(|e| format!("{}: {e}", previous.name))?
        }
        None => Code { items: Vec::new() },
    };
    let numbers = [Some(step), previous].map(|s| s.map(number));
    let status = |item: &Item| -> Option<&'static str> {
        // The same name and kind; of several, the one in the same impl
        // (`impl Display` and `impl Debug` both have `User::fmt`) and file.
        let old: Vec<&Item> = before
            .items
            .iter()
            .filter(|o| o.name == item.name && o.kind == item.kind)
            .collect();
        let old = old
            .iter()
            .max_by_key(|o| (o.parent == item.parent, o.file == item.file))
            .copied();
        match old {
            None => Some("new"),
            Some(old) if comparable(old, numbers[1]) != comparable(item, numbers[0]) => {
                Some("changed")
            }
            Some(_) => None,
        }
    };
    let piece = |item: &Item, status: &'static str| Piece {
        name: item.name.clone(),
        file: item.file.clone(),
        status,
        text: item
            .text_lines()
            .iter()
            .map(|line| format!("{line}\n"))
            .collect(),
    };
    let mut pieces = Vec::new();
    for item in &now.items {
        match item.kind {
            Kind::Rust | Kind::Script => pieces.extend(status(item).map(|s| piece(item, s))),
            Kind::File if item.file.ends_with(".css") => {
                pieces.extend(status(item).map(|s| piece(item, s)));
            }
            Kind::Impl => match status(item) {
                None => {}
                Some("new") => pieces.push(piece(item, "new")),
                Some(changed) => {
                    let members: Vec<Piece> = now
                        .items
                        .iter()
                        .filter(|m| {
                            m.kind == Kind::Member
                                && m.file == item.file
                                && m.parent.as_ref() == Some(&item.name)
                        })
                        .filter_map(|m| status(m).map(|s| piece(m, s)))
                        .collect();
                    if members.is_empty() {
                        pieces.push(piece(item, changed));
                    } else {
                        pieces.extend(members);
                    }
                }
            },
            Kind::Member | Kind::File => {}
        }
    }
    Ok(pieces)
}

/// An item's text as compared between two steps: without visibilities
/// (`pub`, `pub(crate)`: an item moved to a module of its own gains one) and
/// with the step's own number (`const VERSION: &str = "07b";`) left out.
fn comparable(item: &Item, number: Option<&str>) -> Vec<String> {
    item.text_lines()
        .iter()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            let mut rest = &line[indent..];
            for visibility in ["pub(crate) ", "pub(super) ", "pub "] {
                rest = rest.strip_prefix(visibility).unwrap_or(rest);
            }
            let line = format!("{}{rest}", &line[..indent]);
            match number {
                Some(number) => line.replace(&format!("\"{number}\""), "\"NN\""),
                None => line,
            }
        })
        .collect()
}

/// A code fence longer than any run of backticks that starts a line of
/// `text` (after a diff's `+`, `-` or space, or an indentation): "```" mostly.
fn fence(text: &str) -> String {
    let longest = text
        .lines()
        .map(|line| {
            let line = line.trim_start_matches(['+', '-', ' ', '\t']);
            line.len() - line.trim_start_matches('`').len()
        })
        .max()
        .unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

/// Writes the generated files that differ (or, with `check`, fails naming
/// them), and removes (or names) the files of docs/book/ that are not generated.
fn sync(root: &Path, generated: &BTreeMap<PathBuf, String>, check: bool) -> Result<(), String> {
    let mut stale = Vec::new();
    for (path, text) in generated {
        let on_disk = fs::read_to_string(root.join(path)).ok();
        if on_disk.map(|t| t.replace("\r\n", "\n")).as_deref() == Some(text.as_str()) {
            continue;
        }
        stale.push(shown(path));
        if !check {
            let path = root.join(path);
            if let Some(folder) = path.parent() {
                fs::create_dir_all(folder)
                    .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
            }
            fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    let mut extra = Vec::new();
    for file in files(&root.join(SOURCES)) {
        let relative = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        if !generated.contains_key(&relative) {
            extra.push(shown(&relative));
            if !check {
                fs::remove_file(&file)
                    .map_err(|e| format!("cannot remove {}: {e}", file.display()))?;
            }
        }
    }
    if check && !(stale.is_empty() && extra.is_empty()) {
        let mut why = String::from("the book's sources are out of date with the steps:\n");
        for path in &stale {
            why += &format!("  {path}  (differs from what the steps give now)\n");
        }
        for path in &extra {
            why += &format!("  {path}  (not generated: no step or page gives it)\n");
        }
        why +=
            "Run scripts/book to write them, read the change (git diff docs/book), and commit it.";
        return Err(why);
    }
    for path in stale.iter().chain(&extra) {
        println!("book: updated {path}");
    }
    Ok(())
}

/// The `{{#include PATH}}` of the book's pages that do not resolve: a file
/// missing, or a part of a file asked for by name (the book embeds the code
/// it shows; mdBook's named parts need markers in the files, which the steps
/// do not have).
fn includes(root: &Path, sources: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for page in files(sources) {
        let Ok(text) = fs::read_to_string(&page) else {
            continue;
        };
        let folder = page.parent().unwrap_or(sources);
        for (line, include) in text.lines().enumerate().flat_map(|(i, l)| {
            l.match_indices("{{#include ")
                .filter_map(move |(at, _)| {
                    let rest = &l[at + "{{#include ".len()..];
                    rest.find("}}").map(|end| (i + 1, rest[..end].trim()))
                })
                .collect::<Vec<_>>()
        }) {
            let (path, part) = match include.split_once(':') {
                Some((path, part)) => (path, Some(part)),
                None => (include, None),
            };
            let page_shown = shown(page.strip_prefix(root).unwrap_or(&page));
            let where_ = format!("{page_shown}:{line}: {{{{#include {include}}}}}");
            let Ok(target) = fs::read_to_string(folder.join(path)) else {
                problems.push(format!("{where_}: no file {path}"));
                continue;
            };
            // Line numbers, `10:20` or `10:`, are all an include may add.
            let Some(part) = part else { continue };
            let numbers: Vec<&str> = part.split(':').collect();
            if !numbers
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_digit()))
            {
                problems.push(format!(
                    "{where_}: includes a part of {path} by name: the book takes no marked parts"
                ));
            } else if let Some(first) = numbers.first().and_then(|n| n.parse::<usize>().ok())
                && first > target.lines().count()
            {
                problems.push(format!("{where_}: {path} has no line {first}"));
            }
        }
    }
    problems
}

// ------------------------------------------------------------------ mdBook

/// The pinned mdBook: `$MDBOOK`, or the one installed under
/// `$CARGO_HOME/tools/mdbook-VERSION/`, installed there first when missing.
fn mdbook() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("MDBOOK") {
        let path = PathBuf::from(path);
        let version = mdbook_version(&path)
            .ok_or_else(|| format!("MDBOOK={} does not run", path.display()))?;
        if version != MDBOOK_VERSION {
            return Err(format!(
                "MDBOOK={} is mdBook {version}; the book is built with {MDBOOK_VERSION}",
                path.display()
            ));
        }
        return Ok(path);
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .or_else(|| std::env::var_os("USERPROFILE"))
                .map(|home| PathBuf::from(home).join(".cargo"))
        })
        .ok_or("where is cargo's home? set CARGO_HOME")?;
    let install = home.join("tools").join(format!("mdbook-{MDBOOK_VERSION}"));
    let binary = install
        .join("bin")
        .join(format!("mdbook{}", std::env::consts::EXE_SUFFIX));
    if mdbook_version(&binary).as_deref() == Some(MDBOOK_VERSION) {
        return Ok(binary);
    }
    // The tests ask for no install (minutes of compiling) behind their back.
    if std::env::var_os("XTASK_BOOK_NO_INSTALL").is_some() {
        return Err(format!(
            "mdBook {MDBOOK_VERSION} is not installed at {} (scripts/book installs it)",
            binary.display()
        ));
    }
    eprintln!(
        "book: installing mdBook {MDBOOK_VERSION} into {} (once; under a minute on 2 cores)",
        install.display()
    );
    let started = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["install", "mdbook", "--version", MDBOOK_VERSION, "--locked"])
        // Only the search: no `serve` and `watch` (a web server, file
        // watching), which would double the compile.
        .args(["--no-default-features", "--features", "search"])
        // Not optimised: compiled in 37 s instead of 112 s (2 cores), and the
        // book then builds in 1.2 s instead of 0.2 s, the same pages.
        .arg("--debug")
        .arg("--root")
        .arg(&install)
        .status()
        .map_err(|e| format!("cannot run cargo install: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo install mdbook --version {MDBOOK_VERSION} failed ({status})"
        ));
    }
    // Cargo's advice to add that folder to the PATH does not apply: this
    // command finds mdBook there by itself.
    eprintln!(
        "book: mdBook installed in {:.0} s (no need to add it to your PATH)",
        started.elapsed().as_secs_f64()
    );
    Ok(binary)
}

/// "0.5.4" from `mdbook --version` ("mdbook v0.5.4").
fn mdbook_version(binary: &Path) -> Option<String> {
    let output = Command::new(binary).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().last()?.trim_start_matches('v');
    Some(version.to_string())
}

/// `mdbook build docs`: fails on any error or warning mdBook prints (a file
/// it cannot include, a chapter it cannot read).
fn run_mdbook(mdbook: &Path, root: &Path, out: &Path) -> Result<(), String> {
    let output = Command::new(mdbook)
        .arg("build")
        .arg(root.join("docs"))
        .arg("--dest-dir")
        .arg(out)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", mdbook.display()))?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let complaints: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("ERROR") || line.contains("WARN"))
        .collect();
    if !output.status.success() || !complaints.is_empty() {
        return Err(format!("mdbook build failed ({}):\n{log}", output.status));
    }
    Ok(())
}

// ------------------------------------------------------------ the links

/// Checks every page of the built book: each relative `href` and `src` leads
/// to a file, each `#fragment` to an id of its page; no script, style sheet
/// or font comes from the network; no `{{#...}}` was left unexpanded.
/// Answers how many pages and links were checked.
fn check_links(out: &Path) -> Result<(usize, usize), String> {
    let pages: Vec<PathBuf> = files(out)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "html"))
        // Served at the site's root by a web server, with absolute links.
        .filter(|f| f.file_name().is_none_or(|n| n != "404.html"))
        .collect();
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut texts = Vec::new();
    for page in &pages {
        let text = fs::read_to_string(page).map_err(|e| format!("{}: {e}", page.display()))?;
        ids.insert(
            page.clone(),
            attributes(&text, "id")
                .into_iter()
                .map(|(_, v)| v)
                .collect(),
        );
        texts.push(text);
    }
    let mut problems = Vec::new();
    let mut checked = 0;
    for (page, text) in pages.iter().zip(&texts) {
        let name = shown(page.strip_prefix(out).unwrap_or(page));
        if let Some(at) = text.find("{{#") {
            let end = text[at..].find("}}").map_or(at + 40, |e| at + e + 2);
            problems.push(format!(
                "{name}: left unexpanded: {}",
                &text[at..end.min(text.len())]
            ));
        }
        for (tag, link) in attributes(text, "href")
            .into_iter()
            .chain(attributes(text, "src"))
        {
            if link.starts_with("http://") || link.starts_with("https://") || link.starts_with("//")
            {
                if tag == "script" || tag == "link" || tag == "img" {
                    problems.push(format!("{name}: <{tag}> from the network: {link}"));
                }
                continue;
            }
            if ["mailto:", "javascript:", "data:"]
                .iter()
                .any(|p| link.starts_with(p))
            {
                continue;
            }
            checked += 1;
            let (path, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let path = path.split('?').next().unwrap_or("");
            let target = if path.is_empty() {
                page.clone()
            } else {
                let mut target = normalized(&page.parent().unwrap_or(out).join(decoded(path)));
                if target.is_dir() {
                    target = target.join("index.html");
                }
                target
            };
            if !target.is_file() {
                problems.push(format!("{name}: the link {link} leads to no file"));
            } else if !fragment.is_empty()
                && target.extension().is_some_and(|e| e == "html")
                && !ids
                    .get(&target)
                    .is_some_and(|ids| ids.contains(&decoded(fragment)))
            {
                problems.push(format!(
                    "{name}: the link {link} leads to no id {fragment:?}"
                ));
            }
        }
    }
    // Style sheets: fonts and imports from the network.
    for sheet in files(out)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "css"))
    {
        let text = fs::read_to_string(&sheet).unwrap_or_default();
        for needle in [
            "url(http",
            "url(\"http",
            "url('http",
            "@import url(http",
            "@import \"http",
        ] {
            if text.contains(needle) {
                problems.push(format!(
                    "{}: loads from the network ({needle}...)",
                    shown(sheet.strip_prefix(out).unwrap_or(&sheet))
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok((pages.len(), checked))
    } else {
        problems.sort();
        problems.dedup();
        Err(format!(
            "{} broken link(s) in the built book:\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

/// The values of `attribute="..."` in an HTML text, each with its tag's name.
fn attributes(html: &str, attribute: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let needle = format!(" {attribute}=\"");
    let mut from = 0;
    while let Some(at) = html[from..].find(&needle) {
        let start = from + at + needle.len();
        let Some(length) = html[start..].find('"') else {
            break;
        };
        let tag_start = html[..start].rfind('<').map_or(start, |t| t + 1);
        let tag: String = html[tag_start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        // Inside a code block, `<` is escaped: what looks like an attribute
        // there is text, and has no tag.
        let in_tag = !html[tag_start..start].contains('>');
        if in_tag {
            found.push((tag, html[start..start + length].replace("&amp;", "&")));
        }
        from = start + length;
    }
    found
}

/// `%20` and the like decoded (ids and paths as the browser reads them).
fn decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path with its `.` and `..` resolved, without asking the file system.
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_ids_are_read_from_tags_not_from_code() {
        let html = r#"<a href="a.html#x">a</a><code>&lt;a href="no"&gt;</code><img src="i.png">"#;
        assert_eq!(
            attributes(html, "href"),
            [("a".to_string(), "a.html#x".to_string())]
        );
        assert_eq!(
            attributes(html, "src"),
            [("img".to_string(), "i.png".to_string())]
        );
        assert_eq!(decoded("a%20b"), "a b");
        assert_eq!(
            normalized(Path::new("/b/steps/s01/../../README.html")),
            Path::new("/b/README.html")
        );
    }
}
