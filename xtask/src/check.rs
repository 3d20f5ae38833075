//! `cargo xtask check`: what must not drift between the steps and their
//! lessons, checked over every step.
//!
//! 1. Machinery stays identical: a file of `src/` other than `main.rs`
//!    (`db.rs`, `errors.rs`) is the same, byte for byte, in every step that
//!    has it.
//! 2. A lesson's Rust comes from its step: each ```rust block of README.md is
//!    made of excerpts of the step's `src/` files, separated by `// ...`.
//! 3. A lesson's commands are tested: each `http ...` or `curl ...` line of a
//!    shell block of README.md appears as it is in the step's `tests/`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::steps::{self, Step, files, shown};

pub const USAGE: &str = "\
usage: cargo xtask check

Checks every step: the files of src/ other than main.rs are identical in every
step that has them; each ```rust block of a lesson (README.md) is made of
excerpts of the step's src/ files, cut at `// ...` lines; each `http ...` and
`curl ...` line of a lesson's shell blocks appears in the step's tests/.
";

/// The info strings of the blocks whose commands are checked.
const SHELL: [&str; 4] = ["bash", "sh", "shell", "console"];

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
    let mut problems = machinery(&all);
    let (mut blocks, mut commands) = (0, 0);
    for step in &all {
        let (b, c) = lesson(&root, step, &mut problems);
        blocks += b;
        commands += c;
    }
    if problems.is_empty() {
        println!(
            "check: {} steps; machinery identical; {blocks} code blocks (Rust, JavaScript) and {commands} \
             commands of the lessons found in their steps",
            all.len()
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

/// Compares each machinery file with the same file in the previous step that
/// has it: the first difference is where the drift began.
fn machinery(all: &[Step]) -> Vec<String> {
    let mut problems = Vec::new();
    // file (relative to src/) -> the last step seen with it, and its bytes
    let mut seen: BTreeMap<PathBuf, (&str, Vec<u8>)> = BTreeMap::new();
    for step in all {
        for file in files(&step.dir.join("src")) {
            let relative = file.strip_prefix(step.dir.join("src")).unwrap_or(&file);
            if relative == Path::new("main.rs") {
                continue;
            }
            let Ok(bytes) = fs::read(&file) else { continue };
            if let Some((before, old)) = seen.get(relative)
                && *old != bytes
            {
                let (line, old_line, new_line) = first_difference(old, &bytes);
                problems.push(format!(
                    "src/{} differs between {before} and {}, from line {line}:\n  \
                     {before}: {old_line}\n  {}: {new_line}\n\
                     It is machinery and must be the same in every step: make the change \
                     in one step and `cargo xtask carry` it to the others.",
                    shown(relative),
                    step.name,
                    step.name,
                ));
            }
            seen.insert(relative.to_path_buf(), (&step.name, bytes));
        }
    }
    problems
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

/// Checks one step's lesson; answers how many Rust blocks and commands it has.
fn lesson(root: &Path, step: &Step, problems: &mut Vec<String>) -> (usize, usize) {
    let readme = step.dir.join("README.md");
    let Ok(text) = fs::read_to_string(&readme) else {
        return (0, 0);
    };
    let readme_shown = shown(readme.strip_prefix(root).unwrap_or(&readme));
    // The files a block of each language may quote: Rust from src/, the
    // pages' JavaScript from static/.
    let read = |folder: &str, extension: &str| -> Vec<(String, Vec<String>)> {
        files(&step.dir.join(folder))
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == extension))
            .filter_map(|f| {
                let text = fs::read_to_string(&f).ok()?;
                let name = shown(f.strip_prefix(root).unwrap_or(&f));
                // The book's ANCHOR lines are markers, not code a lesson quotes.
                let lines = text.lines().filter(|l| !crate::book::is_anchor_line(l));
                Some((name, lines.map(str::to_string).collect()))
            })
            .collect()
    };
    let (sources, scripts) = (read("src", "rs"), read("static", "js"));
    let tests_dir = step.dir.join("tests");
    let tests: Vec<String> = files(&tests_dir)
        .iter()
        .filter_map(|f| fs::read(f).ok())
        .map(|bytes| joined_lines(&String::from_utf8_lossy(&bytes)))
        .collect();

    let (mut blocks, mut commands) = (0, 0);
    for block in fenced_blocks(&text) {
        if block.info == "rust" || block.info == "js" {
            blocks += 1;
            let (quoted, folder) = if block.info == "rust" {
                (&sources, "src/")
            } else {
                (&scripts, "static/")
            };
            if let Err(why) = excerpts_match(&block, quoted) {
                problems.push(format!(
                    "{readme_shown}:{}: this {} block is not an excerpt of {}'s {folder}: {why}",
                    block.line, block.info, step.name
                ));
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

/// A fenced code block of a Markdown file.
struct Block {
    /// The info string after the opening fence: `rust`, `bash`...
    info: String,
    /// The line number (from 1) of the opening fence.
    line: usize,
    lines: Vec<String>,
}

fn fenced_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match &mut open {
            None if fence => {
                open = Some(Block {
                    info: line.trim().trim_start_matches('`').trim().to_string(),
                    line: index + 1,
                    lines: Vec::new(),
                });
            }
            Some(_) if fence && line.trim().trim_start_matches('`').is_empty() => {
                blocks.extend(open.take());
            }
            Some(block) => block.lines.push(line.to_string()),
            None => {}
        }
    }
    blocks
}

/// Each chunk of the block (cut at `// ...` lines) must be a run of lines of
/// one of the source files, all indented by the same number of spaces more.
fn excerpts_match(block: &Block, sources: &[(String, Vec<String>)]) -> Result<(), String> {
    for chunk in block.lines.split(|l| l.trim() == "// ...") {
        let chunk: Vec<&str> = chunk.iter().map(|l| l.trim_end()).collect();
        let Some(first) = chunk.iter().position(|l| !l.is_empty()) else {
            continue;
        };
        let last = chunk.iter().rposition(|l| !l.is_empty()).unwrap_or(first);
        let chunk = &chunk[first..=last];

        // Where the longest start of the chunk is: (lines matched, file, index).
        let mut best: (usize, &str, usize) = (0, "", 0);
        for (name, lines) in sources {
            for start in 0..lines.len() {
                let matched = matching_lines(chunk, &lines[start..]);
                if matched > best.0 {
                    best = (matched, name, start);
                }
            }
        }
        let (matched, name, start) = best;
        if matched < chunk.len() {
            // The file line where the chunk's first unmatched line was expected.
            let closest = sources
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, lines)| lines.get(start + matched))
                .filter(|_| matched > 0)
                .map(|line| {
                    let at = start + matched + 1;
                    format!("\n  closest: {name}:{at} reads {:?}", line.trim_end())
                })
                .unwrap_or_default();
            return Err(format!(
                "the line\n  {:?}\nmatches nowhere{closest}",
                chunk[matched]
            ));
        }
    }
    Ok(())
}

/// How many lines of `chunk` match the start of `lines`, with the indentation
/// of the first non-empty line applied to all of them.
fn matching_lines(chunk: &[&str], lines: &[String]) -> usize {
    let mut indent: Option<usize> = None;
    for (count, (wanted, line)) in chunk.iter().zip(lines).enumerate() {
        let line = line.trim_end();
        if wanted.is_empty() {
            if !line.is_empty() {
                return count;
            }
            continue;
        }
        let k = *indent.get_or_insert_with(|| line.len().saturating_sub(wanted.len()));
        // Bytes, not characters: `k` may fall inside a character of `line`.
        let (line, wanted) = (line.as_bytes(), wanted.as_bytes());
        let ok = line.len() == k + wanted.len()
            && line[..k].iter().all(|&b| b == b' ')
            && &line[k..] == wanted;
        if !ok {
            return count;
        }
    }
    chunk.len().min(lines.len())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn block(text: &str) -> Block {
        Block {
            info: "rust".into(),
            line: 1,
            lines: text.lines().map(String::from).collect(),
        }
    }

    fn source(text: &str) -> Vec<(String, Vec<String>)> {
        vec![("main.rs".into(), text.lines().map(String::from).collect())]
    }

    #[test]
    fn excerpts_may_be_indented_and_cut_at_elisions() {
        let file = source("fn main() {\n    let a = 1;\n\n    let b = 2;\n    run(a, b);\n}\n");
        let good = block("let a = 1;\n\nlet b = 2;\n// ...\nfn main() {\n");
        assert!(excerpts_match(&good, &file).is_ok());
        // Indentation must be the same extra amount for the whole chunk.
        let uneven = block("let a = 1;\n  let b = 2;\n");
        assert!(excerpts_match(&uneven, &file).is_err());
        let drifted = block("let a = 1;\n\nlet b = 3;\n");
        let error = excerpts_match(&drifted, &file).unwrap_err();
        assert!(error.contains("\"let b = 3;\""), "{error}");
        assert!(
            error.contains("main.rs:4 reads \"    let b = 2;\""),
            "{error}"
        );
    }

    #[test]
    fn commands_are_joined_and_stripped_of_comments() {
        let mut b =
            block("http :5001/api/users  # all of them\ncurl -X POST \\\n   -d x :5001\nls # no\n");
        b.line = 10;
        assert_eq!(
            shell_commands(&b),
            [
                (11, "http :5001/api/users".to_string()),
                (12, "curl -X POST -d x :5001".to_string())
            ]
        );
    }
}
