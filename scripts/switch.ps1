# scripts/switch.ps1: the Windows twin of scripts/switch; see docs/scripts.md.
cargo run --quiet --manifest-path "$PSScriptRoot\..\Cargo.toml" --package xtask -- switch @args
exit $LASTEXITCODE
