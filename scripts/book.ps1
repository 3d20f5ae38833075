# scripts/book.ps1: the Windows twin of scripts/book; see docs/README.md.
cargo run --quiet --manifest-path "$PSScriptRoot\..\Cargo.toml" --package xtask -- book @args
exit $LASTEXITCODE
