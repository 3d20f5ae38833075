//! xtask's tests, in one test binary: each module tests one command, on the
//! real steps (`switch`, `diff`), on small fake workspaces (`carry`, `check`,
//! `reset`), on fake steps or a temporary copy of a step (`watch`), or on a
//! copy of a step and an exercise (`exercise`), or on private servers of
//! their own (`services`, and `instances`: step 23 behind nginx).

mod common;

mod book;
mod carry;
mod check;
mod diff;
mod exercise;
mod fill;
#[cfg(target_os = "linux")]
mod instances;
mod reset;
#[cfg(target_os = "linux")]
mod services;
mod switch;
mod watch;
