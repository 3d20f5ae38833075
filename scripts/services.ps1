# scripts/services.ps1: the Windows twin of scripts/services; see docs/services.md.
cargo run --quiet --manifest-path "$PSScriptRoot\..\Cargo.toml" --package xtask -- services @args
exit $LASTEXITCODE
