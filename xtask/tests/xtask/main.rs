//! xtask's tests, in one test binary: each module tests one command, on the
//! real steps (`switch`, `diff`), on small fake workspaces (`carry`, `check`,
//! `reset`), on fake steps or a temporary copy of a step (`watch`), or on a
//! copy of a step and an exercise (`exercise`).

mod common;

mod book;
mod carry;
mod check;
mod diff;
mod exercise;
mod fill;
mod reset;
mod switch;
mod watch;
