//! The lessons' code blocks and the items they show. A lesson names what a
//! block shows on the line just before its opening fence:
//!
//! ````markdown
//! <!-- excerpt: create_user -->
//! ```rust
//! ...
//! ```
//! ````
//!
//! with one name or several (`<!-- excerpt: User, NewUser -->`), each found by
//! [`Code::find`] (`src/pages.rs: page` when the name alone is in two files).
//! A block without a `// ...` line is the named items whole, in order,
//! separated by one blank line: `cargo xtask fill` writes it. A block with
//! `// ...` lines (cuts) shows parts of them: each run of lines between cuts
//! is a run of one item's lines (or whole items one after the other), in
//! order, and a cut marks every place where lines of an item are left out.

use std::collections::HashSet;

use crate::items::{Code, Item, Kind, edit_distance};

/// The line that marks lines left out of an excerpt.
pub const CUT: &str = "// ...";

/// What a lesson writes before a block's fence to name the items it shows.
const EXCERPT: &str = "excerpt:";

/// A fenced code block of a Markdown file.
pub struct Block {
    /// The info string after the opening fence: `rust`, `bash`...
    pub info: String,
    /// The line number (from 1) of the opening fence.
    pub line: usize,
    /// The line number (from 1) of the closing fence, or 0 if there is none.
    pub end: usize,
    pub lines: Vec<String>,
    /// The names of `<!-- excerpt: ... -->` on the line before the fence.
    pub names: Option<Vec<String>>,
}

impl Block {
    /// Whether the block cuts its items (has `// ...` lines).
    pub fn has_cuts(&self) -> bool {
        self.lines.iter().any(|l| is_cut(l))
    }

    /// The lesson's line number (from 1) of the block's line `index` (from 0).
    fn line_of(&self, index: usize) -> usize {
        self.line + 1 + index
    }
}

pub fn is_cut(line: &str) -> bool {
    line.trim() == CUT
}

/// The names of an `<!-- excerpt: a, b -->` line; `None` for another line.
pub fn excerpt_names(line: &str) -> Option<Vec<String>> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim()
        .strip_prefix(EXCERPT)?;
    Some(
        inner
            .split(',')
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .collect(),
    )
}

/// The fenced blocks of a Markdown text, each with the names of the excerpt
/// comment just before it, if any.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (index, line) in lines.iter().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match &mut open {
            None if fence => {
                open = Some(Block {
                    info: line.trim().trim_start_matches('`').trim().to_string(),
                    line: index + 1,
                    end: 0,
                    lines: Vec::new(),
                    names: index
                        .checked_sub(1)
                        .and_then(|before| excerpt_names(lines[before])),
                });
            }
            Some(block) if fence && line.trim().trim_start_matches('`').is_empty() => {
                block.end = index + 1;
                blocks.extend(open.take());
            }
            Some(block) => block.lines.push(line.to_string()),
            None => {}
        }
    }
    blocks
}

/// The line numbers (from 1) of excerpt comments that are not on the line
/// just before a fence: they name nothing.
pub fn stray_comments(markdown: &str) -> Vec<usize> {
    let lines: Vec<&str> = markdown.lines().collect();
    let named: HashSet<usize> = blocks(markdown)
        .iter()
        .filter(|b| b.names.is_some())
        .map(|b| b.line - 1)
        .collect();
    let mut in_block = false;
    let mut stray = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("```") {
            // Opened by any fence, closed by a bare one (as `blocks` reads them).
            in_block = !in_block || !line.trim().trim_start_matches('`').is_empty();
            continue;
        }
        if !in_block && excerpt_names(line).is_some() && !named.contains(&(index + 1)) {
            stray.push(index + 1);
        }
    }
    stray
}

