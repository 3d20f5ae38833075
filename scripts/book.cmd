@echo off
rem scripts\book.cmd: the Windows twin of scripts/book; see docs/README.md.
cargo run --quiet --manifest-path "%~dp0..\Cargo.toml" --package xtask -- book %*
exit /b %ERRORLEVEL%
