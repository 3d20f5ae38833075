//! xtask's tests, in one test binary: each module tests one command, on the
//! real steps (`switch`, `diff`) or on small fake workspaces (`carry`, `check`).

mod common;

mod carry;
mod check;
mod diff;
mod switch;
