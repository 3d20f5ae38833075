//! Faults on purpose, for the tests only: what happens when a query panics?
//!
//! Each step's `src/db.rs` calls [`before_query`] at the start of every job on
//! the database thread. It does nothing unless the environment variable
//! `CHAT_TUTORIAL_FAULTS` names a file (which only the tests do) and that file
//! says `panic`: then the file is removed and the query panics, one panic per
//! file written. `TestApp::make_the_next_query_panic` writes it. Likewise
//! [`before_handler`], called by `plumbing()` as each request starts, panics
//! when the file says `panic in a handler` (`TestApp::make_the_next_request_panic`):
//! a handler that panics, whichever step it is in. A release
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
    if fault_is("panic") {
        panic!("a fault on purpose ({FAULTS_VARIABLE}): this query panics");
    }
}

/// Called by `plumbing()` as each request starts; see the module's text.
#[cfg(not(any(debug_assertions, feature = "faults")))]
#[inline(always)]
pub fn before_handler() {}

/// Called by `plumbing()` as each request starts; see the module's text.
#[cfg(any(debug_assertions, feature = "faults"))]
pub fn before_handler() {
    if fault_is("panic in a handler") {
        panic!("a fault on purpose ({FAULTS_VARIABLE}): this handler panics");
    }
}

/// True, once, when the fault file says `fault`: the file is then removed.
#[cfg(any(debug_assertions, feature = "faults"))]
fn fault_is(fault: &str) -> bool {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    let Some(file) = FILE.get_or_init(|| std::env::var_os(FAULTS_VARIABLE).map(PathBuf::from))
    else {
        return false;
    };
    if std::fs::read_to_string(file).is_ok_and(|written| written.trim() == fault) {
        // Removed before the panic: one panic per file written.
        return std::fs::remove_file(file).is_ok();
    }
    false
}
