@echo off
rem scripts\diff.cmd: the Windows twin of scripts/diff; see docs/scripts.md.
cargo run --quiet --manifest-path "%~dp0..\Cargo.toml" --package xtask -- diff %*
exit /b %ERRORLEVEL%
