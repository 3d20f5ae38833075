//! The named pieces of a step's code, found in its real files. The lessons
//! (`cargo xtask check`, `cargo xtask fill`) and the book quote code by the
//! name of what they show, so the steps' files carry no markers for them, and
//! a piece is found whatever file of the step it is in.
//!
//! - Rust (`src/`, parsed with syn): each top-level `fn`, `struct`, `enum`,
//!   `union`, `const`, `static`, `type` and `trait` by its name; each `impl`
//!   whole, as `impl Type` or `impl Trait for Type`, and its functions,
//!   constants and types as `Type::name`. `#[cfg(test)]` items are left out.
//! - JavaScript (`static/`): each top-level `function name(` or
//!   `async function name(`, to its `}` at column 0; each top-level
//!   `const name`, `let name` or `var name` statement, to its end.
//! - Any file of `src/` and `static/`, whole, by its path: `static/style.css`.
//!
//! A piece's text runs from its first outer attribute (doc comments are
//! attributes), and the `//` comment lines directly above it (the `// try it:`
//! line above a handler), or a script's `/** ... */` block, to its last line.

use std::fs;
use std::path::Path;

use proc_macro2::Span;
use syn::{Attribute, Fields, ImplItem, Item as RustItem, Visibility};

use crate::steps::{files, shown};

/// What kind of piece an [`Item`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A top-level Rust item: `fn`, `struct`, `const`...
    Rust,
    /// A whole `impl` block.
    Impl,
    /// A function, constant or type of an `impl`: `User::from_row`.
    Member,
    /// A top-level function or `const`/`let` statement of a script.
    Script,
    /// A whole file.
    File,
}

/// One named piece of a step's code.
#[derive(Clone, Debug)]
pub struct Item {
    /// `create_user`, `User::from_row`, `impl ResponseError for ApiError`,
    /// `send`, or a path for a whole file: `static/style.css`.
    pub name: String,
    /// The file, relative to the step: `src/main.rs`.
    pub file: String,
    /// The index (from 0) of its first line in the file.
    pub first: usize,
    /// Its lines, as they are in the file (indentation included).
    pub lines: Vec<String>,
    pub kind: Kind,
    /// For a member, the name of its impl: `impl User`.
    pub parent: Option<String>,
}

impl Item {
    /// The number (from 1) of its first line in its file.
    pub fn line(&self) -> usize {
        self.first + 1
    }

    /// The number (from 1) of its last line in its file.
    pub fn last_line(&self) -> usize {
        self.first + self.lines.len().max(1)
    }

    /// `` `create_user` (src/main.rs:210-235) ``
    pub fn label(&self) -> String {
        if self.kind == Kind::File {
            format!("`{}`", self.name)
        } else {
            format!(
                "`{}` ({}:{}-{})",
                self.name,
                self.file,
                self.line(),
                self.last_line()
            )
        }
    }

    /// Its lines without the indentation they all share (a member's four
    /// spaces), and without trailing blanks: what a lesson shows of it whole.
    pub fn text_lines(&self) -> Vec<String> {
        let indent = self
            .lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start_matches(' ').len())
            .min()
            .unwrap_or(0);
        let mut lines: Vec<String> = self
            .lines
            .iter()
            .map(|l| l.get(indent..).unwrap_or("").trim_end().to_string())
            .collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
    }
}

/// The named pieces of one step: every file of its `src/` and `static/`.
pub struct Code {
    /// In the order of the files (sorted), then of the lines; each file's
    /// whole-file item first.
    pub items: Vec<Item>,
}

impl Code {
    /// Reads the pieces of the step in `dir`. Fails when a Rust file does not
    /// parse, saying where.
    pub fn read(dir: &Path) -> Result<Code, String> {
        let mut items = Vec::new();
        for folder in ["src", "static"] {
            for path in files(&dir.join(folder)) {
                let file = shown(path.strip_prefix(dir).unwrap_or(&path));
                let Ok(text) = fs::read_to_string(&path) else {
                    continue; // not text: no pieces to quote
                };
                items.extend(Code::of_file(&file, &text)?);
            }
        }
        Ok(Code { items })
    }

    /// The pieces of one file: the file itself, then its items.
    pub fn of_file(file: &str, text: &str) -> Result<Vec<Item>, String> {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut items = vec![Item {
            name: file.to_string(),
            file: file.to_string(),
            first: 0,
            lines: lines.clone(),
            kind: Kind::File,
            parent: None,
        }];
        let found = if file.ends_with(".rs") {
            rust_items(file, text, &lines)?
        } else if file.ends_with(".js") {
            script_items(file, &lines)
        } else {
            Vec::new()
        };
        items.extend(merge_alternatives(found));
        Ok(items)
    }