/// The items a block names, found in the step's code; or what is wrong
/// with each name that finds nothing.
pub fn named<'a>(block: &Block, code: &'a Code) -> Result<Vec<&'a Item>, String> {
    let names = block.names.as_deref().unwrap_or_default();
    if names.is_empty() {
        return Err("the excerpt comment names nothing: `<!-- excerpt: NAME, ... -->`".into());
    }
    let mut items = Vec::new();
    let mut problems = Vec::new();
    for name in names {
        match code.find(name) {
            Ok(item) => items.push(item),
            Err(why) => problems.push(why),
        }
    }
    if problems.is_empty() {
        Ok(items)
    } else {
        Err(problems.join("\n"))
    }
}

/// What a block without cuts must be: the items' texts, whole, in order,
/// one blank line between them; with, for each line, where it comes from.
pub fn whole_text(items: &[&Item]) -> (Vec<String>, Vec<Option<(String, usize)>>) {
    let (mut lines, mut origins) = (Vec::new(), Vec::new());
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            lines.push(String::new());
            origins.push(None);
        }
        for (offset, line) in item.text_lines().into_iter().enumerate() {
            lines.push(line);
            origins.push(Some((item.file.clone(), item.line() + offset)));
        }
    }
    (lines, origins)
}

/// Checks a block against the items it names: `Ok`, or what differs, with
/// the lesson's line numbers (`lesson` is the lesson's path, for messages).
pub fn compare(block: &Block, items: &[&Item], lesson: &str) -> Result<(), String> {
    if block.has_cuts() {
        compare_cut(block, items, lesson)
    } else {
        compare_whole(block, items, lesson)
    }
}

fn names_of(items: &[&Item]) -> String {
    let names: Vec<String> = items.iter().map(|i| i.label()).collect();
    names.join(", ")
}

fn compare_whole(block: &Block, items: &[&Item], lesson: &str) -> Result<(), String> {
    let (wanted, origins) = whole_text(items);
    let have: Vec<&str> = block.lines.iter().map(|l| l.trim_end()).collect();
    let Some(at) = (0..wanted.len().max(have.len()))
        .find(|&i| have.get(i).copied() != wanted.get(i).map(String::as_str))
    else {
        return Ok(());
    };
    let advice = "`cargo xtask fill` writes the items' text as it is now; if the block \
                  shows only part of them, mark each place where lines are left out with a \
                  `// ...` line";
    let line = block.line_of(at);
    let from = |i: usize| match origins.get(i).cloned().flatten() {
        Some((file, number)) => format!("{file}:{number}"),
        None => "the blank line between two items".to_string(),
    };
    let why = match (have.get(at), wanted.get(at)) {
        (Some(have), Some(wanted)) => format!(
            "its line\n  {have:?}\nis not what {} reads:\n  {wanted:?}",
            from(at)
        ),
        (None, Some(wanted)) => format!(
            "the block ends there, and the items go on: {} reads\n  {wanted:?}",
            from(at)
        ),
        (Some(have), None) => format!("the items end before its line\n  {have:?}"),
        (None, None) => unreachable!("a difference was found"),
    };
    Err(format!(
        "{lesson}:{line}: this block is not the whole text of {}: {why}\n({advice})",
        names_of(items)
    ))
}

/// A run of a block's lines between two cuts (or a cut and an end).
struct Run<'a> {
    /// Index (from 0) of its first line in the block.
    start: usize,
    lines: Vec<&'a str>,
    cut_before: bool,
    cut_after: bool,
}

fn runs(block: &Block) -> Vec<Run<'_>> {
    let chunks: Vec<(usize, &[String])> = {
        let mut chunks = Vec::new();
        let mut start = 0;
        for (index, line) in block.lines.iter().enumerate() {
            if is_cut(line) {
                chunks.push((start, &block.lines[start..index]));
                start = index + 1;
            }
        }
        chunks.push((start, &block.lines[start..]));
        chunks
    };
    let count = chunks.len();
    let mut runs = Vec::new();
    for (number, (start, chunk)) in chunks.into_iter().enumerate() {
        let lines: Vec<&str> = chunk.iter().map(|l| l.trim_end()).collect();
        let Some(first) = lines.iter().position(|l| !l.is_empty()) else {
            continue;
        };
        let last = lines.iter().rposition(|l| !l.is_empty()).unwrap_or(first);
        runs.push(Run {
            start: start + first,
            lines: lines[first..=last].to_vec(),
            cut_before: number > 0,
            cut_after: number + 1 < count,
        });
    }
    runs
}

