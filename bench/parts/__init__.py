"""The parts of bench/run, a module each; bench/README.md."""
