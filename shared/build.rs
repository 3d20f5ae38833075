// Empty on purpose: it makes cargo resolve shared's build-dependencies, the
// features of the proc-macros' own dependencies that some steps or xtask
// turn on, for every step alike (see Cargo.toml).
fn main() {}