    /// The piece a lesson names: `create_user`, `User::from_row`,
    /// `impl User`, a path (`static/style.css`), or `src/pages.rs: page` when
    /// the name alone is in two files. Fails saying what exists.
    pub fn find(&self, wanted: &str) -> Result<&Item, String> {
        let wanted = wanted.trim();
        let (path, name) = split_path(wanted);
        if let Some(path) = path
            && !self
                .items
                .iter()
                .any(|i| i.kind == Kind::File && i.file == path)
        {
            let files: Vec<&str> = self
                .items
                .iter()
                .filter(|i| i.kind == Kind::File)
                .map(|i| i.file.as_str())
                .collect();
            return Err(format!(
                "there is no file {path} in src/ or static/ (there are: {})",
                files.join(", ")
            ));
        }
        let found: Vec<&Item> = match (path, name) {
            (Some(path), None) => self
                .items
                .iter()
                .filter(|i| i.kind == Kind::File && i.file == path)
                .collect(),
            (path, Some(name)) => self
                .items
                .iter()
                .filter(|i| i.kind != Kind::File && i.name == name)
                .filter(|i| path.is_none_or(|p| i.file == p))
                .collect(),
            (None, None) => Vec::new(),
        };
        match found.as_slice() {
            [item] => Ok(item),
            [] => Err(format!(
                "nothing is named `{wanted}`{}; the closest names: {}",
                path.map_or(String::new(), |p| format!(" in {p}")),
                self.closest(name.unwrap_or(wanted), path)
            )),
            several => {
                let places: Vec<String> = several
                    .iter()
                    .map(|i| format!("{}:{}", i.file, i.line()))
                    .collect();
                let in_one_file = several.iter().all(|i| i.file == several[0].file);
                let advice = if in_one_file {
                    let impls: Vec<String> = several
                        .iter()
                        .filter_map(|i| i.parent.as_ref())
                        .map(|p| format!("`{p}`"))
                        .collect();
                    if impls.is_empty() {
                        "name the file, with `// ...` cuts".to_string()
                    } else {
                        format!(
                            "name its impl ({}), or the file with `// ...` cuts",
                            impls.join(" or ")
                        )
                    }
                } else {
                    format!(
                        "write the file first, e.g. `{}: {}`",
                        several[0].file,
                        name.unwrap_or(wanted)
                    )
                };
                Err(format!(
                    "`{wanted}` is ambiguous, it is at {}: {advice}",
                    places.join(" and ")
                ))
            }
        }
    }

    /// The shortest name that finds `item`: its own, or with its file first
    /// when that name is in two files.
    pub fn reference(&self, item: &Item) -> String {
        if item.kind == Kind::File {
            return item.file.clone();
        }
        let same = self
            .items
            .iter()
            .filter(|i| i.kind != Kind::File && i.name == item.name)
            .count();
        if same > 1 {
            format!("{}: {}", item.file, item.name)
        } else {
            item.name.clone()
        }
    }

    /// Up to five names of the step that are the closest to `wanted`
    /// (containing it first, then by edit distance), as a list for a message.
    fn closest(&self, wanted: &str, path: Option<&str>) -> String {
        let lower = wanted.to_lowercase();
        let mut names: Vec<(usize, String)> = self
            .items
            .iter()
            .filter(|i| path.is_none_or(|p| i.file == p))
            .map(|i| {
                let name = self.reference(i);
                let distance = if i.name.to_lowercase().contains(&lower) {
                    0
                } else {
                    1 + edit_distance(&lower, &i.name.to_lowercase())
                };
                (distance, name)
            })
            .collect();
        names.sort();
        names.dedup();
        let shown: Vec<String> = names
            .iter()
            .take(5)
            .map(|(_, n)| format!("`{n}`"))
            .collect();
        if shown.is_empty() {
            "none (the step has no src/ or static/ file)".to_string()
        } else {
            format!("{} (of {} names)", shown.join(", "), names.len())
        }
    }
}

