//! `cargo xtask check`: what must not drift between the steps and their
//! lessons, checked over every step.
//!
//! 1. Machinery stays identical: a file whose module doc (`//!`) says "The
//!    same file in every later step" (`db.rs`, `errors.rs`, `hub.rs`) is the
//!    same, byte for byte, in every step that has it. The other files grow
//!    from step to step. One exception, said in the file itself: a step may
//!    replace a machinery file once, when its copy's module doc says
//!    "Replaced at step NN" (its own number: `errors.rs` at 22, on
//!    PostgreSQL); from there on that copy is the one every later step has.
//! 2. A lesson's code comes from its step: each ```rust and ```js block of
//!    README.md names the items it shows on the line before its fence,
//!    `<!-- excerpt: NAME, ... -->`, and is their text, whole or cut at
//!    `// ...` lines (see excerpts.rs).
//! 3. A lesson's commands are tested: each `http ...` or `curl ...` line of a
//!    shell block of README.md appears as it is in the step's `tests/`.
//! 4. A step has one title: its Cargo.toml's description (after "Step NN of
//!    the Rust chat tutorial: "), its lesson's (after "# Step NN: ") and its
//!    row of the root README's steps table say the same.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::excerpts::{self, Block};
use crate::items::Code;
use crate::steps::{self, Step, files, shown};

pub const USAGE: &str = "\
usage: cargo xtask check

Checks every step: each machinery file (its module doc says \"The same file in
every later step\") is identical in every step that has it; each ```rust and
```js block of a lesson (README.md) is the text of the items that the line
before its fence names, `<!-- excerpt: NAME, ... -->`, whole or cut at
`// ...` lines (`cargo xtask fill` writes the whole ones); each `http ...` and
`curl ...` line of a lesson's shell blocks appears in the step's tests/; a
step's title is the same in its Cargo.toml, its lesson and the README's table.
";

/// The info strings of the blocks whose commands are checked.
const SHELL: [&str; 4] = ["bash", "sh", "shell", "console"];

/// The info strings of the blocks that must name the items they show.
pub const QUOTED: [&str; 2] = ["rust", "js"];

/// What a machinery file's module doc says.
const MACHINERY: &str = "The same file in every later step";

/// What a machinery file's module doc says at the step that replaces it,
/// before the step's number: "Replaced at step 22".
const REPLACED: &str = "Replaced at step ";

/// Cargo.toml's description starts so, before the step's title.
const DESCRIPTION: &str = " of the Rust chat tutorial: ";

pub fn main(args: Vec<String>) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => {
            print!("{USAGE}");
            return Ok(());
        }
        Some(other) => return Err(format!("check takes no argument, not {other:?}\n\n{USAGE}")),
        None => {}
    }
    let root = steps::workspace_root();
    let all = steps::all(&root)?;
    let (mut problems, machinery_files) = machinery(&all);
    problems.extend(titles(&root, &all));
    let (mut blocks, mut commands) = (0, 0);
    for step in &all {
        let (b, c) = lesson(&root, step, &mut problems);
        blocks += b;
        commands += c;
    }
    if problems.is_empty() {
        println!(
            "check: {} steps; machinery ({}) identical; titles agree; {blocks} code blocks \
             taken by name from their steps, and {commands} commands of the lessons found in \
             their tests",
            all.len(),
            machinery_files.join(", ")
        );
        Ok(())
    } else {
        Err(format!(
            "{} problem(s):\n\n{}",
            problems.len(),
            problems.join("\n\n")
        ))
    }
}

// ------------------------------------------------------------ 1. machinery

/// Whether a source file says, in its module doc, that it is machinery.
pub fn is_machinery(text: &str) -> bool {
    module_doc(text).contains(MACHINERY)
}

/// The step whose copy of a machinery file replaced the earlier steps'
/// (`"22"`), if its module doc says "Replaced at step 22".
pub fn replaced_at(text: &str) -> Option<String> {
    let doc = module_doc(text);
    let (_, after) = doc.split_once(REPLACED)?;
    let number: String = after
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    (!number.is_empty()).then_some(number)
}

