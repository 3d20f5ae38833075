@echo off
rem scripts\exercise.cmd: the Windows twin of scripts/exercise; see docs/exercises.md.
cargo run --quiet --manifest-path "%~dp0..\Cargo.toml" --package xtask -- exercise %*
exit /b %ERRORLEVEL%