/// Does the block's line `wanted` match the file's `line`, given the extra
/// indentation of the run (set by its first non-empty line)?
fn line_matches(wanted: &str, line: &str, indent: &mut Option<usize>) -> bool {
    let line = line.trim_end();
    if wanted.is_empty() {
        return line.is_empty();
    }
    let k = *indent.get_or_insert_with(|| line.len().saturating_sub(wanted.len()));
    // Bytes, not characters: `k` may fall inside a character of `line`.
    let (line, wanted) = (line.as_bytes(), wanted.as_bytes());
    line.len() == k + wanted.len() && line[..k].iter().all(|&b| b == b' ') && &line[k..] == wanted
}

/// Matches `run` from line `q` of item `j`: over the end of an item, a blank
/// line of the run and the next item from its start. `Ok((item, line))`: where
/// it ended (the index after its last line); `Err((lines matched, item, line))`:
/// where the first line that does not match was expected.
fn match_run(
    run: &[&str],
    items: &[&Item],
    mut j: usize,
    mut q: usize,
) -> Result<(usize, usize), (usize, usize, usize)> {
    let mut t = 0;
    let mut indent = None;
    loop {
        let lines = &items[j].lines;
        while t < run.len() && q < lines.len() {
            if !line_matches(run[t], &lines[q], &mut indent) {
                return Err((t, j, q));
            }
            t += 1;
            q += 1;
        }
        if t == run.len() {
            return Ok((j, q));
        }
        if run[t].is_empty() && t + 1 < run.len() && j + 1 < items.len() {
            t += 1;
            j += 1;
            q = 0;
            indent = None;
            continue;
        }
        return Err((t, j, q));
    }
}

/// The best explanation found so far of why a block does not match, the
/// deepest into the block first.
struct Failure {
    /// (run, lines matched in it, kind: 0 a line differs, 1 a rule, 2 an item unused)
    score: (usize, usize, u8),
    message: String,
}

struct Search<'a> {
    runs: Vec<Run<'a>>,
    items: &'a [&'a Item],
    block: &'a Block,
    failed: HashSet<(usize, usize, usize)>,
    best: Option<Failure>,
}