/// `src/pages.rs: page` -> (Some("src/pages.rs"), Some("page"));
/// `static/style.css` -> (Some(path), None); `User::from_row` -> (None, Some(name)).
fn split_path(wanted: &str) -> (Option<&str>, Option<&str>) {
    let bytes = wanted.as_bytes();
    let colon = (0..bytes.len()).find(|&i| {
        bytes[i] == b':' && bytes.get(i + 1) != Some(&b':') && (i == 0 || bytes[i - 1] != b':')
    });
    let looks_like_path = |text: &str| text.contains('/') || text.contains('.');
    match colon {
        Some(at) if looks_like_path(&wanted[..at]) => {
            let name = wanted[at + 1..].trim();
            (
                Some(wanted[..at].trim()),
                (!name.is_empty()).then_some(name),
            )
        }
        None if looks_like_path(wanted) && !wanted.contains("::") => (Some(wanted), None),
        _ => (None, Some(wanted)),
    }
}

/// The number of one-character edits from `a` to `b`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substituted.min(previous + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

/// Two pieces of one file with the same name, one right after the other
/// (only blank lines between), are one: `#[cfg(unix)] fn file_id` and its
/// `#[cfg(not(unix))]` twin. Others with the same name stay apart (and a
/// lesson must name them another way).
fn merge_alternatives(items: Vec<Item>) -> Vec<Item> {
    let mut merged: Vec<Item> = Vec::new();
    for item in items {
        let twin = merged.iter_mut().rev().find(|m| m.name == item.name);
        if let Some(twin) = twin {
            let end = twin.first + twin.lines.len();
            let gap_is_blank = item.first >= end;
            if gap_is_blank && item.first - end <= 2 {
                let gap = item.first - end;
                twin.lines
                    .extend(std::iter::repeat_n(String::new(), gap).chain(item.lines));
                continue;
            }
        }
        merged.push(item);
    }
    merged
}

// -------------------------------------------------------------------- Rust

/// The line (from 1) where a span starts, and where it ends.
fn start(span: Span) -> usize {
    span.start().line
}

fn end(span: Span) -> usize {
    span.end().line
}

/// The line of the visibility (`pub`, `pub(crate)`), if it is written.
fn visibility(vis: &Visibility) -> Option<usize> {
    match vis {
        Visibility::Public(token) => Some(start(token.span)),
        Visibility::Restricted(restricted) => Some(start(restricted.pub_token.span)),
        Visibility::Inherited => None,
    }
}

/// Is this item compiled only for the tests (`#[cfg(test)]`)?
fn only_for_tests(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && matches!(&attr.meta, syn::Meta::List(list) if list.tokens.to_string() == "test")
    })
}

/// The first line (from 1) of an item: its first attribute's, or its head's.
fn first_line(attrs: &[Attribute], head: impl IntoIterator<Item = usize>) -> usize {
    attrs
        .iter()
        .map(|a| start(a.pound_token.span))
        .chain(head)
        .min()
        .unwrap_or(1)
}

/// `User` for `User`, `Vec<User>` or `&User`; `None` for other types.
fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().map(|s| s.ident.to_string())
        }
        syn::Type::Reference(reference) => type_name(&reference.elem),
        _ => None,
    }
}

