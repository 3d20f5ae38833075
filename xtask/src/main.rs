//! The classroom helpers behind `scripts/switch` and `scripts/diff` (and
//! `cargo switch`, `cargo stepdiff`), and the maintainers' `carry` and
//! `check`: plumbing, not a lesson. They are written in Rust rather than in
//! shell so that they work on Windows too. docs/scripts.md says how to use them.

use std::process::ExitCode;

mod book;
mod carry;
mod check;
mod diff;
mod excerpts;
mod exercise;
mod fill;
mod instances;
mod items;
mod process;
mod reset;
mod seed;
mod services;
mod steps;
mod switch;
mod watch;

const USAGE: &str = "\
usage: cargo run -p xtask -- switch [STEP] [--port N] [--seed|--no-seed] [--fresh] [--watch]
       cargo run -p xtask -- switch stop|logs [--port N] | reset [--seed|--undo]
       cargo run -p xtask -- diff [OLD] NEW [--code] [--stat]
       cargo run -p xtask -- carry STEP [PATH ...] [--check]   (maintainers)
       cargo run -p xtask -- check                             (maintainers)
       cargo run -p xtask -- fill [STEP ...]                   (maintainers: lessons' code)
       cargo run -p xtask -- exercise [start|check|hint|run|diff|solution|reset|verify] [EXERCISE]
       cargo run -p xtask -- exercise run [EXERCISE] [--watch] [--seed] [--port N]
       cargo run -p xtask -- book [--check] [--no-build]       (the book: scripts/book)
       cargo run -p xtask -- services [up|down|status]         (from s22: scripts/services)

(scripts/switch and scripts/diff run these; add --help for details)
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let args: Vec<String> = args.collect();
    let result = match command.as_deref() {
        Some("switch") => switch::main(args),
        Some("diff") => diff::main(args),
        Some("carry") => carry::main(args),
        Some("check") => check::main(args),
        Some("fill") => fill::main(args),
        Some("exercise") => exercise::main(args),
        Some("book") => book::main(args),
        Some("services") => services::main(args),
        Some("-h" | "--help") => {
            print!(
                "{USAGE}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
                switch::USAGE,
                diff::USAGE,
                carry::USAGE,
                check::USAGE,
                fill::USAGE,
                exercise::USAGE,
                book::USAGE,
                services::USAGE
            );
            Ok(())
        }
        _ => Err(format!("what should xtask do?\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