impl Search<'_> {
    /// Whether a failure of this score would explain more than the best so far.
    fn better(&self, score: (usize, usize, u8)) -> bool {
        self.best.as_ref().is_none_or(|b| score > b.score)
    }

    fn fail(&mut self, score: (usize, usize, u8), message: impl FnOnce() -> String) {
        if self.better(score) {
            self.best = Some(Failure {
                score,
                message: message(),
            });
        }
    }

    /// Can runs `s..` be matched, item `i` being used up to its line `p`
    /// (and the items before it used)?
    fn solve(&mut self, s: usize, i: usize, p: usize) -> bool {
        if s == self.runs.len() {
            if i + 1 == self.items.len() && p > 0 {
                return true;
            }
            let unused = if p == 0 { i } else { i + 1 };
            let item = self.items[unused].label();
            self.fail((s, 0, 2), || {
                format!("{item} is named, but no line of the block is from it")
            });
            return false;
        }
        if self.failed.contains(&(s, i, p)) {
            return false;
        }
        let mut candidates: Vec<(usize, usize)> =
            (p..self.items[i].lines.len()).map(|q| (i, q)).collect();
        if p > 0 && i + 1 < self.items.len() {
            candidates.extend((0..self.items[i + 1].lines.len()).map(|q| (i + 1, q)));
        }
        let mut matched_somewhere = false;
        for (j, q) in candidates {
            match match_run(&self.runs[s].lines, self.items, j, q) {
                Ok((je, pe)) => {
                    matched_somewhere = true;
                    if let Err((score, message)) = self.rules(s, (i, p), (j, q), (je, pe)) {
                        self.fail(score, || message);
                        continue;
                    }
                    if self.solve(s + 1, je, pe) {
                        return true;
                    }
                }
                Err((matched, at_item, at_line)) => {
                    if self.better((s, matched, 0)) {
                        let message = self.differs(s, matched, at_item, at_line);
                        self.fail((s, matched, 0), || message);
                    }
                }
            }
        }
        if !matched_somewhere {
            self.out_of_order(s, i, p);
        }
        self.failed.insert((s, i, p));
        false
    }

    /// The cuts a run needs: before it when it does not start an item, after
    /// it when it does not end one; and no cut where nothing is left out. The
    /// run `s` follows the runs before it, which ended at line `before.1` of
    /// item `before.0`, and goes from line `start.1` of item `start.0` to the
    /// line before `end.1` of item `end.0`.
    fn rules(
        &self,
        s: usize,
        before: (usize, usize),
        start: (usize, usize),
        end: (usize, usize),
    ) -> Result<(), ((usize, usize, u8), String)> {
        let run = &self.runs[s];
        let (from, to) = (
            self.block.line_of(run.start),
            self.block.line_of(run.start + run.lines.len() - 1),
        );
        let score = (s, run.lines.len(), 1);
        let ((j, q), (je, pe)) = (start, end);
        if q > 0 && !run.cut_before {
            let item = self.items[j];
            return Err((
                score,
                format!(
                    "lines {from}-{to} are part of {}, from its line {}, not its start: put a \
                     `{CUT}` line before them",
                    item.label(),
                    item.line() + q
                ),
            ));
        }
        if pe < self.items[je].lines.len() && !run.cut_after {
            let item = self.items[je];
            return Err((
                score,
                format!(
                    "lines {from}-{to} are part of {}, up to its line {}, not its end: put a \
                     `{CUT}` line after them",
                    item.label(),
                    item.first + pe
                ),
            ));
        }
        let starts_block = s == 0 && run.cut_before && q == 0;
        let follows = s > 0 && before.1 > 0 && start == before;
        if starts_block || follows {
            return Err((
                score,
                format!(
                    "the `{CUT}` line above line {from} leaves nothing out: {}; remove it",
                    if starts_block {
                        "the item starts there"
                    } else {
                        "its item goes on from there"
                    }
                ),
            ));
        }
        if s + 1 == self.runs.len() && run.cut_after && pe == self.items[je].lines.len() {
            return Err((
                score,
                format!(
                    "the `{CUT}` line below line {to} leaves nothing out: {} ends there; \
                     remove it",
                    self.items[je].label()
                ),
            ));
        }
        Ok(())
    }

    /// Why run `s` does not match where it was tried: its first line that
    /// differs, and the file's line there (or the closest line of the items).
    fn differs(&self, s: usize, matched: usize, at_item: usize, at_line: usize) -> String {
        let run = &self.runs[s];
        let wanted = run.lines[matched];
        let line = self.block.line_of(run.start + matched);
        let item = self.items[at_item];
        if matched > 0 {
            let file_line = match item.lines.get(at_line) {
                Some(text) => format!(
                    "{}:{} reads\n  {:?}",
                    item.file,
                    item.first + at_line + 1,
                    text.trim_end()
                ),
                None => format!(
                    "{} ends at {}:{}",
                    item.label(),
                    item.file,
                    item.last_line()
                ),
            };
            return format!(
                "line {line}\n  {wanted:?}\ndoes not follow the line above it in the file: \
                 {file_line}"
            );
        }
        // The first line of the run matches nowhere: the closest line.
        let closest = self
            .items
            .iter()
            .flat_map(|item| {
                item.lines
                    .iter()
                    .enumerate()
                    .map(move |(n, text)| (item, n, text.trim()))
            })
            .filter(|(_, _, text)| !text.is_empty())
            .min_by_key(|(_, _, text)| edit_distance(wanted.trim(), text));
        let closest = closest.map_or(String::new(), |(item, n, text)| {
            format!(
                "\n  closest: {}:{} reads {text:?}",
                item.file,
                item.first + n + 1
            )
        });
        format!(
            "line {line}\n  {wanted:?}\nis in none of {}{closest}",
            names_of(self.items)
        )
    }

    /// Run `s` matches nowhere it may be (after the runs before it): if it
    /// is somewhere else in the named items, say so.
    fn out_of_order(&mut self, s: usize, i: usize, p: usize) {
        let run = &self.runs[s];
        for (j, item) in self.items.iter().enumerate() {
            for q in 0..item.lines.len() {
                let tried = (j == i && q >= p) || (j == i + 1 && p > 0);
                if tried || match_run(&run.lines, self.items, j, q).is_err() {
                    continue;
                }
                let (from, to) = (
                    self.block.line_of(run.start),
                    self.block.line_of(run.start + run.lines.len() - 1),
                );
                let skipped = if p == 0 { i } else { i + 1 };
                let message = if j > skipped {
                    format!(
                        "lines {from}-{to} are from {}, but {}, named before it, has no line \
                         in the block before them",
                        item.label(),
                        self.items[skipped].label()
                    )
                } else {
                    format!(
                        "lines {from}-{to} are from {} (its line {}), out of order: the runs \
                         of a block follow the order of the names, and each item's own order",
                        item.label(),
                        item.line() + q
                    )
                };
                self.fail((s, run.lines.len(), 1), || message);
                return;
            }
        }
    }
}

