//! `diff` on the real steps: s05 makes `/` redirect to the users page.

use std::process::Output;

use crate::common::{stdout, xtask};

fn diff(args: &[&str]) -> Output {
    xtask("diff").args(args).output().expect("run xtask")
}

#[test]
fn diff_shows_what_a_step_changes_without_its_name_and_version() {
    let shown = stdout(&diff(&["04", "05"]));
    assert!(shown.contains("--- a/steps/s04/src/main.rs"), "{shown}");
    assert!(shown.contains("+++ b/steps/s05/src/main.rs"), "{shown}");
    assert!(shown.contains("+    HttpResponse::Found()"), "{shown}");
    assert!(shown.contains("LOCATION, \"/front/users\""), "{shown}");
    // The noise is left out: package name, title, version string.
    for noise in [
        "name = \"s05\"",
        "description = ",
        "const VERSION",
        "CARGO_BIN_EXE",
    ] {
        assert!(
            !shown.contains(noise),
            "{noise:?} should be left out:\n{shown}"
        );
    }
    // Not a terminal: no colour codes.
    assert!(!shown.contains('\u{1b}'));
}

#[test]
fn one_step_is_compared_with_the_one_before() {
    assert_eq!(stdout(&diff(&["s05"])), stdout(&diff(&["04", "05"])));
}

#[test]
fn stat_summarises_the_files_changed() {
    let stat = stdout(&diff(&["03", "04", "--stat"]));
    assert!(stat.contains("steps/{s03 => s04}/src/main.rs"), "{stat}");
    assert!(
        stat.contains("/dev/null => steps/s04/static/style.css"),
        "{stat}"
    );
    assert!(stat.contains("changed"), "{stat}");
    assert!(!stat.contains("instance"), "{stat}");
}

#[test]
fn unknown_steps_and_the_first_step_are_explained() {
    let output = diff(&["04", "42"]);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("no step \"42\"") && error.contains("s00, s01"),
        "{error}"
    );

    let output = diff(&["00"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("first step"));
}

#[test]
fn code_leaves_the_tests_out() {
    let whole = stdout(&diff(&["03", "04", "--stat"]));
    assert!(whole.contains("/tests/"), "{whole}");

    let code = stdout(&diff(&["03", "04", "--code", "--stat"]));
    assert!(code.contains("src/main.rs"), "{code}");
    assert!(code.contains("steps/s04/static/style.css"), "{code}");
    assert!(!code.contains("tests/"), "{code}");
}

/// The title of a real step: its Cargo.toml's description after the
/// "Step NN of the Rust chat tutorial: " prefix.
fn title(step: &str) -> String {
    let manifest = crate::common::real_workspace()
        .join("steps")
        .join(step)
        .join("Cargo.toml");
    let manifest = std::fs::read_to_string(manifest).unwrap();
    let line = manifest
        .lines()
        .find(|line| line.starts_with("description = "))
        .unwrap();
    let (_, title) = line.split_once(": ").unwrap();
    title.trim_end_matches('"').to_string()
}

#[test]
fn a_diff_over_several_steps_lists_them_with_their_titles_first() {
    let shown = stdout(&diff(&["04", "07", "--stat"]));
    let expected = format!(
        "s04 -> s07: 3 steps\n  s05   {}\n  s06   {}\n  s07   {}\n\n",
        title("s05"),
        title("s06"),
        title("s07")
    );
    assert!(shown.starts_with(&expected), "{shown}");
    // The diff follows, here as --stat: the files and lines changed.
    assert!(shown.contains("steps/{s04 => s07}/src/main.rs"), "{shown}");
    assert!(shown.contains("changed"), "{shown}");

    // Going back: the steps whose changes the diff undoes.
    let back = stdout(&diff(&["07", "05", "--code", "--stat"]));
    let expected = format!(
        "s07 -> s05: 2 steps, undone\n  s07   {}\n  s06   {}\n\n",
        title("s07"),
        title("s06")
    );
    assert!(back.starts_with(&expected), "{back}");

    // One step: the list is that step.
    let one = stdout(&diff(&["05", "--stat"]));
    assert!(
        one.starts_with(&format!("s04 -> s05: 1 step\n  s05   {}\n\n", title("s05"))),
        "{one}"
    );
}
