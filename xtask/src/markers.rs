//! The book's old marker lines, `// ANCHOR: name` and `// ANCHOR_END: name`.
//! The steps no longer have any (the book and `cargo xtask check` take code
//! by item name, items.rs); only `scripts/diff` (diff.rs) still leaves such
//! lines out of what it compares, through `book::is_anchor_line`. Delete this
//! file when diff.rs drops that filter.

/// Is this line one of the old markers, `// ANCHOR: name` or
/// `// ANCHOR_END: name` (or the same in a `/* */`, `<!-- -->` or `#` comment)?
pub fn is_anchor_line(line: &str) -> bool {
    let text = line.trim();
    let Some(text) = ["//", "/*", "<!--", "#"]
        .iter()
        .find_map(|opener| text.strip_prefix(opener))
    else {
        return false;
    };
    let text = text.trim_start();
    let Some(name) = text
        .strip_prefix("ANCHOR:")
        .or_else(|| text.strip_prefix("ANCHOR_END:"))
    else {
        return false;
    };
    name.trim_start()
        .starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_lines_are_told_from_code() {
        assert!(is_anchor_line("    // ANCHOR_END: send"));
        assert!(is_anchor_line("/* ANCHOR: css */"));
        assert!(!is_anchor_line("let anchor = \"ANCHOR: x\";"));
        assert!(!is_anchor_line("// ANCHOR:"));
    }
}
