//! Faults on purpose, for the tests only: what happens when a query panics?
//!
//! Each step's `src/db.rs` calls [`before_query`] at the start of every job on
//! the database thread. It does nothing unless the environment variable
//! `CHAT_TUTORIAL_FAULTS` names a file (which only the tests do) and that file
//! says `panic`: then the file is removed and the query panics, one panic per
//! file written. `TestApp::make_the_next_query_panic` writes it. A release
//! build leaves it out unless built with the `faults` feature (bench/run's
//! poison check); a debug build, `cargo run`'s and the tests', has it.

/// The environment variable that names the fault file.
pub const FAULTS_VARIABLE: &str = "CHAT_TUTORIAL_FAULTS";

/// Called by the database thread before each query; see the module's text.
#[cfg(not(any(debug_assertions, feature = "faults")))]
#[inline(always)]
pub fn before_query() {}

/// Called by the database thread before each query; see the module's text.
#[cfg(any(debug_assertions, feature = "faults"))]
pub fn before_query() {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    let Some(file) = FILE.get_or_init(|| std::env::var_os(FAULTS_VARIABLE).map(PathBuf::from))
    else {
        return;
    };
    if std::fs::read_to_string(file).is_ok_and(|fault| fault.trim() == "panic") {
        let _ = std::fs::remove_file(file);
        panic!("a fault on purpose ({FAULTS_VARIABLE}): this query panics");
    }
}