/// A file's module doc (its leading `//!` lines), as one line.
fn module_doc(text: &str) -> String {
    let doc: Vec<&str> = text
        .lines()
        .map(str::trim_start)
        .take_while(|l| l.starts_with("//!") || l.is_empty())
        .filter_map(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    doc.join(" ")
}

/// Compares each machinery file with the same file in the previous step that
/// has it: the first difference is where the drift began, unless that copy
/// says it replaces the file at this step (once per file). Answers the
/// problems and the machinery files' names.
fn machinery(all: &[Step]) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    // file (relative to src/) -> the last step seen with it, and its bytes
    let mut seen: BTreeMap<PathBuf, (&str, Vec<u8>)> = BTreeMap::new();
    // file -> the step that replaced it
    let mut replaced: BTreeMap<PathBuf, &str> = BTreeMap::new();
    for step in all {
        for file in files(&step.dir.join("src")) {
            let relative = file.strip_prefix(step.dir.join("src")).unwrap_or(&file);
            let Ok(bytes) = fs::read(&file) else { continue };
            // Machinery from the first step whose copy says so; every later
            // copy is compared with it, whatever it says.
            let Some((before, old)) = seen.get(relative) else {
                if is_machinery(&String::from_utf8_lossy(&bytes)) {
                    seen.insert(relative.to_path_buf(), (&step.name, bytes));
                }
                continue;
            };
            let number = step.name.trim_start_matches('s');
            let replacing = *old != bytes
                && replaced_at(&String::from_utf8_lossy(&bytes)).as_deref() == Some(number);
            if replacing && let Some(earlier) = replaced.get(relative) {
                problems.push(format!(
                    "src/{} is replaced at {earlier} and again at {}: a machinery file may \
                     be replaced at one step only",
                    shown(relative),
                    step.name,
                ));
            } else if replacing {
                replaced.insert(relative.to_path_buf(), &step.name);
            } else if *old != bytes {
                let (line, old_line, new_line) = first_difference(old, &bytes);
                problems.push(format!(
                    "src/{} differs between {before} and {}, from line {line}:\n  \
                     {before}: {old_line}\n  {}: {new_line}\n\
                     It is machinery (\"{MACHINERY}\") and must be the same in every step: \
                     make the change in one step and `cargo xtask carry` it to the others \
                     (or, to replace it from {} on, say \"{REPLACED}{number}\" in its //!).",
                    shown(relative),
                    step.name,
                    step.name,
                    step.name,
                ));
            }
            seen.insert(relative.to_path_buf(), (&step.name, bytes));
        }
    }
    let names = seen.keys().map(|p| shown(p)).collect();
    (problems, names)
}

/// The number (from 1) and text of the first line where `a` and `b` differ.
fn first_difference(a: &[u8], b: &[u8]) -> (usize, String, String) {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let (mut a_lines, mut b_lines) = (a.split('\n'), b.split('\n'));
    let mut number = 1;
    loop {
        let (x, y) = (a_lines.next(), b_lines.next());
        if x != y || x.is_none() {
            let show =
                |line: Option<&str>| line.map_or("(end of file)".to_string(), |l| format!("{l:?}"));
            return (number, show(x), show(y));
        }
        number += 1;
    }
}

// --------------------------------------------------------------- 2. and 3.

/// Checks one step's lesson; answers how many quoted blocks and commands it has.
fn lesson(root: &Path, step: &Step, problems: &mut Vec<String>) -> (usize, usize) {
    let readme = step.dir.join("README.md");
    let Ok(text) = fs::read_to_string(&readme) else {
        return (0, 0);
    };
    let readme_shown = shown(readme.strip_prefix(root).unwrap_or(&readme));
    let tests_dir = step.dir.join("tests");
    let tests: Vec<String> = files(&tests_dir)
        .iter()
        .filter_map(|f| fs::read(f).ok())
        .map(|bytes| joined_lines(&String::from_utf8_lossy(&bytes)))
        .collect();
    // The step's items, read once, when a block needs them.
    let mut code: Option<Result<Code, String>> = None;

    let (mut blocks, mut commands) = (0, 0);
    for line in excerpts::stray_comments(&text) {
        problems.push(format!(
            "{readme_shown}:{line}: this excerpt comment is not on the line just before a \
             code fence, so it names nothing"
        ));
    }
    for block in excerpts::blocks(&text) {
        if block.names.is_some() || QUOTED.contains(&block.info.as_str()) {
            blocks += 1;
            let code = code.get_or_insert_with(|| Code::read(&step.dir));
            match code {
                Ok(code) => {
                    if let Err(why) = excerpt(&block, code, &readme_shown, step) {
                        problems.push(why);
                    }
                }
                Err(why) => problems.push(format!(
                    "{readme_shown}:{}: the code of {} cannot be read: {why}",
                    block.line, step.name
                )),
            }
        } else if SHELL.contains(&block.info.as_str()) {
            for (line, command) in shell_commands(&block) {
                commands += 1;
                if !tests.iter().any(|test| test.contains(&command)) {
                    problems.push(format!(
                        "{readme_shown}:{line}: the command\n  {command}\n\
                         appears in no file of {} (the tests run the lesson's commands \
                         as they are written)",
                        shown(tests_dir.strip_prefix(root).unwrap_or(&tests_dir))
                    ));
                }
            }
        }
    }
    (blocks, commands)
}

