//! `check` on small fake workspaces (each rule passes a good tree and fails
//! a drifted one with a message that says where), then on the real steps.

use crate::common::{TempDir, stderr_of_failure, stdout, xtask};

const DB: &str = "//! The database. The same file in every later step.\n\n\
                  pub fn open() {\n    connect();\n}\n";

const MAIN: &str = "\
mod db;

/// What it lists.
fn main() {
    let users = list_users();

    for user in users {
        println!(\"{user}\");
    }
}

// try it: http :5001/api/users
fn list_users() -> Vec<String> {
    db::open();
    Vec::new()
}
";

const LESSON: &str = "\
# Step 02: users, listed

<!-- excerpt: list_users -->
```rust
// try it: http :5001/api/users
fn list_users() -> Vec<String> {
    db::open();
    Vec::new()
}
```

And in `main`:

<!-- excerpt: main -->
```rust
// ...
    let users = list_users();

    for user in users {
// ...
```

Try it:

```bash
http :5001/api/users   # the users
curl -s localhost:5001/api/users \\
     -H 'Accept: application/json'
cargo run -p s02
```
";

const TEST: &str = "run(\"http :5001/api/users\");\n\
                    run(\"curl -s localhost:5001/api/users -H 'Accept: application/json'\");\n";

const README: &str = "# A fake tutorial\n\n## The steps\n\n| Step | What it adds | Lesson |\n\
                      | --- | --- | --- |\n| 01 | a fake | [s01](steps/s01/README.md) |\n\
                      | 02 | users, listed | [s02](steps/s02/README.md) |\n";

/// Steps s01 and s02, the same machinery in both, a lesson that holds, and
/// one title for s02 in its three places.
fn good_workspace(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    dir.step(
        "s01",
        &[
            ("src/main.rs", "mod db;\n\nfn main() {}\n"),
            ("src/db.rs", DB),
        ],
    );
    dir.step(
        "s02",
        &[
            ("src/main.rs", MAIN),
            ("src/db.rs", DB),
            ("README.md", LESSON),
            ("tests/step/commands.rs", TEST),
        ],
    );
    set_description(
        &dir,
        "s02",
        "Step 02 of the Rust chat tutorial: users, listed",
    );
    dir.write("README.md", README);
    dir
}

fn set_description(dir: &TempDir, step: &str, description: &str) {
    let manifest = format!("steps/{step}/Cargo.toml");
    let text = dir.read(&manifest);
    let old = text.lines().find(|l| l.starts_with("description")).unwrap();
    dir.write(
        &manifest,
        &text.replace(old, &format!("description = \"{description}\"")),
    );
}

fn edit(dir: &TempDir, path: &str, from: &str, to: &str) {
    let text = dir.read(path);
    assert!(text.contains(from), "{from:?} is not in {path}");
    dir.write(path, &text.replacen(from, to, 1));
}

#[test]
fn a_good_workspace_passes() {
    let dir = good_workspace("check-good");
    let done = stdout(&dir.xtask("check", &[]));
    assert!(done.contains("machinery (db.rs) identical"), "{done}");
    assert!(done.contains("titles agree"), "{done}");
    assert!(
        done.contains("2 code blocks taken by name from their steps, and 2 commands"),
        "{done}"
    );
}

#[test]
fn a_whole_item_that_changed_fails_naming_the_line_and_the_file_line() {
    let dir = good_workspace("check-whole");
    edit(
        &dir,
        "steps/s02/src/main.rs",
        "    Vec::new()",
        "    vec![]",
    );
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(error.contains("1 problem(s)"), "{error}");
    assert!(
        error.contains(
            "steps/s02/README.md:8: this block is not the whole text of `list_users` \
             (src/main.rs:12-16): its line\n  \"    Vec::new()\"\nis not what \
             src/main.rs:15 reads:\n  \"    vec![]\""
        ),
        "{error}"
    );
    assert!(error.contains("cargo xtask fill"), "{error}");
}

#[test]
fn a_cut_block_that_drifted_from_the_code_is_named() {
    let dir = good_workspace("check-cut");
    edit(
        &dir,
        "steps/s02/src/main.rs",
        "for user in users",
        "for u in users",
    );
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(
        error.contains("steps/s02/README.md:15: this block is not an excerpt of `main`"),
        "{error}"
    );
    assert!(
        error.contains(
            "line 19\n  \"    for user in users {\"\ndoes not follow the line above it in \
             the file: src/main.rs:7 reads\n  \"    for u in users {\""
        ),
        "{error}"
    );
}

#[test]
fn a_partial_excerpt_without_its_cut_fails() {
    let dir = good_workspace("check-no-cut");
    edit(
        &dir,
        "steps/s02/README.md",
        "```rust\n// ...\n",
        "```rust\n",
    );
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(
        error.contains(
            "lines 16-18 are part of `main` (src/main.rs:3-10), from its line 5, not its \
             start: put a `// ...` line before them"
        ),
        "{error}"
    );
}

#[test]
fn a_missing_name_fails_with_the_names_that_exist() {
    let dir = good_workspace("check-missing");
    edit(
        &dir,
        "steps/s02/README.md",
        "excerpt: list_users",
        "excerpt: list_user",
    );
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(
        error.contains("steps/s02/README.md:3: the excerpt comment names what s02 does not have"),
        "{error}"
    );
    assert!(
        error.contains("nothing is named `list_user`; the closest names: `list_users`"),
        "{error}"
    );
}

#[test]
fn a_block_that_names_nothing_fails_with_a_suggestion() {
    let dir = good_workspace("check-unnamed");
    edit(
        &dir,
        "steps/s02/README.md",
        "<!-- excerpt: list_users -->\n",
        "",
    );
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(
        error.contains("steps/s02/README.md:3: name the items this block shows"),
        "{error}"
    );
    assert!(
        error.contains("it seems to show: <!-- excerpt: list_users -->"),
        "{error}"
    );
}

#[test]
fn an_item_moved_to_another_file_still_passes_and_a_name_in_two_files_needs_its_file() {
    let dir = good_workspace("check-moved");
    let handler = &MAIN[MAIN.find("// try it").unwrap()..];
    edit(&dir, "steps/s02/src/main.rs", handler, "");
    edit(
        &dir,
        "steps/s02/src/main.rs",
        "mod db;\n",
        "mod db;\nmod users;\n",
    );
    dir.write(
        "steps/s02/src/users.rs",
        &format!("use crate::db;\n\n{handler}"),
    );
    stdout(&dir.xtask("check", &[]));

    // The same name in two files: the lesson must say which.
    dir.write(
        "steps/s02/src/main.rs",
        &format!("{}\n{handler}", dir.read("steps/s02/src/main.rs")),
    );
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(
        error.contains(
            "`list_users` is ambiguous, it is at src/main.rs:14 and src/users.rs:3: write the \
             file first, e.g. `src/main.rs: list_users`"
        ),
        "{error}"
    );
    edit(
        &dir,
        "steps/s02/README.md",
        "excerpt: list_users",
        "excerpt: src/users.rs: list_users",
    );
    stdout(&dir.xtask("check", &[]));
}

#[test]
fn machinery_is_a_file_that_says_so_and_only_it_must_stay_identical() {
    let dir = good_workspace("check-machinery");
    // main.rs and a file that does not say it is machinery grow freely.
    dir.write("steps/s01/src/pages.rs", "//! The pages.\n\nfn page() {}\n");
    dir.write(
        "steps/s02/src/pages.rs",
        "//! The pages.\n\nfn page() {}\n\nfn other() {}\n",
    );
    stdout(&dir.xtask("check", &[]));

    edit(&dir, "steps/s02/src/db.rs", "connect()", "connect_wal()");
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(
        error.contains("src/db.rs differs between s01 and s02, from line 4"),
        "{error}"
    );
    assert!(error.contains("s02: \"    connect_wal();\""), "{error}");
    assert!(error.contains("cargo xtask carry"), "{error}");
    assert!(!error.contains("pages.rs"), "{error}");

    // A later copy that no longer says so is still compared.
    dir.write(
        "steps/s02/src/db.rs",
        "pub fn open() {\n    connect();\n}\n",
    );
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(
        error.contains("src/db.rs differs between s01 and s02, from line 1"),
        "{error}"
    );
}

#[test]
fn a_title_must_be_the_same_in_the_lesson_the_manifest_and_the_readme() {
    let dir = good_workspace("check-titles");
    edit(
        &dir,
        "README.md",
        "| 02 | users, listed |",
        "| 02 | the users |",
    );
    set_description(
        &dir,
        "s02",
        "Step 02 of the Rust chat tutorial: users listed",
    );
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(
        error.contains("steps/s02/README.md:1: the title of s02 is\n  users, listed\nbut\n"),
        "{error}"
    );
    assert!(
        error.contains(
            "steps/s02/Cargo.toml: description = \"Step 02 of the Rust chat tutorial: users \
             listed\""
        ),
        "{error}"
    );
    assert!(error.contains("README.md:8: | 02 | the users |"), "{error}");

    let dir = good_workspace("check-titles-heading");
    edit(&dir, "steps/s02/README.md", "# Step 02: users", "# Users");
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(
        error.contains(
            "steps/s02/README.md: the lesson's first heading must be its title, `# Step 02: ...`"
        ),
        "{error}"
    );
}

#[test]
fn a_command_the_tests_do_not_run_is_named() {
    let dir = good_workspace("check-commands");
    dir.write(
        "steps/s02/tests/step/commands.rs",
        "run(\"http :5001/api/users\");\n",
    );
    let error = stderr_of_failure(&dir.xtask("check", &[]));
    assert!(error.contains("steps/s02/README.md:27:"), "{error}");
    assert!(
        error.contains("curl -s localhost:5001/api/users -H 'Accept: application/json'"),
        "{error}"
    );
    assert!(error.contains("steps/s02/tests"), "{error}");
    assert!(!error.contains("README.md:26:"), "{error}");
}

/// Every lesson's code blocks name the items they show, and are their text.
#[test]
fn the_real_steps_pass_the_check() {
    let output = xtask("check").env_remove("XTASK_ROOT").output().unwrap();
    stdout(&output);
}