/// The items of a Rust file, whole impls followed by their members.
fn rust_items(file: &str, text: &str, lines: &[String]) -> Result<Vec<Item>, String> {
    let parsed = syn::parse_file(text).map_err(|e| {
        let at = e.span().start();
        format!(
            "{file}:{}:{}: cannot be read as Rust: {e}",
            at.line,
            at.column + 1
        )
    })?;
    let mut items = Vec::new();
    // name, kind, parent, first line, last line (from 1)
    let mut found: Vec<(String, Kind, Option<String>, usize, usize)> = Vec::new();
    for item in &parsed.items {
        let (name, attrs, head, last) = match item {
            RustItem::Fn(f) => (
                f.sig.ident.to_string(),
                &f.attrs,
                vec![visibility(&f.vis), Some(start(f.sig.fn_token.span))],
                end(f.block.brace_token.span.close()),
            ),
            RustItem::Struct(s) => {
                let last = match (&s.semi_token, &s.fields) {
                    (Some(semi), _) => end(semi.spans[0]),
                    (None, Fields::Named(named)) => end(named.brace_token.span.close()),
                    (None, Fields::Unnamed(unnamed)) => end(unnamed.paren_token.span.close()),
                    (None, Fields::Unit) => end(s.ident.span()),
                };
                (
                    s.ident.to_string(),
                    &s.attrs,
                    vec![visibility(&s.vis), Some(start(s.struct_token.span))],
                    last,
                )
            }
            RustItem::Enum(e) => (
                e.ident.to_string(),
                &e.attrs,
                vec![visibility(&e.vis), Some(start(e.enum_token.span))],
                end(e.brace_token.span.close()),
            ),
            RustItem::Union(u) => (
                u.ident.to_string(),
                &u.attrs,
                vec![visibility(&u.vis), Some(start(u.union_token.span))],
                end(u.fields.brace_token.span.close()),
            ),
            RustItem::Const(c) => (
                c.ident.to_string(),
                &c.attrs,
                vec![visibility(&c.vis), Some(start(c.const_token.span))],
                end(c.semi_token.spans[0]),
            ),
            RustItem::Static(s) => (
                s.ident.to_string(),
                &s.attrs,
                vec![visibility(&s.vis), Some(start(s.static_token.span))],
                end(s.semi_token.spans[0]),
            ),
            RustItem::Type(t) => (
                t.ident.to_string(),
                &t.attrs,
                vec![visibility(&t.vis), Some(start(t.type_token.span))],
                end(t.semi_token.spans[0]),
            ),
            RustItem::Trait(t) => (
                t.ident.to_string(),
                &t.attrs,
                vec![visibility(&t.vis), Some(start(t.trait_token.span))],
                end(t.brace_token.span.close()),
            ),
            RustItem::Impl(imp) => {
                let Some(ty) = type_name(&imp.self_ty) else {
                    continue;
                };
                let name = match &imp.trait_ {
                    Some((path, _)) => match path.segments.last() {
                        Some(segment) => format!("impl {} for {ty}", segment.ident),
                        None => continue,
                    },
                    None => format!("impl {ty}"),
                };
                if only_for_tests(&imp.attrs) {
                    continue;
                }
                let head = [
                    imp.unsafety.as_ref().map(|t| start(t.span)),
                    Some(start(imp.impl_token.span)),
                ];
                let first = first_line(&imp.attrs, head.into_iter().flatten());
                found.push((
                    name.clone(),
                    Kind::Impl,
                    None,
                    first,
                    end(imp.brace_token.span.close()),
                ));
                for member in &imp.items {
                    let (ident, attrs, head, last) = match member {
                        ImplItem::Fn(f) => (
                            &f.sig.ident,
                            &f.attrs,
                            [visibility(&f.vis), Some(start(f.sig.fn_token.span))],
                            end(f.block.brace_token.span.close()),
                        ),
                        ImplItem::Const(c) => (
                            &c.ident,
                            &c.attrs,
                            [visibility(&c.vis), Some(start(c.const_token.span))],
                            end(c.semi_token.spans[0]),
                        ),
                        ImplItem::Type(t) => (
                            &t.ident,
                            &t.attrs,
                            [visibility(&t.vis), Some(start(t.type_token.span))],
                            end(t.semi_token.spans[0]),
                        ),
                        _ => continue,
                    };
                    if only_for_tests(attrs) {
                        continue;
                    }
                    let head = head.into_iter().flatten().chain([start(ident.span())]);
                    found.push((
                        format!("{ty}::{ident}"),
                        Kind::Member,
                        Some(name.clone()),
                        first_line(attrs, head),
                        last,
                    ));
                }
                continue;
            }
            _ => continue,
        };
        if only_for_tests(attrs) {
            continue;
        }
        let first = first_line(attrs, head.into_iter().flatten());
        found.push((name, Kind::Rust, None, first, last));
    }
    for (name, kind, parent, first, last) in found {
        let first = with_comments_above(lines, first - 1, |line| {
            line.starts_with("//") && !line.starts_with("//!")
        });
        items.push(Item {
            name,
            file: file.to_string(),
            first,
            lines: lines[first..last.min(lines.len())].to_vec(),
            kind,
            parent,
        });
    }
    Ok(items)
}

/// `first` (an index from 0) moved up over the comment lines directly above
/// it, with no blank line between.
fn with_comments_above(
    lines: &[String],
    mut first: usize,
    is_comment: impl Fn(&str) -> bool,
) -> usize {
    while first > 0 && is_comment(lines[first - 1].trim_start()) {
        first -= 1;
    }
    first
}

// -------------------------------------------------------------- JavaScript

