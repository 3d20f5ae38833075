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

const HELLO: &str = "// try it: http :5001/\nfn hello() {\n    say(\"hi\");\n}\n\n\
                     /// The same in both steps.\nfn bye() {}\n\nfn main() {\n    hello();\n}\n";

/// A fake workspace with two steps, a README and the appendix's pages: the
/// smallest thing `book` accepts. Step 01 changes `hello`, not `main`.
fn fake_workspace(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    dir.step(
        "s00",
        &[
            ("src/main.rs", HELLO),
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
            ("src/main.rs", &HELLO.replace("\"hi\"", "\"hello\"")),
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
        "docs/services.md",
        "docs/browser-tests.md",
        "bench/README.md",
        "bench/RESULTS.md",
        "docs/README.md",
    ] {
        dir.write(page, "# A page\n");
    }
    for file in ["docs/book.toml", "docs/projector.css", "docs/projector.js"] {
        dir.write(file, &fs::read_to_string(workspace().join(file)).unwrap());
    }
    dir
}

#[test]
fn the_committed_book_pages_are_what_the_steps_give_now() {
    let output = book(&["--check", "--no-build"]);
    let said = stdout(&output);
    assert!(said.contains("up to date"), "{said}");
}

#[test]
fn the_steps_from_20_on_are_a_second_part_going_further() {
    let summary = fs::read_to_string(workspace().join("docs/book/SUMMARY.md")).unwrap();
    let at = |text: &str| {
        summary
            .find(text)
            .unwrap_or_else(|| panic!("{text}: {summary}"))
    };
    let further = at("\n# Going further\n");
    assert!(at("\n# The steps\n") < at("(steps/s19/README.md)"));
    assert!(at("(steps/s19/README.md)") < further, "{summary}");
    assert!(further < at("(steps/s20/README.md)"), "{summary}");
    assert!(
        at("(steps/s20/README.md)") < at("\n# Appendix\n"),
        "{summary}"
    );
}

#[test]
fn a_chapter_includes_its_lesson_and_shows_its_diff_and_its_new_code() {
    let root = workspace();
    let chapter = fs::read_to_string(root.join("docs/book/steps/s07b/README.md")).unwrap();
    assert!(chapter.contains("{{#include ../../../../steps/s07b/README.md}}"));
    assert!(chapter.contains("```diff\n{{#include changes.diff}}\n```"));
    // The new handler, its text in the chapter, under a caption that says so.
    assert!(
        chapter.contains(
            "`create_message`, new, in `src/main.rs`:\n\n```rust\n// try it: http \
             :5001/api/messages"
        ),
        "{chapter}"
    );
    assert!(
        chapter.contains("\nasync fn create_message(\n"),
        "{chapter}"
    );
    // Only what changed: get_user is the same as in step 07, and VERSION
    // differs only by the step's name.
    for same in ["`get_user`", "`VERSION`"] {
        assert!(!chapter.contains(same), "{same} in:\n{chapter}");
    }

    let diff = fs::read_to_string(root.join("docs/book/steps/s07b/changes.diff")).unwrap();
    assert!(diff.contains("+async fn create_message("), "{diff}");
    // The noise is left out: the version, the tests.
    for noise in ["const VERSION", "tests/", "\nindex "] {
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
    stdout(&dir.xtask("book", &["--check", "--no-build"]));

    dir.write(
        "steps/s01/src/main.rs",
        &HELLO.replace("\"hi\"", "\"bonjour\""),
    );
    let error = stderr_of_failure(&dir.xtask("book", &["--check", "--no-build"]));
    assert!(error.contains("out of date with the steps"), "{error}");
    for page in ["changes.diff", "README.md"] {
        assert!(
            error.contains(&format!("docs/book/steps/s01/{page}  (differs")),
            "{page}: {error}"
        );
    }
    assert!(error.contains("Run scripts/book"), "{error}");
    // --check wrote nothing.
    assert!(
        dir.read("docs/book/steps/s01/changes.diff")
            .contains("hello")
    );
}

#[test]
fn a_chapter_shows_what_changed_by_name_and_not_what_stayed_or_only_moved() {
    let dir = fake_workspace("book-items");
    // Step 01 also moves `main`, unchanged but for a `pub`, to a file of its
    // own, and adds a style sheet and a script.
    let (hello, main) = HELLO.split_at(HELLO.find("fn main").unwrap());
    dir.write(
        "steps/s01/src/main.rs",
        &format!("mod app;\n\n{}", hello.replace("\"hi\"", "\"hello\"")),
    );
    dir.write("steps/s01/src/app.rs", &format!("pub {main}"));
    dir.write("steps/s01/static/style.css", "body { margin: 0; }\n");
    dir.write(
        "steps/s01/static/script.js",
        "// Greets.\nfunction greet() {\n  say('hi');\n}\n\ngreet();\n",
    );
    stdout(&dir.xtask("book", &["--no-build"]));
    let chapter = dir.read("docs/book/steps/s01/README.md");
    assert!(
        chapter.contains(
            "`hello`, changed, in `src/main.rs`:\n\n```rust\n// try it: http :5001/\n\
             fn hello() {\n    say(\"hello\");\n}\n```"
        ),
        "{chapter}"
    );
    assert!(
        chapter.contains("`static/style.css`, new:\n\n```css\nbody { margin: 0; }\n```"),
        "{chapter}"
    );
    assert!(
        chapter.contains("`greet`, new, in `static/script.js`:\n\n```js\n// Greets.\n"),
        "{chapter}"
    );
    assert!(
        !chapter.contains("`main`"),
        "moved, not changed:\n{chapter}"
    );
    assert!(!chapter.contains("`bye`"), "unchanged:\n{chapter}");
    // No anchors, no includes of parts: the code is in the chapter.
    assert!(!chapter.contains(".rs:"), "{chapter}");

    // Step 00 shows all its code: there is no step before it.
    let first = dir.read("docs/book/steps/s00/README.md");
    assert!(first.contains("`hello`, new, in `src/main.rs`:"), "{first}");
    assert!(first.contains("`main`, new, in `src/main.rs`:"), "{first}");
    assert!(first.contains("`bye`, new, in `src/main.rs`:"), "{first}");
    assert!(first.contains("as this is the first step"), "{first}");
}

#[test]
fn an_include_that_does_not_resolve_is_named_with_its_page_and_line() {
    let dir = fake_workspace("book-include");
    stdout(&dir.xtask("book", &["--no-build"]));

    // A part of a file asked for by name: the steps have no markers.
    let chapter = "docs/book/steps/s01/README.md";
    dir.write(
        chapter,
        &format!(
            "{}\n{{{{#include ../../../../steps/s01/src/main.rs:hello}}}}\n",
            dir.read(chapter)
        ),
    );
    let error = stderr_of_failure(&dir.xtask("book", &["--check", "--no-build"]));
    assert!(
        error.contains(
            "{{#include ../../../../steps/s01/src/main.rs:hello}}: includes a part of \
             ../../../../steps/s01/src/main.rs by name"
        ),
        "{error}"
    );
    // Where: the page, relative to the workspace, and the line.
    assert!(error.contains(&format!("{chapter}:")), "{error}");

    // A lesson that is gone.
    fs::remove_file(dir.path().join("steps/s00/README.md")).unwrap();
    let error = stderr_of_failure(&dir.xtask("book", &["--no-build"]));
    assert!(
        error.contains("no file ../../../../steps/s00/README.md"),
        "{error}"
    );
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
    assert!(
        chapter.contains("projector"),
        "the projector's style and script"
    );
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
