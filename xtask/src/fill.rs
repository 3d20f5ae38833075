//! `cargo xtask fill [STEP ...]`: writes the code the lessons name. Each
//! block of a lesson that an `<!-- excerpt: NAME, ... -->` line names and
//! that has no `// ...` cut gets the named items' text as it is now in the
//! step's files. A lesson writer writes the comment and an empty block, runs
//! fill, and `cargo xtask check` keeps the block honest from then on.

use std::fs;

use crate::excerpts::{self, Block};
use crate::items::Code;
use crate::steps::{self, Step, shown};

pub const USAGE: &str = "\
usage: cargo xtask fill [STEP ...]

Rewrites, in the lessons (steps/<step>/README.md) of every step or of the
steps named, each code block that the line before its fence names,
`<!-- excerpt: NAME, ... -->`, and that has no `// ...` cut: it becomes the
named items' text as it is now in the step's src/ and static/ files, whole, in
order, one blank line between them. Prints each block it changed. Blocks with
cuts are left as they are: `cargo xtask check` checks them.
";

pub fn main(args: Vec<String>) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(());
    }
    if let Some(option) = args.iter().find(|a| a.starts_with('-')) {
        return Err(format!("fill does not know {option:?}\n\n{USAGE}"));
    }
    let root = steps::workspace_root();
    let all = steps::all(&root)?;
    let chosen: Vec<&Step> = if args.is_empty() {
        all.iter().collect()
    } else {
        args.iter()
            .map(|wanted| steps::find(&all, wanted))
            .collect::<Result<_, _>>()?
    };
    let (mut changed, mut same, mut cut) = (0, 0, 0);
    let mut problems = Vec::new();
    for step in chosen {
        let readme = step.dir.join("README.md");
        let Ok(text) = fs::read_to_string(&readme) else {
            continue;
        };
        let lesson = shown(readme.strip_prefix(&root).unwrap_or(&readme));
        let blocks: Vec<Block> = excerpts::blocks(&text)
            .into_iter()
            .filter(|b| b.names.is_some())
            .collect();
        if blocks.is_empty() {
            continue;
        }
        let code = match Code::read(&step.dir) {
            Ok(code) => code,
            Err(why) => {
                problems.push(format!(
                    "{lesson}: the code of {} cannot be read: {why}",
                    step.name
                ));
                continue;
            }
        };
        // Line ranges (from 1, the fences excluded) and their new lines.
        let mut replacements: Vec<(usize, usize, Vec<String>)> = Vec::new();
        for block in &blocks {
            if block.has_cuts() {
                cut += 1;
                continue;
            }
            if block.end == 0 {
                problems.push(format!(
                    "{lesson}:{}: this block is never closed",
                    block.line
                ));
                continue;
            }
            let items = match excerpts::named(block, &code) {
                Ok(items) => items,
                Err(why) => {
                    problems.push(format!("{lesson}:{}: {why}", block.line - 1));
                    continue;
                }
            };
            let (lines, _) = excerpts::whole_text(&items);
            if lines == block.lines {
                same += 1;
                continue;
            }
            changed += 1;
            let names: Vec<String> = items.iter().map(|i| i.label()).collect();
            println!(
                "fill: {lesson}:{}: {} ({} lines, were {})",
                block.line,
                names.join(", "),
                lines.len(),
                block.lines.len()
            );
            replacements.push((block.line + 1, block.end, lines));
        }
        if replacements.is_empty() {
            continue;
        }
        let mut out = String::with_capacity(text.len());
        let mut next = replacements.iter().peekable();
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let number = index + 1;
            match next.peek() {
                Some((from, to, lines)) if number == *from => {
                    for new in lines {
                        out.push_str(new);
                        out.push('\n');
                    }
                    if number == *to {
                        // An empty block: `number` is its closing fence.
                        out.push_str(line);
                        next.next();
                    }
                }
                Some((from, to, _)) if number > *from && number < *to => {}
                Some((_, to, _)) if number == *to => {
                    out.push_str(line);
                    next.next();
                }
                _ => out.push_str(line),
            }
        }
        fs::write(&readme, out).map_err(|e| format!("cannot write {lesson}: {e}"))?;
    }
    println!(
        "fill: {changed} block(s) rewritten, {same} already up to date, {cut} with cuts left \
         to `cargo xtask check`"
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} block(s) could not be filled:\n\n{}",
            problems.len(),
            problems.join("\n\n")
        ))
    }
}
