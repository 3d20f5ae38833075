@echo off
rem scripts\services.cmd: the Windows twin of scripts/services; see docs/services.md.
cargo run --quiet --manifest-path "%~dp0..\Cargo.toml" --package xtask -- services %*
exit /b %ERRORLEVEL%