/// The top-level functions and `const`/`let`/`var` statements of a script.
fn script_items(file: &str, lines: &[String]) -> Vec<Item> {
    let mut items = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = &lines[index];
        let found = if let Some(name) = function_name(line) {
            // To the `}` at column 0, unless it ends on its own line.
            let last = if depth_change(line) == 0 && line.trim_end().ends_with('}') {
                Some(index)
            } else {
                (index + 1..lines.len()).find(|&i| lines[i].starts_with('}'))
            };
            last.map(|last| (name, last))
        } else if let Some(name) = binding_name(line) {
            // To the line that ends the statement: its brackets closed, a `;`.
            let mut depth = 0;
            (index..lines.len())
                .find(|&i| {
                    depth += depth_change(&lines[i]);
                    depth <= 0 && lines[i].trim_end().ends_with(';')
                })
                .map(|last| (name, last))
        } else {
            None
        };
        let Some((name, last)) = found else {
            index += 1;
            continue;
        };
        let first = if index > 0 && lines[index - 1].trim_end().ends_with("*/") {
            // A `/** ... */` block directly above: from its first line.
            let mut first = index - 1;
            while first > 0 && !lines[first].trim_start().starts_with("/*") {
                first -= 1;
            }
            first
        } else {
            with_comments_above(lines, index, |line| line.starts_with("//"))
        };
        items.push(Item {
            name,
            file: file.to_string(),
            first,
            lines: lines[first..=last].to_vec(),
            kind: Kind::Script,
            parent: None,
        });
        index = last + 1;
    }
    items
}

/// `send` for `function send(message) {` or `async function send(...`, at column 0.
fn function_name(line: &str) -> Option<String> {
    let rest = line.strip_prefix("export ").unwrap_or(line);
    let rest = rest.strip_prefix("async ").unwrap_or(rest);
    let rest = rest.strip_prefix("function")?.trim_start_matches(' ');
    let name = identifier(rest)?;
    rest[name.len()..]
        .trim_start()
        .starts_with('(')
        .then_some(name)
}

/// `shown` for `const shown = new Set(...)`, `let socket;` or `let retryIn = 500;`.
fn binding_name(line: &str) -> Option<String> {
    let rest = line.strip_prefix("export ").unwrap_or(line);
    let rest = ["const ", "let ", "var "]
        .iter()
        .find_map(|keyword| rest.strip_prefix(keyword))?
        .trim_start();
    let name = identifier(rest)?;
    let after = rest[name.len()..].trim_start();
    (after.starts_with('=') || after.starts_with(';')).then_some(name)
}

/// The identifier at the start of `text`.
fn identifier(text: &str) -> Option<String> {
    let name: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
        .collect();
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// How many brackets (`(`, `[`, `{`) a line of a script opens and does not
/// close, outside its strings and its `//` comment.
fn depth_change(line: &str) -> i32 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == '\\' {
                    chars.next();
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '/' if chars.peek() == Some(&'/') => break,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            },
        }
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUST: &str = "\
//! A module.

use std::fmt;

/// What it says.
const VERSION: &str = \"04\";

// try it: http :5001/api/users
#[get(\"/api/users\")]
async fn list_users(
    db: web::Data<Db>,
) -> HttpResponse {
    todo!()
}

/// A user.
#[derive(Serialize)]
pub struct User {
    pub id: i64,
}

impl User {
    /// Reads a row.
    fn from_row(row: &Row) -> User {
        User { id: row.get(0) }
    }

    const TABLE: &str = \"users\";
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, \"{}\", self.id)
    }
}

#[cfg(unix)]
fn file_id() -> u64 {
    1
}

#[cfg(not(unix))]
fn file_id() -> u64 {
    0
}

struct Unit;

#[cfg(test)]
mod tests {
    fn helper() {}
}

#[cfg(test)]
fn only_in_tests() {}
";

    fn names(items: &[Item]) -> Vec<(&str, usize, usize)> {
        items
            .iter()
            .map(|i| (i.name.as_str(), i.line(), i.last_line()))
            .collect()
    }

    #[test]
    fn rust_items_run_from_their_comments_and_attributes_to_their_last_line() {
        let items = Code::of_file("src/main.rs", RUST).unwrap();
        assert_eq!(
            names(&items),
            [
                ("src/main.rs", 1, 55),
                ("VERSION", 5, 6),
                ("list_users", 8, 14),
                ("User", 16, 20),
                ("impl User", 22, 29),
                ("User::from_row", 23, 26),
                ("User::TABLE", 28, 28),
                ("impl Display for User", 31, 35),
                ("User::fmt", 32, 34),
                ("file_id", 37, 45),
                ("Unit", 47, 47),
            ]
        );
        let handler = &items[2];
        assert_eq!(handler.lines[0], "// try it: http :5001/api/users");
        assert_eq!(handler.lines.last().unwrap(), "}");
        let member = &items[5];
        assert_eq!(member.kind, Kind::Member);
        assert_eq!(member.parent.as_deref(), Some("impl User"));
        assert_eq!(member.lines[0], "    /// Reads a row.");
        assert_eq!(member.text_lines()[0], "/// Reads a row.");
    }

    #[test]
    fn a_file_that_is_not_rust_is_refused_saying_where() {
        let error = Code::of_file("src/main.rs", "fn main() {\n    let = ;\n}\n").unwrap_err();
        assert!(error.starts_with("src/main.rs:2:"), "{error}");
    }

    const SCRIPT: &str = "\
// The page's script.