/// Checks one quoted block of a lesson against the items it names.
fn excerpt(block: &Block, code: &Code, lesson: &str, step: &Step) -> Result<(), String> {
    if block.names.is_none() {
        let guess = excerpts::suggest(block, code);
        let guess = if guess.is_empty() {
            String::new()
        } else {
            format!("; it seems to show: <!-- excerpt: {} -->", guess.join(", "))
        };
        return Err(format!(
            "{lesson}:{}: name the items this block shows, on the line before its fence: \
             <!-- excerpt: NAME, ... --> (a function, `Type::method`, `impl Type`, a \
             script's function, or a file's path){guess}",
            block.line
        ));
    }
    let items = excerpts::named(block, code).map_err(|why| {
        format!(
            "{lesson}:{}: the excerpt comment names what {} does not have:\n{why}",
            block.line - 1,
            step.name
        )
    })?;
    excerpts::compare(block, &items, lesson)
}

/// The `http ...` and `curl ...` lines of a shell block, with their README
/// line numbers: continued lines (`\`) joined, trailing comments removed.
fn shell_commands(block: &Block) -> Vec<(usize, String)> {
    let mut commands = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in block.lines.iter().enumerate() {
        let number = block.line + 1 + index;
        let (start, mut text) = pending.take().unwrap_or((number, String::new()));
        if !text.is_empty() {
            text.push(' ');
            text.push_str(line.trim_start());
        } else {
            text.push_str(line);
        }
        if let Some(continued) = text.trim_end().strip_suffix('\\') {
            pending = Some((start, continued.trim_end().to_string()));
            continue;
        }
        let command = without_comment(&text).trim().to_string();
        if command.starts_with("http ") || command.starts_with("curl ") {
            commands.push((start, command));
        }
    }
    commands
}

/// `text` with each `\` at the end of a line joined to the next line, the
/// way a shell reads it (and the way [`shell_commands`] joins a lesson's lines).
fn joined_lines(text: &str) -> String {
    let mut joined = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\\\n") {
        joined.push_str(rest[..at].trim_end());
        joined.push(' ');
        rest = rest[at + 2..].trim_start_matches([' ', '\t']);
    }
    joined.push_str(rest);
    joined
}

/// The line without a comment that starts with a blank and `#`.
fn without_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    match (1..bytes.len()).find(|&i| bytes[i] == b'#' && bytes[i - 1].is_ascii_whitespace()) {
        Some(i) => &line[..i],
        None => line,
    }
}

// ----------------------------------------------------------------- 4. titles

