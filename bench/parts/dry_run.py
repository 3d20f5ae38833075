"""bench/run --dry-run: everything that can be checked without building or
loading."""

import json
import resource
import tempfile
from pathlib import Path

from .common import (
    ACCOUNTS_STEP, FOOTPRINT_STEP, LOAD_STEP, LOGINS_ONE_AT_A_TIME, LOGIN_BURST,
    MESSAGE_INDEXES, PAGE_CONNECTIONS, PAGING_STEP, RESULTS_JSON, ROOT, WRK_LUA, fail,
    has_accounts, has_message_indexes, has_paging, has_websocket, sample_passwords, say,
    step_names, wrk_version)
from .load import ENDPOINTS
from .grown_db import GROWN_CONNECTIONS, GROWN_MESSAGES, GROWN_USERS
from .websocket import wsclient, wsclient_selftest
from .instances import instances_problems
from .db_patterns import VARIANTS, VARIANT_STEP, variant_inputs, write_variants
from .footprint import ci_commands, footprint_options
from .report import render

def dry_run(args, users, messages):
    """Everything that can be checked without building or loading."""
    problems = []
    step = args.step or LOAD_STEP
    say(f"steps: {' '.join(step_names())}; measuring {step} "
        f"(footprint: {args.step or FOOTPRINT_STEP})")
    say(f"sample users from the shared crate: {', '.join(u['nickname'] for u in users)}")
    say(f"sample messages from the shared crate: {len(messages)} ("
        + ", ".join(f"{m['author_id']}->{m['recipient_id']}" for m in messages) + ")")
    ids = range(1, len(users) + 1)
    if any(m["author_id"] not in ids or m["recipient_id"] not in ids for m in messages):
        problems.append("a sample message names a user id that is not a sample user's")
    if "grown_db" in args.parts and not has_message_indexes(step):
        problems.append(f"{step} does not create {' and '.join(MESSAGE_INDEXES)} "
                        "(--grown-db needs s10 or later)")
    if "grown_db" in args.parts:
        if not has_paging(PAGING_STEP):
            problems.append(f"{PAGING_STEP} has no pages (`parse_page_query`): --grown-db "
                            "measures its pages beside the whole conversation")
        elif not has_accounts(PAGING_STEP) or len(sample_passwords()) != len(users):
            problems.append(f"{PAGING_STEP}'s pages need a login: POST /api/login and "
                            "one sample password per sample user")
        else:
            say(f"grown database: {PAGING_STEP}'s pages of 50 too, at {PAGE_CONNECTIONS} "
                "connections, logged in as user 1")
    if "websocket" in args.parts and not has_websocket(step):
        problems.append(f"{step} has no `/ws` route with subscriptions (--websocket "
                        "needs s18 or s19)")
    if "logins" in args.parts and not has_accounts(args.step or ACCOUNTS_STEP):
        problems.append(f"{args.step or ACCOUNTS_STEP} has no POST /api/login (--logins needs "
                        f"{ACCOUNTS_STEP} or later)")
    if "instances" in args.parts:
        problems += instances_problems()
    ws_problems = wsclient_selftest()
    problems += ws_problems
    if not ws_problems:
        say("bench/wsclient.py imports (websockets " + wsclient.WEBSOCKETS_VERSION + "); a loopback "
            "server's ping and messages of 5 and 70,000 bytes arrive")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * max(args.sockets) + 100
    say(f"open files: soft {soft}, hard {hard}; --websocket needs {needed}"
        + ("" if hard == resource.RLIM_INFINITY or hard >= needed else " - TOO FEW"))
    lua = WRK_LUA.read_text() if WRK_LUA.is_file() else ""
    if not lua:
        problems.append(f"missing {WRK_LUA}")
    for hook in ("function init", "function done", "BENCH-JSON", '"post-message"'):
        if hook not in lua:
            problems.append(f"{WRK_LUA.name} lacks {hook!r}")
    main_rs = ROOT / "steps" / step / "src" / "main.rs"
    if not main_rs.is_file():
        problems.append(f"missing {main_rs}")
    variant_problems = variant_inputs()
    problems += variant_problems
    if not variant_problems:
        with tempfile.TemporaryDirectory() as tmp:
            base = write_variants(Path(tmp) / "variants")
            for name in VARIANTS:
                if not (base / name / "src" / "main.rs").is_file():
                    problems.append(f"variant {name}: no src/main.rs in the copy of {VARIANT_STEP}")
            manifest = (base / "Cargo.toml").read_text()
            if "[workspace.dependencies]" not in manifest:
                problems.append("the variants' Cargo.toml lacks [workspace.dependencies]")
        say(f"database-pattern variants: steps/{VARIANT_STEP} with src/db.rs from "
            + ", ".join(f"bench/variants/{d}" for d, _ in VARIANTS.values() if d)
            + "; `thread` is s06 unchanged")
    ci_env, ci = ci_commands()  # fails if .ci/run lost its `== build` line or its tests
    say(f"footprint: the CI run = {len(ci)} commands of .ci/run ({'; '.join(ci)})")
    say("footprint options: " + ", ".join(name for name, _, _ in footprint_options()))
    if RESULTS_JSON.exists():
        render(json.loads(RESULTS_JSON.read_text()))  # the stored figures still render
        say(f"{RESULTS_JSON.name} renders")
    version = wrk_version()
    say(f"wrk: {version or 'NOT INSTALLED (apt-get install wrk) - needed for a real run'}")
    say(f"would run: {', '.join(args.parts)}; endpoints "
        f"{', '.join(m + ' ' + p for m, p in ENDPOINTS)} at {args.connections} connections, "
        f"{args.duration} s each; grown database: {GROWN_USERS} users, {GROWN_MESSAGES:,} "
        f"messages, {GROWN_CONNECTIONS} connections; WebSocket: {args.sockets} sockets, "
        f"{args.posts} POSTs each; logins on {args.step or ACCOUNTS_STEP}: "
        f"{LOGINS_ONE_AT_A_TIME} one at a time, {LOGIN_BURST} at once")
    if problems:
        fail("; ".join(problems))
    say("dry run OK")