fn compare_cut(block: &Block, items: &[&Item], lesson: &str) -> Result<(), String> {
    let runs = runs(block);
    if runs.is_empty() {
        return Err(format!(
            "{lesson}:{}: this block shows nothing of {} but cuts",
            block.line,
            names_of(items)
        ));
    }
    let mut search = Search {
        runs,
        items,
        block,
        failed: HashSet::new(),
        best: None,
    };
    if search.solve(0, 0, 0) {
        return Ok(());
    }
    let why = search
        .best
        .map_or_else(|| "it does not match".to_string(), |b| b.message);
    Err(format!(
        "{lesson}:{}: this block is not an excerpt of {}: {why}",
        block.line,
        names_of(items)
    ))
}

/// The names a block seems to show, for a block that names nothing: for each
/// run, the smallest items whose lines it follows the longest; the file when
/// no item has its lines.
pub fn suggest(block: &Block, code: &Code) -> Vec<String> {
    // A ```rust block shows Rust, a ```js block a script.
    let extension = match block.info.as_str() {
        "rust" => ".rs",
        "js" => ".js",
        _ => "",
    };
    let mut names: Vec<String> = Vec::new();
    for run in runs(block) {
        let mut t = 0;
        while t < run.lines.len() {
            let rest = &run.lines[t..];
            // (lines matched, -size) of each item, at its best start.
            let best = code
                .items
                .iter()
                .filter(|i| i.kind != Kind::File && i.file.ends_with(extension))
                .filter_map(|item| {
                    let matched = (0..item.lines.len())
                        .map(|q| matched_lines(rest, &item.lines[q..]))
                        .max()
                        .unwrap_or(0);
                    (matched > 0).then_some((matched, std::cmp::Reverse(item.lines.len()), item))
                })
                .max_by_key(|(matched, size, _)| (*matched, *size));
            let (name, matched) = match best {
                Some((matched, _, item)) => (code.reference(item), matched),
                None => {
                    let file = code.items.iter().find(|i| {
                        i.kind == Kind::File
                            && i.file.ends_with(extension)
                            && (0..i.lines.len()).any(|q| matched_lines(rest, &i.lines[q..]) > 0)
                    });
                    (file.map_or("?".to_string(), |f| f.file.clone()), 1)
                }
            };
            if names.last() != Some(&name) && !(name.ends_with(".rs") && names.contains(&name)) {
                names.push(name);
            }
            t += matched.max(1);
            // The blank line between two items.
            while t < run.lines.len() && run.lines[t].is_empty() {
                t += 1;
            }
        }
    }
    names
}