const form = document.querySelector('form');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
});

/** POSTs `message`. */
async function send(message) {
  if (x) {
    return 1;
  }
}

// The socket.
// Two lines.
let socket;

const handlers = new Map([
  ['a', () => { f(); }],
]);

/**
 * Adds a row.
 */
function addMessage(message) {
  rows.append(message);
}

function one() { return 1; }
";

    #[test]
    fn script_functions_and_bindings_are_found_with_their_comments() {
        let items = Code::of_file("static/script.js", SCRIPT).unwrap();
        assert_eq!(
            names(&items),
            [
                ("static/script.js", 1, 31),
                ("form", 3, 3),
                ("send", 9, 14),
                ("socket", 16, 18),
                ("handlers", 20, 22),
                ("addMessage", 24, 29),
                ("one", 31, 31),
            ]
        );
    }

    fn code() -> Code {
        let mut items = Code::of_file("src/main.rs", RUST).unwrap();
        items
            .extend(Code::of_file("src/pages.rs", "fn page() {}\n\nfn list_users() {}\n").unwrap());
        items.extend(Code::of_file("static/style.css", "body {}\n").unwrap());
        Code { items }
    }

    #[test]
    fn names_are_found_in_any_file_and_ambiguous_ones_need_their_file() {
        let code = code();
        assert_eq!(code.find("page").unwrap().file, "src/pages.rs");
        assert_eq!(code.find("User::from_row").unwrap().line(), 23);
        assert_eq!(code.find("impl Display for User").unwrap().line(), 31);
        assert_eq!(code.find("static/style.css").unwrap().kind, Kind::File);
        assert_eq!(code.find("src/main.rs: list_users").unwrap().line(), 8);

        let error = code.find("list_users").unwrap_err();
        assert!(
            error.contains("src/main.rs:8 and src/pages.rs:3"),
            "{error}"
        );
        assert!(error.contains("`src/main.rs: list_users`"), "{error}");
        assert_eq!(
            code.reference(code.find("src/pages.rs: list_users").unwrap()),
            "src/pages.rs: list_users"
        );

        let twice = "struct X;\n\nimpl fmt::Display for X {\n    fn fmt() {}\n}\n\n\
                     impl fmt::Debug for X {\n    fn fmt() {}\n}\n";
        let twice = Code {
            items: Code::of_file("src/x.rs", twice).unwrap(),
        };
        let error = twice.find("X::fmt").unwrap_err();
        assert!(
            error.contains("at src/x.rs:4 and src/x.rs:8: name its impl (`impl Display for X` or `impl Debug for X`)"),
            "{error}"
        );

        let error = code.find("list_user").unwrap_err();
        assert!(error.contains("nothing is named `list_user`"), "{error}");
        assert!(
            error.contains("closest names: `src/main.rs: list_users`, `src/pages.rs: list_users`"),
            "{error}"
        );
        let error = code.find("User::from_rows").unwrap_err();
        assert!(error.contains("`User::from_row`"), "{error}");
        let error = code.find("src/db.rs").unwrap_err();
        assert!(error.contains("no file src/db.rs"), "{error}");
        assert!(
            error.contains("src/main.rs, src/pages.rs, static/style.css"),
            "{error}"
        );
    }

    #[test]
    fn paths_and_names_are_told_apart() {
        assert_eq!(
            split_path("src/pages.rs: page"),
            (Some("src/pages.rs"), Some("page"))
        );
        assert_eq!(split_path("src/db.rs"), (Some("src/db.rs"), None));
        assert_eq!(split_path("User::from_row"), (None, Some("User::from_row")));
        assert_eq!(
            split_path("src/main.rs:User::from_row"),
            (Some("src/main.rs"), Some("User::from_row"))
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
