# scripts/exercise.ps1: the Windows twin of scripts/exercise; see docs/exercises.md.
cargo run --quiet --manifest-path "$PSScriptRoot\..\Cargo.toml" --package xtask -- exercise @args
exit $LASTEXITCODE