/// How many lines at the start of `run` match the start of `lines`.
fn matched_lines(run: &[&str], lines: &[String]) -> usize {
    let mut indent = None;
    run.iter()
        .zip(lines)
        .take_while(|(wanted, line)| line_matches(wanted, line, &mut indent))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = "\
/// A user.
struct User {
    id: i64,
}

// try it: http :5001/
async fn hello() -> String {
    let name = \"you\";

    format!(\"hello {name}\")
}

fn main() {
    let server = start();
    server.run();
    server.stop();
}
";

    fn code() -> Code {
        Code {
            items: Code::of_file("src/main.rs", MAIN).unwrap(),
        }
    }

    fn block(names: &str, text: &str) -> Block {
        let markdown = format!("# Lesson\n\n<!-- excerpt: {names} -->\n```rust\n{text}```\n");
        blocks(&markdown).remove(0)
    }

    fn check(names: &str, text: &str) -> Result<(), String> {
        let code = code();
        let block = block(names, text);
        let items = named(&block, &code)?;
        compare(&block, &items, "README.md")
    }

    #[test]
    fn a_block_names_its_items_on_the_line_before_its_fence() {
        let b = block("hello, User::x , src/main.rs: main", "x\n");
        assert_eq!(b.line, 4);
        assert_eq!(b.end, 6);
        assert_eq!(b.names.unwrap(), ["hello", "User::x", "src/main.rs: main"]);
        let plain = blocks("text\n```rust\nx\n```\n").remove(0);
        assert!(plain.names.is_none());
        assert_eq!(
            stray_comments(
                "<!-- excerpt: a -->\n\n```rust\n```\n<!-- excerpt: b -->\n```js\n```\n"
            ),
            [1]
        );
    }

    #[test]
    fn a_whole_block_is_the_items_text_in_order() {
        let two = "/// A user.\nstruct User {\n    id: i64,\n}\n\nfn main() {\n    let server = \
                   start();\n    server.run();\n    server.stop();\n}\n";
        assert_eq!(check("User, main", two), Ok(()));
        let error = check("main, User", two).unwrap_err();
        assert!(
            error.contains("README.md:5: this block is not the whole text"),
            "{error}"
        );
        assert!(error.contains("src/main.rs:13 reads"), "{error}");

        let stale = two.replace("server.run()", "server.go()");
        let error = check("User, main", &stale).unwrap_err();
        assert!(error.contains("README.md:12:"), "{error}");
        assert!(error.contains("\"    server.go();\""), "{error}");
        assert!(
            error.contains("src/main.rs:15 reads:\n  \"    server.run();\""),
            "{error}"
        );
        assert!(error.contains("cargo xtask fill"), "{error}");

        let short = "/// A user.\nstruct User {\n";
        let error = check("User", short).unwrap_err();
        assert!(error.contains("the block ends there"), "{error}");
    }

    #[test]
    fn a_cut_block_shows_runs_of_its_items_with_a_cut_where_lines_are_left_out() {
        // Indented as in the file or not, one run per item or two.
        assert_eq!(
            check("main", "fn main() {\n// ...\n    server.stop();\n}\n"),
            Ok(())
        );
        assert_eq!(
            check(
                "main",
                "// ...\nlet server = start();\nserver.run();\n// ...\n"
            ),
            Ok(())
        );
        assert_eq!(
            check(
                "hello, main",
                "// try it: http :5001/\nasync fn hello() -> String {\n// ...\n}\n\nfn main() {\n// ...\n"
            ),
            Ok(())
        );
        // Whole items with a cut between them (User, then main, an item skipped).
        assert_eq!(
            check(
                "User, main",
                "/// A user.\nstruct User {\n    id: i64,\n}\n// ...\nfn main() {\n// ...\n"
            ),
            Ok(())
        );
        // A blank line inside an item is part of the run.
        assert_eq!(
            check(
                "hello",
                "// ...\n    let name = \"you\";\n\n    format!(\"hello {name}\")\n// ...\n"
            ),
            Ok(())
        );
    }

    #[test]
    fn a_part_without_its_cut_fails_naming_the_cut_it_needs() {
        let error = check("main", "let server = start();\nserver.run();\n// ...\n").unwrap_err();
        assert!(
            error.contains("README.md:4: this block is not an excerpt of `main`"),
            "{error}"
        );
        assert!(error.contains("lines 5-6 are part of `main` (src/main.rs:13-17), from its line 14, not its start: put a `// ...` line before them"), "{error}");

        let error = check("main", "// ...\nserver.run();\n").unwrap_err();
        assert!(
            error.contains("up to its line 15, not its end: put a `// ...` line after them"),
            "{error}"
        );
    }

    #[test]
    fn a_cut_that_leaves_nothing_out_fails() {
        let error = check("main", "// ...\nfn main() {\n// ...\n").unwrap_err();
        assert!(
            error.contains(
                "the `// ...` line above line 6 leaves nothing out: the item starts there"
            ),
            "{error}"
        );
        let error = check("main", "// ...\n    server.stop();\n}\n// ...\n").unwrap_err();
        assert!(error.contains("the `// ...` line below line 7 leaves nothing out: `main` (src/main.rs:13-17) ends there"), "{error}");
        let error = check(
            "main",
            "fn main() {\n// ...\n    let server = start();\n// ...\n",
        )
        .unwrap_err();
        assert!(
            error.contains(
                "the `// ...` line above line 7 leaves nothing out: its item goes on from there"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_cut_block_that_drifted_names_the_line_and_the_closest_file_line() {
        let error = check("main", "fn main() {\n    let server = begin();\n// ...\n").unwrap_err();
        assert!(error.contains("line 6\n  \"    let server = begin();\"\ndoes not follow the line above it in the file: src/main.rs:14 reads\n  \"    let server = start();\""), "{error}");

        let error = check("main", "// ...\n    server.rum();\n// ...\n").unwrap_err();
        assert!(
            error.contains("line 6\n  \"    server.rum();\"\nis in none of `main`"),
            "{error}"
        );
        assert!(
            error.contains("closest: src/main.rs:15 reads \"server.run();\""),
            "{error}"
        );
    }

    #[test]
    fn every_named_item_is_used_and_in_order() {
        let error = check("hello, main", "fn main() {\n// ...\n").unwrap_err();
        assert!(error.contains("lines 5-5 are from `main` (src/main.rs:13-17), but `hello` (src/main.rs:6-11), named before it, has no line in the block before them"), "{error}");
        let error = check("main, hello", "fn main() {\n// ...\n").unwrap_err();
        assert!(
            error.contains(
                "`hello` (src/main.rs:6-11) is named, but no line of the block is from it"
            ),
            "{error}"
        );
        let error = check(
            "main",
            "// ...\nserver.stop();\n// ...\nserver.run();\n// ...\n",
        )
        .unwrap_err();
        assert!(error.contains("out of order"), "{error}");
    }

    #[test]
    fn a_missing_name_fails_with_the_names_that_exist() {
        let error = check("helo", "").unwrap_err();
        assert!(
            error.contains("nothing is named `helo`; the closest names: `hello`"),
            "{error}"
        );
    }

    #[test]
    fn a_block_without_names_gets_a_suggestion() {
        let code = code();
        let b = block(
            "x",
            "/// A user.\nstruct User {\n    id: i64,\n}\n\nfn main() {\n// ...\n    server.run();\n// ...\n",
        );
        assert_eq!(suggest(&b, &code), ["User", "main"]);
        let b = block("x", "// ...\n    let name = \"you\";\n// ...\n");
        assert_eq!(suggest(&b, &code), ["hello"]);
    }
}