/// Where a step's title is written three times: the problems where the
/// description of its Cargo.toml or its row of the root README's steps table
/// does not say what its lesson's title says.
fn titles(root: &Path, all: &[Step]) -> Vec<String> {
    let readme = fs::read_to_string(root.join("README.md")).unwrap_or_default();
    let rows = table_rows(&readme);
    let mut problems = Vec::new();
    for step in all {
        let lesson_path = step.dir.join("README.md");
        let Ok(lesson) = fs::read_to_string(&lesson_path) else {
            continue;
        };
        let lesson_shown = shown(lesson_path.strip_prefix(root).unwrap_or(&lesson_path));
        let manifest = format!("steps/{}/Cargo.toml", step.name);
        let number = step.name.strip_prefix('s').unwrap_or(&step.name);
        let heading = format!("# Step {number}: ");
        let Some((line, title)) = lesson
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with("# "))
            .and_then(|(i, l)| Some((i + 1, l.strip_prefix(&heading)?.trim())))
        else {
            problems.push(format!(
                "{lesson_shown}: the lesson's first heading must be its title, \
                 `{heading}...`"
            ));
            continue;
        };
        let prefix = format!("Step {number}{DESCRIPTION}");
        let mut differ = Vec::new();
        match step.description.strip_prefix(&prefix) {
            Some(description) if description.trim() == title => {}
            Some(_) => differ.push(format!(
                "  {manifest}: description = {:?}",
                step.description
            )),
            None => differ.push(format!(
                "  {manifest}: the description does not start with {prefix:?}: {:?}",
                step.description
            )),
        }
        match rows.get(number) {
            Some((_, cell)) if cell == title => {}
            Some((row, cell)) => differ.push(format!("  README.md:{row}: | {number} | {cell} |")),
            None => differ.push(format!(
                "  README.md: the steps table (\"| Step | What it adds |\") has no row {number}"
            )),
        }
        if !differ.is_empty() {
            problems.push(format!(
                "{lesson_shown}:{line}: the title of {} is\n  {title}\nbut\n{}\n\
                 A step's title is written the same in its lesson, its Cargo.toml's \
                 description and the README's steps table.",
                step.name,
                differ.join("\n")
            ));
        }
    }
    problems
}

/// The rows of the README's steps table: step number -> (line, what the
/// "What it adds" column says).
fn table_rows(readme: &str) -> BTreeMap<String, (usize, String)> {
    let mut rows = BTreeMap::new();
    let mut column = None;
    for (index, line) in readme.lines().enumerate() {
        let Some(inner) = line.trim().strip_prefix('|') else {
            column = None;
            continue;
        };
        let cells: Vec<&str> = inner
            .trim_end_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        match column {
            None => column = cells.iter().position(|c| *c == "What it adds"),
            Some(column) => {
                if let (Some(number), Some(cell)) = (cells.first(), cells.get(column))
                    && !number.starts_with('-')
                {
                    rows.insert(number.to_string(), (index + 1, cell.to_string()));
                }
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_joined_and_stripped_of_comments() {
        let markdown = "# L\n\n\n\n\n\n\n\n\n```bash\nhttp :5001/api/users  # all of them\n\
                        curl -X POST \\\n   -d x :5001\nls # no\n```\n";
        let block = excerpts::blocks(markdown).remove(0);
        assert_eq!(block.line, 10);
        assert_eq!(
            shell_commands(&block),
            [
                (11, "http :5001/api/users".to_string()),
                (12, "curl -X POST -d x :5001".to_string())
            ]
        );
    }

    #[test]
    fn machinery_says_so_in_its_module_doc() {
        assert!(is_machinery(
            "//! The hub (step 18). The same file in every later\n//! step.\n"
        ));
        assert!(is_machinery(
            "//! Errors.\n//!\n//! The same file in every later step.\nuse x;\n"
        ));
        assert!(!is_machinery(
            "//! Step 04: the page.\n\n// The same file in every later step\n"
        ));
        assert!(!is_machinery("fn main() {}\n"));
    }

    #[test]
    fn a_replacement_says_its_step_in_its_module_doc() {
        let errors = "//! Errors (step 02b). The same file in every later step.\n\
                      //! Replaced at step 22: PostgreSQL's errors.\nuse x;\n";
        assert_eq!(replaced_at(errors).as_deref(), Some("22"));
        assert!(is_machinery(errors));
        assert_eq!(
            replaced_at("//! The same file in every later step.\n"),
            None
        );
        assert_eq!(replaced_at("// Replaced at step 22\nfn main() {}\n"), None);
    }

    #[test]
    fn the_steps_table_is_read_by_its_column() {
        let readme = "# T\n\n| Step | What it adds | Lesson |\n| --- | --- | --- |\n\
                      | 00 | hello | [s00](x) |\n| 01b | `GET /db` | [s01b](y) |\n\nText | not\n";
        let rows = table_rows(readme);
        assert_eq!(rows["00"], (5, "hello".to_string()));
        assert_eq!(rows["01b"], (6, "`GET /db`".to_string()));
        assert_eq!(rows.len(), 2);
    }
}
