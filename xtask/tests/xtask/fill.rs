//! `fill` on a small fake workspace: it writes the named items' current text
//! into the blocks that show them whole, and leaves the cut blocks to check.

use crate::common::{TempDir, stderr_of_failure, stdout};

const MAIN: &str = "\
/// Says hello.
fn hello() {
    say(\"hi\");
}

fn main() {
    hello();
    bye();
}
";

const LESSON: &str = "\
# Step 01: hello

<!-- excerpt: hello -->
```rust
/// Says hello.
fn hello() {
    say(\"hi\");
}
```

<!-- excerpt: main -->
```rust
// ...
    hello();
// ...
```

<!-- excerpt: main, hello -->
```rust
```
";

fn workspace(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    dir.step("s00", &[("src/main.rs", "fn main() {}\n")]);
    dir.step("s01", &[("src/main.rs", MAIN), ("README.md", LESSON)]);
    // One title in its three places, for `check`.
    let manifest = dir
        .read("steps/s01/Cargo.toml")
        .replace("tutorial: a fake", "tutorial: hello");
    dir.write("steps/s01/Cargo.toml", &manifest);
    dir.write(
        "README.md",
        "| Step | What it adds |\n| --- | --- |\n| 00 | a fake |\n| 01 | hello |\n",
    );
    dir
}

#[test]
fn fill_writes_the_items_text_into_stale_and_empty_blocks_and_leaves_cut_ones() {
    let dir = workspace("fill");
    dir.write(
        "steps/s01/src/main.rs",
        &MAIN.replace("say(\"hi\");", "say(\"hello\");\n    wave();"),
    );
    let said = stdout(&dir.xtask("fill", &[]));
    assert!(
        said.contains("fill: steps/s01/README.md:4: `hello` (src/main.rs:1-5) (5 lines, were 4)"),
        "{said}"
    );
    assert!(
        said.contains("fill: steps/s01/README.md:19: `main` (src/main.rs:7-10), `hello` (src/main.rs:1-5) (10 lines, were 0)"),
        "{said}"
    );
    assert!(
        said.contains("2 block(s) rewritten, 0 already up to date, 1 with cuts"),
        "{said}"
    );
    let lesson = dir.read("steps/s01/README.md");
    assert_eq!(
        lesson,
        LESSON
            .replace("    say(\"hi\");\n}\n```", "    say(\"hello\");\n    wave();\n}\n```")
            .replace(
                "<!-- excerpt: main, hello -->\n```rust\n```",
                "<!-- excerpt: main, hello -->\n```rust\nfn main() {\n    hello();\n    bye();\n}\n\n\
                 /// Says hello.\nfn hello() {\n    say(\"hello\");\n    wave();\n}\n```"
            )
    );
    // Now the lesson holds, and a second fill changes nothing.
    stdout(&dir.xtask("check", &[]));
    let said = stdout(&dir.xtask("fill", &["01"]));
    assert!(
        said.contains("0 block(s) rewritten, 2 already up to date"),
        "{said}"
    );
}

#[test]
fn fill_names_what_it_cannot_find_and_the_steps_it_does_not_know() {
    let dir = workspace("fill-missing");
    dir.write(
        "steps/s01/README.md",
        &LESSON.replace("excerpt: main, hello", "excerpt: main, helo"),
    );
    let error = stderr_of_failure(&dir.xtask("fill", &[]));
    assert!(error.contains("steps/s01/README.md:18:"), "{error}");
    assert!(
        error.contains("nothing is named `helo`; the closest names: `hello`"),
        "{error}"
    );
    // Nothing was written.
    assert_eq!(
        dir.read("steps/s01/README.md"),
        LESSON.replace("main, hello", "main, helo")
    );

    let error = stderr_of_failure(&dir.xtask("fill", &["99"]));
    assert!(error.contains("there is no step \"99\""), "{error}");
}
