//! `book`: the generated pages checked against the real steps; what breaks it
//! (a stale diff, an include or a link that leads nowhere) shown on small fake
//! workspaces; the real book built with mdBook and opened in Chromium.
//!
//! The tests that build need the pinned mdBook, which `scripts/book` installs
//! (CI runs it before the tests): without it they say so and are skipped,
//! and in CI they fail instead.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;

use crate::common::{TempDir, stderr_of_failure, stdout, text, xtask};

/// The workspace under test: this one, or `XTASK_ROOT` when set (as for
/// xtask itself), e.g. a clean export of a commit.
fn workspace() -> PathBuf {
    if let Some(root) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(root);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `xtask book ARGS` on the real workspace, never installing mdBook.
fn book(args: &[&str]) -> Output {
    xtask("book")
        .args(args)
        .env("XTASK_BOOK_NO_INSTALL", "1")
        .output()
        .expect("run xtask")
}

/// Whether a build failed only because mdBook is not installed: then the
/// test is skipped with a banner (a failure in CI).
fn mdbook_missing(output: &Output) -> bool {
    let missing = String::from_utf8_lossy(&output.stderr).contains("is not installed at");
    if missing {
        shared::testing::missing_tool(
            "the book was NOT built: mdBook is not installed (run scripts/book once)",
        );
    }
    missing
}

/// A fake workspace with two steps, a README and the appendix's pages: the
/// smallest thing `book` accepts.
fn fake_workspace(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    let main = "// try it: http :5001/\n// ANCHOR: hello\nfn hello() {\n    say(\"hi\");\n}\n\
                // ANCHOR_END: hello\n";
    dir.step(
        "s00",
        &[
            ("src/main.rs", main),
            (
                "README.md",
                "# Step 00: hello\n\n[Steps](../../README.md#the-steps) · next: \
                 [01 →](../s01/README.md)\n",
            ),
        ],
    );
    dir.step(
        "s01",
        &[
            ("src/main.rs", &main.replace("\"hi\"", "\"hello\"")),
            (
                "README.md",
                "# Step 01: hello, longer\n\n[← 00](../s00/README.md)\n",
            ),
        ],
    );
    dir.write(
        "README.md",
        "# A fake tutorial\n\n## The steps\n\n[00](steps/s00/README.md)\n",
    );
    for page in [
        "docs/flask.md",
        "docs/exercises.md",
        "docs/scripts.md",
        "docs/browser-tests.md",
        "bench/README.md",
        "bench/RESULTS.md",
        "docs/README.md",
    ] {
        dir.write(page, "# A page\n");
    }
    dir.write(
        "docs/book.toml",
        &fs::read_to_string(workspace().join("docs/book.toml")).unwrap(),
    );
    dir
}

#[test]
fn the_committed_book_pages_are_what_the_steps_give_now() {
    let output = book(&["--check", "--no-build"]);
    let said = stdout(&output);
    assert!(said.contains("up to date"), "{said}");
}

#[test]
fn a_chapter_includes_its_lesson_and_shows_its_diff_and_its_new_code() {
    let root = workspace();
    let chapter = fs::read_to_string(root.join("docs/book/steps/s07b/README.md")).unwrap();
    assert!(chapter.contains("{{#include ../../../../steps/s07b/README.md}}"));
    assert!(chapter.contains("```diff\n{{#include changes.diff}}\n```"));
    assert!(chapter.contains("{{#include ../../../../steps/s07b/src/main.rs:create_message}}"));
    // Only what changed: get_user is the same as in step 07.
    assert!(!chapter.contains(":get_user}}"), "{chapter}");

    let diff = fs::read_to_string(root.join("docs/book/steps/s07b/changes.diff")).unwrap();
    assert!(diff.contains("+async fn create_message("), "{diff}");
    // The noise is left out: the version, the markers, the tests.
    for noise in ["const VERSION", "ANCHOR", "tests/", "\nindex "] {
        assert!(!diff.contains(noise), "{noise:?} in the diff:\n{diff}");
    }
}

#[test]
fn a_change_to_a_step_leaves_the_book_out_of_date_and_check_names_the_pages() {
    let dir = fake_workspace("book-stale");
    let said = stdout(&dir.xtask("book", &["--no-build"]));
    assert!(
        said.contains("updated docs/book/steps/s01/changes.diff"),
        "{said}"
    );
    let diff = dir.read("docs/book/steps/s01/changes.diff");
    assert!(
        diff.contains("-    say(\"hi\");\n+    say(\"hello\");"),
        "{diff}"
    );
    let chapter = dir.read("docs/book/steps/s01/README.md");
    assert!(
        chapter.contains("steps/s01/src/main.rs:hello}}"),
        "{chapter}"
    );
    stdout(&dir.xtask("book", &["--check", "--no-build"]));

    dir.write(
        "steps/s01/src/main.rs",
        "// ANCHOR: hello\nfn hello() {\n    say(\"bonjour\");\n}\n// ANCHOR_END: hello\n",
    );
    let error = stderr_of_failure(&dir.xtask("book", &["--check", "--no-build"]));
    assert!(error.contains("out of date with the steps"), "{error}");
    assert!(
        error.contains("docs/book/steps/s01/changes.diff  (differs"),
        "{error}"
    );
    assert!(error.contains("Run scripts/book"), "{error}");
    // --check wrote nothing.
    assert!(
        dir.read("docs/book/steps/s01/changes.diff")
            .contains("hello")
    );
}

#[test]
fn an_include_that_does_not_resolve_is_named_with_its_page_and_line() {
    let dir = fake_workspace("book-include");
    stdout(&dir.xtask("book", &["--no-build"]));

    // An anchor that the step's file does not have.
    let chapter = "docs/book/steps/s01/README.md";
    dir.write(
        chapter,
        &dir.read(chapter)
            .replace("main.rs:hello}}", "main.rs:goodbye}}"),
    );
    let error = stderr_of_failure(&dir.xtask("book", &["--check", "--no-build"]));
    assert!(
        error.contains("../../../../steps/s01/src/main.rs has no `ANCHOR: goodbye`"),
        "{error}"
    );
    // Where: the page, relative to the workspace, and the line.
    assert!(
        error.contains(&format!("{chapter}:")) && error.contains("main.rs:goodbye}}"),
        "{error}"
    );

    // A lesson that is gone.
    fs::remove_file(dir.path().join("steps/s00/README.md")).unwrap();
    let error = stderr_of_failure(&dir.xtask("book", &["--no-build"]));
    assert!(
        error.contains("no file ../../../../steps/s00/README.md"),
        "{error}"
    );
}

#[test]
fn lessons_may_quote_across_anchor_lines() {
    let dir = TempDir::new("book-anchors");
    let plain = "fn hello() {\n    say(\"hi\");\n}\n\nfn main() {\n    hello();\n}\n";
    let marked = "// ANCHOR: hello\nfn hello() {\n    say(\"hi\");\n}\n// ANCHOR_END: hello\n\n\
                  fn main() {\n    hello();\n}\n";
    let lesson = "# Step 01: quoted\n\n```rust\n    say(\"hi\");\n}\n\nfn main() {\n```\n";
    dir.step("s00", &[("src/main.rs", plain)]);
    dir.step("s01", &[("src/main.rs", marked), ("README.md", lesson)]);

    let said = stdout(&dir.xtask("check", &[]));
    assert!(said.contains("1 code blocks"), "{said}");
}

#[test]
fn a_link_or_an_id_that_leads_nowhere_fails_the_build() {
    let dir = fake_workspace("book-links");
    dir.write(
        "steps/s01/README.md",
        "# Step 01: hello, longer\n\n[← 00](../s00/README.md) · \
         [Steps](../../README.md#no-such-heading) · [next](../s02/README.md)\n",
    );
    let output = xtask("book")
        .env("XTASK_ROOT", dir.path())
        .env("XTASK_BOOK_NO_INSTALL", "1")
        .output()
        .expect("run xtask");
    if mdbook_missing(&output) {
        return;
    }
    let error = stderr_of_failure(&output);
    assert!(
        error.contains("broken link(s) in the built book"),
        "{error}"
    );
    assert!(
        error.contains("steps/s01/README.html: the link ../s02/README.html leads to no file"),
        "{error}"
    );
    assert!(
        error.contains(
            "steps/s01/README.html: the link ../../README.html#no-such-heading leads to no id"
        ),
        "{error}"
    );
}

#[test]
fn the_book_builds_offline_and_a_chapter_shows_lesson_diff_and_code_in_a_browser() {
    let root = workspace();
    let output = book(&["--check"]);
    if mdbook_missing(&output) {
        return;
    }
    let said = stdout(&output);
    assert!(said.contains("links checked"), "{said}");

    let out = root.join("target/book");
    let chapter = fs::read_to_string(out.join("steps/s07b/README.html")).unwrap();
    assert!(chapter.contains("Step 07b:"), "the lesson's title");
    assert!(chapter.contains("language-diff"), "the diff");
    assert!(chapter.contains("create_message"), "the code");
    for marker in ["ANCHOR: create_message", "ANCHOR_END: create_message"] {
        assert!(!chapter.contains(marker), "{marker} is left out");
    }
    for page in ["index.html", "docs/flask.html", "steps/s19/README.html"] {
        assert!(out.join(page).is_file(), "{page}");
    }

    let Some(tools) = browser_tools() else {
        return;
    };
    let base_url = serve(out);
    let script = root.join("xtask/tests/xtask/book.mjs");
    let result = Command::new("node")
        .arg("--test-reporter=spec")
        .arg(&script)
        .current_dir(&root)
        .env("BASE_URL", &base_url)
        .env("CHROMIUM_PATH", &tools)
        .env("STEP", "book")
        .env("SCREENSHOT_DIR", root.join("target/screenshots"))
        .output()
        .expect("run node");
    assert!(result.status.success(), "{}", text(&result));
}

/// Chromium, when node, playwright-core and a browser are there.
fn browser_tools() -> Option<PathBuf> {
    let node = Command::new("node").arg("--version").output();
    let playwright = workspace().join("node_modules/playwright-core/package.json");
    let chromium = shared::testing::browser::find_chromium().ok();
    match (
        node.is_ok_and(|o| o.status.success()),
        playwright.is_file(),
        chromium,
    ) {
        (true, true, Some(chromium)) => Some(chromium),
        _ => {
            shared::testing::missing_tool(
                "the book was NOT opened in a browser: it needs node, `npm ci` and Chromium \
                 (see docs/browser-tests.md)",
            );
            None
        }
    }
}

/// Serves the files of `folder` over HTTP on a free port, in the background,
/// for as long as the test runs: the address, `http://127.0.0.1:PORT`.
fn serve(folder: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let folder = folder.clone();
            thread::spawn(move || {
                let mut line = String::new();
                let mut reader = BufReader::new(&stream);
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                // The rest of the request: headers, up to the empty line.
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/");
                let path = path.split(['?', '#']).next().unwrap_or("/");
                let mut file = folder.join(path.trim_start_matches('/'));
                if file.is_dir() {
                    file = file.join("index.html");
                }
                let inside = !path.contains("..");
                let (status, body) = match fs::read(&file) {
                    Ok(body) if inside => ("200 OK", body),
                    _ => ("404 Not Found", b"not found".to_vec()),
                };
                let kind = match file.extension().and_then(|e| e.to_str()) {
                    Some("html") => "text/html; charset=utf-8",
                    Some("css") => "text/css",
                    Some("js") => "text/javascript",
                    Some("svg") => "image/svg+xml",
                    Some("png") => "image/png",
                    Some("woff2") => "font/woff2",
                    Some("json") => "application/json",
                    _ => "text/plain; charset=utf-8",
                };
                let mut stream = &stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            });
        }
    });
    address
}
