"""The build footprint (--footprint) and the build options compared
(--footprint-options)."""

import os
import re
import shutil
import statistics
import subprocess
import time

from .common import (
    FOOTPRINT_STEP, ROOT, WORK, busy_processes, cargo, cargo_env, context, dir_size, ended,
    fail, say, step_names, wait_idle)

# ----------------------------------------------------------- the footprint


# What a learner's machine has by default: none of these is set.
LEARNER_ENV_UNSET = ["CARGO_INCREMENTAL", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS",
                     "CARGO_BUILD_JOBS", "CARGO_BUILD_RUSTFLAGS", "CARGO_PROFILE_DEV_DEBUG",
                     "CARGO_PROFILE_DEV_SPLIT_DEBUGINFO", "CARGO_PROFILE_DEV_INCREMENTAL",
                     "CARGO_PROFILE_TEST_DEBUG", "CARGO_BUILD_TARGET_DIR", "CI"]
PROJECT_STEPS = 24  # the tutorial's full length; the projection's target




def dev_incremental():
    """What the root Cargo.toml's [profile.dev] says about incremental builds."""
    text = (ROOT / "Cargo.toml").read_text()
    m = re.search(r"^\[profile\.dev\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    setting = m and re.search(r"^incremental\s*=\s*(true|false)", m.group(1), re.M)
    if not setting:
        return "on (cargo's default for dev builds)"
    return ("on" if setting.group(1) == "true" else "off") + " ([profile.dev] incremental = " \
        + setting.group(1) + ")"


def learner_env(target, **extra):
    env = dict.fromkeys(LEARNER_ENV_UNSET)
    env["CARGO_TARGET_DIR"] = str(target)
    env.update(extra)
    return env


def touched(path):
    """Context: `path` touched (mtime now, content unchanged), mtime restored after."""
    class Touch:
        def __enter__(self):
            self.stat = path.stat()
            os.utime(path)
            self.touched_ns = path.stat().st_mtime_ns
            return path

        def __exit__(self, *exc):
            # Not if someone saved the file meanwhile: cargo must see their edit.
            if path.stat().st_mtime_ns == self.touched_ns:
                os.utime(path, ns=(self.stat.st_atime_ns, self.stat.st_mtime_ns))
    return Touch()


def compiled_crates(stderr):
    """Crate names in cargo's `Compiling name vX.Y.Z` lines."""
    return re.findall(r"^\s*Compiling ([\w-]+) v", stderr, re.M)


def mb(path):
    return round(dir_size(path) / 1e6) if path.exists() else 0


def ci_commands():
    """What .ci/run runs after installing its tools: its `export NAME=value`
    lines, and its top-level `cargo ...` / `bench/run ...` lines from the
    `== build` line on, read from the script so the measure follows it."""
    text = (ROOT / ".ci" / "run").read_text()
    env = dict(re.findall(r"^export (\w+)=(\S+)", text, re.M))
    m = re.search(r'^echo "== build.*$', text, re.M)
    if not m:
        fail('.ci/run has no `echo "== build ..."` line: update ci_commands() in bench/parts/footprint.py')
    commands = re.findall(r"^((?:cargo|bench/run) [^\n#]*?)\s*(?:#.*)?$", text[m.start():], re.M)
    if not any(c.startswith("cargo test") for c in commands):
        fail(".ci/run runs no `cargo test` after its `== build` line: update ci_commands()")
    return env, commands


def part_footprint(args):
    """The build footprint as a learner meets it; see bench/README.md."""
    steps = step_names()
    n = len(steps)
    step = args.step or FOOTPRINT_STEP
    main_rs = ROOT / "steps" / step / "src" / "main.rs"
    build_dir = WORK / "footprint"        # cold build, then the tests on top
    test_dir = WORK / "footprint-test"    # cold tests alone
    ci_dir = WORK / "footprint-ci"        # what CI runs, cold
    for d in (build_dir, test_dir, ci_dir):
        shutil.rmtree(d, ignore_errors=True)
    note = wait_idle(args.wait_idle)
    result = {**context(args, note), "steps": n, "step_names": steps,
              "target_dir": str(build_dir.relative_to(ROOT)),
              "incremental": dev_incremental(), "rebuild_step": step}

    # 1. Cold `cargo build --workspace`, as README's first command builds.
    env = learner_env(build_dir)
    say(f"cold `cargo build --workspace` in {build_dir} ({n} steps; the shared target/ is untouched)")
    result["cold_build_s"] = round(cargo(["build", "--workspace", "--locked"], env=env), 1)
    result["target_mb"] = mb(build_dir)
    result["incremental_mb"] = mb(build_dir / "debug" / "incremental")
    result["binaries_mb"] = {
        s: round((build_dir / "debug" / s).stat().st_size / 1e6, 1)
        for s in steps if (build_dir / "debug" / s).exists()}
    with touched(main_rs):
        result["rebuild_s"] = round(cargo(["build", "-p", step, "--locked"], env=env), 2)
    with touched(ROOT / "shared" / "src" / "lib.rs"):
        result["rebuild_shared_s"] = round(cargo(["build", "--workspace", "--locked"], env=env), 1)
    # The tests after the build: do they reuse the build's dependencies
    # ([profile.test] inherits [profile.dev]), or compile them again?
    say("`cargo test --workspace --no-run` after the build, same target dir")
    elapsed, err = cargo(["test", "--workspace", "--no-run", "--locked"], env=env, output=True)
    members = set(steps) | {"shared", "xtask"}
    again = compiled_crates(err)
    result["test_after_build_s"] = round(elapsed, 1)
    result["test_after_build_deps"] = sorted(c for c in again if c not in members)
    result["test_after_build_members"] = len([c for c in again if c in members])
    result["target_after_build_and_test_mb"] = mb(build_dir)

    # 2. Cold `cargo test --workspace`: the build, then the run.
    env = learner_env(test_dir)
    say(f"cold `cargo test --workspace --no-run` in {test_dir}")
    result["cold_test_build_s"] = round(
        cargo(["test", "--workspace", "--no-run", "--locked"], env=env), 1)
    say("`cargo test --workspace` (the run; everything built)")
    # A failing test is recorded, not fatal: the time is still what it cost
    # (cargo stops at the first failing test binary, so it is a lower bound).
    elapsed, result["test_run_ok"] = cargo(["test", "--workspace", "--locked"], env=env,
                                           check=False)
    result["test_run_s"] = round(elapsed, 1)
    result["test_target_mb"] = mb(test_dir)
    result["test_incremental_mb"] = mb(test_dir / "debug" / "incremental")
    # The steps' share of the run: their tests alone (already built).
    elapsed, result["steps_test_run_ok"] = cargo(
        ["test", "--locked", *sum((["-p", s] for s in steps), [])], env=env, check=False)
    result["steps_test_run_s"] = round(elapsed, 1)
    # A learner's loop: edit one step, run its tests.
    with touched(main_rs):
        elapsed, result["touched_test_ok"] = cargo(["test", "-p", step, "--locked"], env=env,
                                                   check=False)
        result["touched_test_s"] = round(elapsed, 2)

    # 3. What one step costs: remove every step's artifacts (`cargo clean -p`),
    # then build the tests again: only the steps are compiled, on top of the
    # dependencies and `shared`. Divided by the number of steps.
    say("per step: `cargo clean -p <every step>`, then `cargo test --workspace --no-run`")
    cargo(["clean", *sum((["-p", s] for s in steps), [])], env=env)
    without_steps = mb(test_dir)
    elapsed, err = cargo(["test", "--workspace", "--no-run", "--locked"], env=env, output=True)
    result["steps_rebuild_s"] = round(elapsed, 1)
    result["steps_rebuild_crates"] = sorted(set(compiled_crates(err)))
    result["steps_mb"] = mb(test_dir) - without_steps
    per_s = result["steps_rebuild_s"] / n
    per_mb = result["steps_mb"] / n
    per_run = result["steps_test_run_s"] / n
    extra = PROJECT_STEPS - n
    result["per_step"] = {"build_s": round(per_s, 2), "mb": round(per_mb),
                          "test_run_s": round(per_run, 2)}
    result["projection"] = {
        "steps": PROJECT_STEPS,
        "cold_test_build_s": round(result["cold_test_build_s"] + extra * per_s, 1),
        "test_run_s": round(result["test_run_s"] + extra * per_run, 1),
        "cold_test_s": round(result["cold_test_build_s"] + extra * per_s
                             + result["test_run_s"] + extra * per_run, 1),
        "test_target_mb": round(result["test_target_mb"] + extra * per_mb),
        "cold_build_s": round(result["cold_build_s"] + extra * per_s, 1),
    }

    # 4. The whole CI run (.ci/run without its installs), cold, as CI sets it.
    ci_env, commands = ci_commands()
    env = learner_env(ci_dir, **ci_env)
    result["ci_env"] = ci_env
    result["ci_steps"] = []
    say(f"CI: {len(commands)} commands of .ci/run, cold, in {ci_dir}")
    total = 0.0
    for command in commands:
        say(f"CI: {command}")
        start = time.monotonic()
        out = subprocess.run(["bash", "-c", command], cwd=ROOT, env=cargo_env(env),
                             capture_output=True, text=True)
        elapsed = time.monotonic() - start
        total += elapsed
        result["ci_steps"].append({"command": command, "s": round(elapsed, 1),
                                   "ok": out.returncode == 0})
        if out.returncode != 0:
            say(f"CI command failed ({out.returncode}): {command}\n{out.stderr[-2000:]}")
            break
    result["ci_s"] = round(total, 1)
    result["ci_ok"] = all(s["ok"] for s in result["ci_steps"])
    result["ci_target_mb"] = mb(ci_dir)
    # Rough: each more step adds its build twice (the build, then clippy's
    # check of the same targets) and its test run.
    result["projection"]["ci_s"] = round(result["ci_s"] + extra * (2 * per_s + per_run), 1)

    ended(result)
    if not args.keep_target:
        for d in (build_dir, test_dir, ci_dir):
            shutil.rmtree(d, ignore_errors=True)
    return result


# ------------------------------------------------------ footprint options


def linker_of(binary):
    """The linker named in the binary's .comment section (readelf), or '?'."""
    if not shutil.which("readelf") or not binary.exists():
        return "?"
    out = subprocess.run(["readelf", "-p", ".comment", str(binary)],
                         capture_output=True, text=True).stdout
    for name, pattern in (("mold", r"\bmold\b"), ("rust-lld (LLD)", r"\bLLD\b"),
                          ("GNU gold", r"\bgold\b")):
        if re.search(pattern, out):
            return name
    return "GNU ld (bfd)" if "GCC" in out else "?"


def footprint_options():
    """The variants compared by --footprint-options: (name, description, env)."""
    options = [
        ("incremental-on", "CARGO_INCREMENTAL=1 (cargo's default for dev builds)",
         {"CARGO_INCREMENTAL": "1"}),
        ("incremental-off", "CARGO_INCREMENTAL=0", {"CARGO_INCREMENTAL": "0"}),
        ("split-debuginfo", "the workspace's profile + split-debuginfo = \"unpacked\" "
                            "(CARGO_PROFILE_DEV_SPLIT_DEBUGINFO)",
         {"CARGO_PROFILE_DEV_SPLIT_DEBUGINFO": "unpacked"}),
    ]
    if shutil.which("mold"):
        options.append(("mold", "the workspace's profile, linked by mold (Debian's `mold`): "
                                "RUSTFLAGS=\"-C link-arg=-fuse-ld=mold\"",
                        {"RUSTFLAGS": "-C link-arg=-fuse-ld=mold"}))
    return options


def part_footprint_options(args):
    """Each option in its own cold target dir: the cold test build, the target
    size, then a learner's edit loop on --step, three times (median)."""
    step = args.step or FOOTPRINT_STEP
    main_rs = ROOT / "steps" / step / "src" / "main.rs"
    note = wait_idle(args.wait_idle)
    result = {**context(args, note), "steps": len(step_names()), "step": step,
              "loops": args.loops, "options": []}
    for name, description, extra in footprint_options():
        target = WORK / "options" / name
        shutil.rmtree(target, ignore_errors=True)
        env = learner_env(target, **extra)
        say(f"option {name}: cold `cargo test --workspace --no-run`")
        row = {"option": name, "description": description, "env": extra}
        row["cold_test_build_s"] = round(
            cargo(["test", "--workspace", "--no-run", "--locked"], env=env), 1)
        row["target_mb"] = mb(target)
        row["incremental_mb"] = mb(target / "debug" / "incremental")
        builds, tests = [], []
        for _ in range(args.loops):
            with touched(main_rs):
                builds.append(cargo(["build", "-p", step, "--locked"], env=env))
            with touched(main_rs):
                tests.append(cargo(["test", "-p", step, "--no-run", "--locked"], env=env))
        row["touch_build_s"] = round(statistics.median(builds), 2)
        row["touch_test_build_s"] = round(statistics.median(tests), 2)
        row["touch_build_all_s"] = [round(x, 2) for x in builds]
        row["touch_test_build_all_s"] = [round(x, 2) for x in tests]
        row["binary_mb"] = round((target / "debug" / step).stat().st_size / 1e6, 1)
        row["linker"] = linker_of(target / "debug" / step)
        row["busy"] = busy_processes()
        result["options"].append(row)
        if not args.keep_target:
            shutil.rmtree(target, ignore_errors=True)
    return ended(result)
