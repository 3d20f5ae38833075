@echo off
rem scripts\switch.cmd: the Windows twin of scripts/switch; see docs/scripts.md.
cargo run --quiet --manifest-path "%~dp0..\Cargo.toml" --package xtask -- switch %*
exit /b %ERRORLEVEL%
