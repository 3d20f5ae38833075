//! xtask's tests, in one test binary: each module tests one command, on the
//! real steps (`switch`, `diff`), on small fake workspaces (`carry`, `check`)
//! or on a temporary copy of a step (`watch`).

mod common;

mod book;
mod carry;
mod check;
mod diff;
mod exercise;
mod fill;
mod switch;
mod watch;
