# scripts/diff.ps1: the Windows twin of scripts/diff; see docs/scripts.md.
cargo run --quiet --manifest-path "$PSScriptRoot\..\Cargo.toml" --package xtask -- diff @args
exit $LASTEXITCODE
