"""The goals and RESULTS.md, rendered from results.json."""

import os

from .common import MESSAGE_INDEXES, PAGE_CONNECTIONS
from .grown_db import RARE_MESSAGES
from .websocket import WS_DELIVERY_TIMEOUT, WS_WARMUP_POSTS

# Goals from the issue.
GOAL_P99_MS = 10.0
GOAL_COLD_BUILD_S = 180.0
GOAL_DEBUG_BIN_MB = 25.0
GOAL_REBUILD_S = 10.0
GOAL_GROWN_P99_MS = 5.0      # GET /api/messages/with/<id>, grown database, with the index
GOAL_PAGE_TIMES_WHOLE = 25   # a page of 50 (s21) at least 25x the whole conversation's rate (s19)
GOAL_PAGE_P99_MS = 2.0       # a page of 50, at 10 connections
GOAL_PAGE_SPREAD = 0.10      # the oldest page within 10 % of the newest page's rate
STRETCH_PAGE_RPS = 10_000    # a page of 50 at 100 connections (stretch)
GOAL_PG_PAGE_P99_MS = 5.0   # s22's page of 50 at 10 connections, on PostgreSQL
GOAL_INSTANCES_P99_MS = 5.0  # s23: POST through one instance -> the sockets on the others
GOAL_WS_ONE_P99_MS = 2.0     # POST -> arrival, one listener
GOAL_WS_MANY_P99_MS = 20.0   # POST -> arrival, with 1,000 sockets connected
GOAL_WS_MANY_SOCKETS = 1000
GOAL_WS_KB_PER_SOCKET = 20.0
GOAL_LOGIN_BURST_PROBE_P99_MS = 20.0  # GET /api/version while 100 logins run at once
GOAL_LOGIN_BURST_RSS_MB = 200.0      # the server's peak memory meanwhile
GOAL_COLD_TEST_S = 180.0     # the footprint's, at 24 steps (projected)
GOAL_TARGET_MB = 1500
GOAL_TOUCHED_TEST_S = 10.0
GOAL_CI_S = 600.0

# The original (Flask + Flask-SocketIO), measured on the same machine, from
# the WebSockets issue: quoted next to our figures.
ORIGINAL_WS = {"one_p99_ms": "6–12", "last_of_50_p99_ms": "23–54", "kb_per_socket": "130"}


# ----------------------------------------------------------------- results


def page_goals(grown):
    """The goals of s21's pages against s19's whole conversation, same run."""
    pages = grown.get("pages")
    whole = next((r for r in grown["runs"] if r["index"] and r["user"] == "typical"), None)
    if not pages or not whole:
        return []
    rows = []
    runs = {(r["page"], r["connections"]): r for r in pages["runs"]}
    for (kind, connections), r in runs.items():
        times = r["rps"] / whole["rps"] if whole["rps"] else 0
        rows.append((f"{pages['step']}: a page of 50 ({kind}) of the typical conversation at "
                     f"{connections} connections: no error, at least {GOAL_PAGE_TIMES_WHOLE}x "
                     f"{grown['step']}'s whole conversation ({whole['rps']:,.0f} req/s)",
                     f"{r['errors_total']} errors, {r['rps']:,.0f} req/s ({times:,.1f}x)",
                     r["errors_total"] == 0 and times >= GOAL_PAGE_TIMES_WHOLE))
        if connections == 10:
            rows.append((f"{pages['step']}: a page of 50 ({kind}) at 10 connections: "
                         f"p99 < {GOAL_PAGE_P99_MS:g} ms", f"p99 {ms(r['p99_us'])} ms",
                         r["p99_us"] / 1000 < GOAL_PAGE_P99_MS))
    for connections in PAGE_CONNECTIONS:
        newest, oldest = runs.get(("newest", connections)), runs.get(("oldest", connections))
        if newest and oldest and newest["rps"]:
            spread = abs(oldest["rps"] - newest["rps"]) / newest["rps"]
            rows.append((f"{pages['step']}: the oldest page within "
                         f"{GOAL_PAGE_SPREAD:.0%} of the newest at {connections} connections",
                         f"{oldest['rps']:,.0f} vs {newest['rps']:,.0f} req/s ({spread:.1%})",
                         spread <= GOAL_PAGE_SPREAD))
    newest = runs.get(("newest", 100))
    if newest:
        rows.append((f"stretch: {pages['step']}: the newest page at 100 connections, at least "
                     f"{STRETCH_PAGE_RPS:,} req/s", f"{newest['rps']:,.0f} req/s",
                     newest["rps"] >= STRETCH_PAGE_RPS))
    return rows


def ms(us):
    return f"{us / 1000:.2f}"


def goals(data):
    rows = []
    load = data.get("load")
    if load:
        run = next((r for r in load["runs"] if r["method"] == "GET" and r["path"] == "/api/users"
                    and r["connections"] == 100), None)
        if run:
            ok = run["errors_total"] == 0 and run["p99_us"] / 1000 < GOAL_P99_MS
            rows.append((f"`GET /api/users` at 100 connections ({load['step']}): "
                         f"no errors, p99 < {GOAL_P99_MS:g} ms",
                         f"{run['errors_total']} errors, p99 {ms(run['p99_us'])} ms", ok))
        msg_runs = [r for r in load["runs"] if "/api/messages" in r["path"]]
        if msg_runs:
            errors = sum(r["errors_total"] for r in msg_runs)
            conns = sorted({r["connections"] for r in msg_runs})
            rows.append((f"messages API on the sample data ({load['step']}): no error at any "
                         "load",
                         f"{errors} errors in {len(msg_runs)} runs "
                         f"(at {', '.join(map(str, conns))} connections)", errors == 0))
            posts = [r for r in msg_runs if r["method"] == "POST"]
            if posts:
                rows.append(("messages API: every 201 stored",
                             ", ".join(f"{r['answered_2xx']:,} answered, {r['stored']:,} stored "
                                       f"({r['connections']} conn.)" for r in posts),
                             all(r["nothing_lost"] for r in posts)))
    grown = data.get("grown_db")
    if grown:
        for r in grown["runs"]:
            if r["index"]:
                rows.append((f"grown database ({grown['users']} users, "
                             f"{grown['messages']:,} messages), with the index: "
                             f"`GET {r['path']}` ({r['user']}, {r['answered_messages']:,} "
                             f"messages) at {grown['connections']} connections, no error, "
                             f"p99 < {GOAL_GROWN_P99_MS:g} ms",
                             f"{r['errors_total']} errors, p99 {ms(r['p99_us'])} ms",
                             r["errors_total"] == 0 and r["p99_us"] / 1000 < GOAL_GROWN_P99_MS))
        rows += page_goals(grown)
    ws = data.get("websocket")
    if ws:
        for c in ws["configs"]:
            clean = c["lost"] == 0 and c["created"] == c["posts"] == c["stored"]
            if c["sockets"] == 1:
                rows.append((f"WebSocket, one listener: POST to arrival p99 < "
                             f"{GOAL_WS_ONE_P99_MS:g} ms (original: {ORIGINAL_WS['one_p99_ms']} ms)",
                             f"p99 {c['last_p99_ms']} ms, {c['lost']} lost",
                             clean and c["last_p99_ms"] is not None
                             and c["last_p99_ms"] < GOAL_WS_ONE_P99_MS))
            if c["sockets"] >= GOAL_WS_MANY_SOCKETS:
                rows.append((f"WebSocket, {c['sockets']:,} sockets connected: POST to arrival on "
                             f"the last of the recipient's {c['per_recipient']} sockets, p99 < "
                             f"{GOAL_WS_MANY_P99_MS:g} ms",
                             f"p99 {c['last_p99_ms']} ms, {c['lost']} lost",
                             clean and c["last_p99_ms"] is not None
                             and c["last_p99_ms"] < GOAL_WS_MANY_P99_MS))
        biggest = max(ws["configs"], key=lambda c: c["sockets"], default=None)
        if biggest:
            rows.append((f"WebSocket: server memory per idle socket < {GOAL_WS_KB_PER_SOCKET:g} KB "
                         f"(original: about {ORIGINAL_WS['kb_per_socket']} KB)",
                         f"{biggest['kib_per_socket']} KiB ({biggest['sockets']:,} sockets)",
                         biggest["kib_per_socket"] < GOAL_WS_KB_PER_SOCKET))
    lg = data.get("logins")
    if lg:
        probe = lg["probe"]
        rows.append((f"{lg['burst']} logins at once ({lg['step']}): `GET /api/version` p99 < "
                     f"{GOAL_LOGIN_BURST_PROBE_P99_MS:g} ms meanwhile (the hashes are not on "
                     "the workers)",
                     f"p99 {probe.get('p99_ms')} ms, {probe.get('failures')} failures",
                     probe.get("p99_ms") is not None and not probe.get("failures")
                     and probe["p99_ms"] < GOAL_LOGIN_BURST_PROBE_P99_MS))
        rows.append((f"{lg['burst']} logins at once ({lg['step']}): the server under "
                     f"{GOAL_LOGIN_BURST_RSS_MB:g} MB (the hashes in flight are bounded)",
                     f"{lg['rss_peak_kib'] / 1024:.1f} MiB at most",
                     lg["burst_ok"] == lg["burst"]
                     and lg["rss_peak_kib"] / 1024 < GOAL_LOGIN_BURST_RSS_MB))
    pg = data.get("postgres")
    if pg:
        page = next((r for r in pg["runs"] if r["step"] == pg["steps"][1]
                     and r["method"] == "GET" and r["connections"] == 10), None)
        if page:
            rows.append((f"{pg['steps'][1]} (PostgreSQL): the newest page of 50 on the grown "
                         f"data at 10 connections, p99 < {GOAL_PG_PAGE_P99_MS:g} ms",
                         f"p99 {ms(page['p99_us'])} ms (measured: {measured(page, 'p99_us')} ms)"
                         + (f"; PostgreSQL on a core of its own: p99 "
                            f"{ms(pg['pinned']['p99_us'])} ms" if pg.get("pinned") else ""),
                         page["p99_us"] / 1000 < GOAL_PG_PAGE_P99_MS))
    ins = data.get("instances")
    if ins:
        d = ins["delivery"]
        rows.append((f"{ins['step']} x {ins['instances']}: a message POSTed through one "
                     f"instance, on the last of the recipient's sockets on the others, "
                     f"{d['sockets']:,} sockets connected: p99 < {GOAL_INSTANCES_P99_MS:g} ms",
                     f"p99 {d['other_last_p99_ms']} ms, {d['lost']} lost",
                     d["lost"] == 0 and d["other_last_p99_ms"] is not None
                     and d["other_last_p99_ms"] < GOAL_INSTANCES_P99_MS))
    fp = data.get("footprint")
    if fp and "cold_test_build_s" in fp:
        n, pr = fp["steps"], fp["projection"]
        at = lambda measured, projected, unit="s": (
            f"{measured:,} {unit} at {n} steps; projected to {pr['steps']}: {projected:,} {unit}")
        cold_test = round(fp["cold_test_build_s"] + fp["test_run_s"], 1)
        rows.append((f"cold `cargo test --workspace` (build + run) < {GOAL_COLD_TEST_S / 60:g} min",
                     at(cold_test, pr["cold_test_s"]), pr["cold_test_s"] < GOAL_COLD_TEST_S))
        rows.append((f"target/ after it < {GOAL_TARGET_MB / 1000:g} GB",
                     at(fp["test_target_mb"], pr["test_target_mb"], "MB"),
                     pr["test_target_mb"] < GOAL_TARGET_MB))
        rows.append((f"a touched step rebuilt and its tests run < {GOAL_TOUCHED_TEST_S:g} s",
                     f"{fp['touched_test_s']} s ({fp['rebuild_step']})"
                     + ("" if fp.get("touched_test_ok", True) else " (tests FAILED)"),
                     fp.get("touched_test_ok", True) and fp["touched_test_s"] < GOAL_TOUCHED_TEST_S))
        rows.append((f"the whole CI run (without installs) < {GOAL_CI_S / 60:g} min",
                     at(fp["ci_s"], pr["ci_s"]) + ("" if fp["ci_ok"] else " (a command FAILED)"),
                     fp["ci_ok"] and pr["ci_s"] < GOAL_CI_S))
    if fp:
        rows.append((f"cold `cargo build --workspace` < {GOAL_COLD_BUILD_S / 60:g} min",
                     f"{fp['cold_build_s']} s", fp["cold_build_s"] < GOAL_COLD_BUILD_S))
        if fp["binaries_mb"]:
            big = max(fp["binaries_mb"].items(), key=lambda kv: kv[1])
            rows.append((f"every step binary < {GOAL_DEBUG_BIN_MB:g} MB in debug",
                         f"largest {big[0]}: {big[1]} MB", big[1] < GOAL_DEBUG_BIN_MB))
        rows.append((f"rebuild one touched step < {GOAL_REBUILD_S:g} s",
                     f"{fp['rebuild_s']} s ({fp['rebuild_step']})", fp["rebuild_s"] < GOAL_REBUILD_S))
    return rows


def conditions(part):
    lines = [f"- Run {part['date']}; load average (1/5/15 min) before "
             f"{' / '.join(part['loadavg_before'])}, after {' / '.join(part['loadavg_after'])}."]
    if part.get("idle_note"):
        lines.append(f"- {part['idle_note']}.")
    if part.get("busy_at_start"):
        lines.append(f"- Other build/browser processes running at the start: "
                     f"{' '.join(part['busy_at_start'])}.")
    if part.get("busy_at_end"):
        lines.append(f"- Other build/browser processes running at the end: "
                     f"{' '.join(part['busy_at_end'])}.")
    if not part.get("busy_at_start") and not part.get("busy_at_end"):
        lines.append("- No other cargo/rustc/chromium process at the start or at the end.")
    cores = os.cpu_count() or 1
    load = float(part["loadavg_before"][0])
    if load > cores:
        lines.append(f"- **The machine was busy**: load average {load:g} on {cores} cores "
                     "before the run: the times are skewed (sizes are not).")
    return lines


def measured(r, key):
    """A measured percentile of a wrk run (wrk's correction taken out), in ms."""
    m = r.get("measured")
    return ms(m[key]) if m else "–"


def render_postgres(pg):
    out = ["", f"## PostgreSQL against SQLite: {' against '.join(reversed(pg['steps']))}, "
               "release build", ""]
    out += conditions(pg)
    out += [f"- The grown data ({pg['users']} users, {pg['messages']:,} messages) in "
            f"{pg['steps'][0]}'s SQLite file, then copied into a private PostgreSQL with "
            f"`{pg['steps'][1]} --import` ({pg.get('import', '')}). Logged in as user 1: "
            "the newest page of 50 of its conversation, then `POST /api/messages` to user 2. "
            f"`wrk -t1 -c<N> -d{pg['duration_s']}s`; PostgreSQL, wrk and the step share the cores."]
    if "round_trips" in pg:
        rt = pg["round_trips"]
        out += ["- After the import: `VACUUM (ANALYZE)` and `CHECKPOINT`, so that neither the "
                "autovacuum of the new rows nor their checkpoint falls in a run; both steps "
                "started, warmed up (2 s of wrk each), then measured in turn at each load. "
                "load = the 1-minute load average as the run started (our own previous run "
                "included); others = the CPU the other processes of the machine took during the "
                "run, in cores of 2 (not wrk, the steps, PostgreSQL).",
                f"- PostgreSQL on loopback, one client (pgbench, prepared statements): `SELECT 1` "
                f"answers in {rt['select_1_us']:g} µs, the page's query (its 50 rows) in "
                f"{rt['page_query_us']:g} µs. A page is one query (the statement is prepared "
                "once per connection, the pool hands a connection without a query); a POST is "
                "four (two `EXISTS` for the users, the `INSERT`, the `SELECT` of the answer), "
                "the `INSERT` waiting for its WAL flush.",
                "",
                "| step | request | connections | req/s | p50 ms | p99 ms | max ms | measured "
                "p50 / p99 / p99.9 ms | errors | load | others |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in pg["runs"]:
            out.append(f"| {r['step']} | `{r['method']} {r['path']}` | {r['connections']} | "
                       f"{r['rps']:,.0f} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | "
                       f"{ms(r['max_us'])} | {measured(r, 'p50_us')} / {measured(r, 'p99_us')}"
                       f" / {measured(r, 'p999_us')} | {r['errors_total']} | "
                       f"{r.get('loadavg_at_start', '–')} | {r.get('others_cores', '–')} |")
        r = pg.get("pinned")
        if r:
            out.append(f"| {r['step']}, PostgreSQL on CPU {r['cpus']['postgres']}, the step "
                       f"and wrk on CPU {r['cpus']['step and wrk']} | `{r['method']} "
                       f"{r['path']}` | {r['connections']} | {r['rps']:,.0f} | "
                       f"{ms(r['p50_us'])} | {ms(r['p99_us'])} | {ms(r['max_us'])} | "
                       f"{measured(r, 'p50_us')} / {measured(r, 'p99_us')} / "
                       f"{measured(r, 'p999_us')} | {r['errors_total']} | "
                       f"{r.get('loadavg_at_start', '–')} | {r.get('others_cores', '–')} |")
        logged = pg.get("postgres_log") or ["none"]
        out += ["", "PostgreSQL's log during the runs (checkpoints, autovacuums of `chat`): "
                + "; ".join(logged) + "."]
    else:
        out += ["", "| step | request | connections | req/s | p50 ms | p99 ms | max ms | errors |",
                "|---|---|---|---|---|---|---|---|"]
        for r in pg["runs"]:
            out.append(f"| {r['step']} | `{r['method']} {r['path']}` | {r['connections']} | "
                       f"{r['rps']:,.0f} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | "
                       f"{ms(r['max_us'])} | {r['errors_total']} |")
    out += ["", "Peak memory of the step (VmHWM; PostgreSQL's own processes not counted): "
            + ", ".join(f"{step} {kib / 1024:.1f} MiB" for step, kib in pg["rss_peak_kib"].items())]
    return out


def render_instances(ins):
    d = ins["delivery"]
    out = ["", f"## Several instances: {ins['step']} x {ins['instances']} behind nginx, with "
               f"Redis and PostgreSQL, against one {ins['single_step']}, release build", ""]
    out += conditions(ins)
    out += [f"- `scripts/services up --instances` starts one PostgreSQL, one Redis and nginx "
            f"(with steps/s23/nginx.conf) in front of {ins['instances']} instances of "
            f"{ins['step']} on ports of the bench's own; {ins['single_step']} on a database of "
            "its own in the same PostgreSQL. Fresh data: the users signed up through the API, "
            "each logged in once (the cookie holds on every instance).",
            f"- Delivery: {d['sockets']:,} WebSockets, {d['per_recipient']} for each of "
            f"{d['listeners']} listening users, socket j of a user on instance j mod "
            f"{ins['instances']}: each user has sockets on every instance. Then, one at a time, "
            f"{d['posts']} `POST /api/messages` (after {WS_WARMUP_POSTS} not recorded) through "
            "the first instance (A, directly), from a user without a socket to each listener in "
            "turn. Time = from just before the POST to the message read on the last of the "
            "recipient's sockets: on A (its relay heard it from Redis too), and on the other "
            "instances (B and C). Memory: each instance's VmRSS with its third of the idle "
            "sockets, less without them.",
            "",
            "| sockets | on the other instances: last p50 / p99 / max ms | on A: last p50 / p99 "
            "ms | POST answer p50 / p99 ms | lost | statuses | KiB per idle socket (A, B, C) |",
            "|---|---|---|---|---|---|---|",
            f"| {d['sockets']:,} | {d['other_last_p50_ms']} / {d['other_last_p99_ms']} / "
            f"{d['other_last_max_ms']} | {d['same_last_p50_ms']} / {d['same_last_p99_ms']} | "
            f"{d['post_p50_ms']} / {d['post_p99_ms']} | {d['lost']} | "
            + ", ".join(f"{k}: {v}" for k, v in sorted(d["statuses"].items()))
            + f" | {', '.join(map(str, d['kib_per_socket']))} |",
            ""]
    ns = ins.get("nginx_sockets")
    if ns:
        out += [f"Through nginx (as shared/src/services.rs configures it; each WebSocket "
                f"holds two of its connections, the page's and the instance's): "
                f"{ns['open']:,} of {ns['wanted']:,} sockets opened, one after the other"
                + (f", then `{ns['refusal']}`." if ns["refusal"] else "."), ""]
    out += [f"Messages per second: `wrk -t1 -c<N> -d{ins['duration_s']}s`, `POST "
            "/api/messages` logged in (to user 2, who has no socket then), on one instance of "
            f"{ins['single_step']}, on one of {ins['step']} (the two others still relay each "
            f"message from Redis), and through nginx to the {ins['instances']}. stored = the "
            "rows counted in PostgreSQL afterwards. load = the 1-minute load average as the run "
            "started; others = the CPU the machine's other processes took meanwhile, in cores "
            "of 2.",
            "",
            "| target | connections | req/s | p50 ms | p99 ms | max ms | measured p50 / p99 ms "
            "| errors | 2xx / stored | load | others |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in ins["runs"]:
        out.append(f"| {r['target']} | {r['connections']} | {r['rps']:,.0f} | "
                   f"{ms(r['p50_us'])} | {ms(r['p99_us'])} | {ms(r['max_us'])} | "
                   f"{measured(r, 'p50_us')} / {measured(r, 'p99_us')} | {r['errors_total']} | "
                   f"{r['requests'] - r['http_errors']:,} / {r['stored']:,} | "
                   f"{r.get('loadavg_at_start', '–')} | {r.get('others_cores', '–')} |")
    costs = [r for r in ins["runs"] if r.get("cpu_us_per_message")]
    if costs:
        names = list(costs[0]["cpu_us_per_message"])
        out += ["", "CPU per message stored, in µs, by server (its children included: "
                "PostgreSQL's backends, nginx's worker), during each run above (CPU ticks of "
                "/proc, 10 ms each: rough for the small ones):", "",
                "| target | connections | " + " | ".join(names) + " |",
                "|---|---|" + "---|" * len(names)]
        for r in costs:
            out.append(f"| {r['target']} | {r['connections']} | "
                       + " | ".join(f"{r['cpu_us_per_message'][n]:,.0f}" for n in names) + " |")
    out += ["", "Peak memory (VmHWM) of each instance, then of the single step: "
            + ", ".join(f"{kib / 1024:.1f} MiB" for kib in ins["rss_peak_kib"]) + "."]
    return out


def render(data):
    m, t = data["machine"], data["tools"]
    out = [
        "# Benchmark results",
        "",
        "Written by `bench/run` (see bench/README.md); do not edit by hand. "
        "Each part below carries its own date and load: they may come from different runs.",
        "",
        f"- Machine: {m.get('cores')} cores ({m.get('cpu', '?')}), {m.get('memory_gib')} GiB, "
        f"{m.get('os', '?')}, Linux {m.get('kernel')}",
        f"- Tools: {t['wrk']}; {t['rustc']}; {t['cargo']}; Python {t['python']}",
        "- Crates: " + ", ".join(f"{k} {v}" for k, v in t["crates"].items()) +
        f" (SQLite bundled); workspace commit {t['commit']}",
        "- wrk and the server share the same cores, so the throughput is the pair's, "
        "not the server's alone; wrk 4.1 corrects its percentiles for coordinated omission "
        "(a stall weighs as the requests it held back: bench/README.md, \"Reading RESULTS.md\"); "
        "**measured** = the latencies wrk timed, without the correction.",
        "",
        "## Goals",
        "",
        "| goal | measured | holds |",
        "|---|---|---|",
    ]
    for goal, measured, ok in goals(data):
        out.append(f"| {goal} | {measured} | {'yes' if ok else '**no**'} |")

    load = data.get("load")
    if load:
        out += ["", f"## Throughput and latency: step {load['step']}, release build", ""]
        out += conditions(load)
        out += [f"- `wrk -t1 -c<N> -d{load['duration_s']}s --latency`, one run per row, on "
                f"loopback; database: a fresh file with the {load['seeded_users']} sample users "
                "(`USERS` in the shared crate)"
                + (f" and their {load['seeded_messages']} messages (`MESSAGES`), added through "
                   "the API" if load.get("seeded_messages") else "")
                + ", WAL. The server's request log goes to /dev/null. `POST /api/users` "
                "adds a new user per request; `POST /api/messages` a message from user 1 to "
                "user 2 (the POSTs run last: they grow the tables).",
                "- errors = socket errors (connect/read/write/timeout) + answers with status >= 400.",
                "",
                "| endpoint | connections | req/s | p50 ms | p99 ms | max ms | errors |",
                "|---|---|---|---|---|---|---|"]
        for r in load["runs"]:
            out.append(f"| `{r['method']} {r['path']}` | {r['connections']} | {r['rps']:,.0f} | "
                       f"{ms(r['p50_us'])} | {ms(r['p99_us'])} | {ms(r['max_us'])} | "
                       f"{r['errors_total']} |")
        for s in load["skipped"]:
            out.append(f"| `{s}` | – | not in this step | | | | |")
        out += ["", "Every POST stored (rows counted in the database file afterwards):", "",
                "| endpoint | connections | 201 answers counted by wrk | rows added | "
                "nothing lost |",
                "|---|---|---|---|---|"]
        for r in load["runs"]:
            if r["method"] == "POST":
                out.append(f"| `POST {r['path']}` | {r['connections']} | {r['answered_2xx']:,} | "
                           f"{r['stored']:,} | {'yes' if r['nothing_lost'] else '**NO**'} |")
        out += ["", "(wrk stops counting at its deadline: up to one request per connection may be "
                "stored without being counted, never the reverse.)", "",
                "Server memory (VmRSS from /proc):", "",
                "| idle, after seeding | after all the load | peak (VmHWM) | users at the end "
                "| messages at the end |",
                "|---|---|---|---|---|",
                f"| {load['rss_idle_kib'] / 1024:.1f} MiB | {load['rss_after_kib'] / 1024:.1f} MiB "
                f"| {load['rss_peak_kib'] / 1024:.1f} MiB | {load['rows_after']:,} | "
                f"{load['messages_after']:,} |" if "messages_after" in load else
                f"| {load['rss_idle_kib'] / 1024:.1f} MiB | {load['rss_after_kib'] / 1024:.1f} MiB "
                f"| {load['rss_peak_kib'] / 1024:.1f} MiB | {load['rows_after']:,} | – |"]
    grown = data.get("grown_db")
    if grown:
        out += render_grown(grown)
    postgres = data.get("postgres")
    if postgres:
        out += render_postgres(postgres)
    instances = data.get("instances")
    if instances:
        out += render_instances(instances)
    ws = data.get("websocket")
    if ws:
        out += render_websocket(ws)

    db = data.get("db_patterns")
    if db:
        out += ["", f"## The database under load: access patterns on {db['step']}", ""]
        out += conditions(db)
        how = ("with its src/db.rs replaced by bench/variants/<pattern>/db.rs"
               if db.get("poison_by") == "faults" else "rebuilt from its source")
        out += [f"- Each pattern is {db['step']} {how} by `bench/run "
                "--db-patterns` (variants in bench/target/variants), release build, fresh "
                f"database; `wrk -t1 -c100 -d{db['duration_s']}s`. Workloads: **mix** = "
                f"{db['mix']} on the 3 sample users (queries of microseconds); **big** = "
                f"`GET /api/users` on a table of {db.get('big_table', 0):,} users "
                "(a query and a JSON body of milliseconds).",
                "- probe = `GET /api/version` (no database) every 10 ms on its own connection "
                "during the load: it shows whether database work holds up the worker threads.",
                "",
                "| pattern | workload | req/s | p50 ms | p99 ms | max ms | errors | rows added | "
                "probe p50 ms | probe p99 ms | probe max ms |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in db["patterns"]:
            p = r["probe"]
            out.append(f"| {r['pattern']}: {r['description']} | {r.get('workload', 'mix')} | "
                       f"{r['rps']:,.0f} | "
                       f"{ms(r['p50_us'])} | {ms(r['p99_us'])} | {ms(r['max_us'])} | "
                       f"{r['errors_total']} | {r['stored']:,} | {p.get('p50_ms', '–')} | "
                       f"{p.get('p99_ms', '–')} | {p.get('max_ms', '–')} |")
        if db.get("poison_by") == "faults":
            intro = ("Poisoning: each variant built with `--features shared/faults`; "
                     "the fault file (`CHAT_TUTORIAL_FAULTS`) makes the query of one "
                     "`GET /api/users` panic where the variant runs it (holding the lock, "
                     "for the mutexes); then 20 `GET /api/users` and 5 `POST /api/users`, "
                     "one at a time:")
        else:
            intro = ("Poisoning: `GET /bench/panic` panics while it holds the connection; "
                     "then 20 `GET /api/users` and 5 `POST /api/users`, one at a time:")
        out += ["", intro, "",
                "| variant | the panicking request | later DB requests answered | their statuses "
                "| `GET /api/version` after | server process | panics in its log |",
                "|---|---|---|---|---|---|---|"]
        for c in db["poisoning"]:
            statuses = ", ".join(f"{'no answer' if k == 'None' else k}: {v}"
                                 for k, v in sorted(c["later_statuses"].items()))
            out.append(f"| {c['variant']}: {c['description']} | {c['panic_request']} | "
                       f"{c['later_ok']} / {c['later_total']} | {statuses} | "
                       f"{c['version_status']} | "
                       f"{'running' if c['process_alive'] else 'exited'} | {c['panics']} |")
        out.append("")
        for c in db["poisoning"]:
            out.append(f"- {c['variant']}: first panic ``{c['first_panic']}``" +
                       (f"; last ``{c['last_panic']}``" if c.get("last_panic") else "; no other"))

    lg = data.get("logins")
    if lg:
        out += render_logins(lg)
    fp = data.get("footprint")
    if fp and "cold_test_build_s" in fp:
        out += render_footprint(fp)
    elif fp:
        out += ["", "## Build footprint (debug, what a learner builds)", ""]
        out += conditions(fp)
        out += [f"- Cold = an empty target dir ({fp['target_dir']}, not the shared target/), "
                "crates already downloaded; incremental: " + fp["incremental"] + ".",
                "",
                "| measure | value |",
                "|---|---|",
                f"| cold `cargo build --workspace` | {fp['cold_build_s']} s |",
                f"| size of the target dir after it | {fp['target_mb']:,} MB "
                f"(of which incremental/ {fp['incremental_mb']:,} MB) |",
                f"| `touch steps/{fp['rebuild_step']}/src/main.rs` then "
                f"`cargo build -p {fp['rebuild_step']}` | {fp['rebuild_s']} s |",
                f"| `touch shared/src/lib.rs` then `cargo build --workspace` | "
                f"{fp['rebuild_shared_s']} s |",
                "", "| step | debug binary |", "|---|---|"]
        for s, size in fp["binaries_mb"].items():
            out.append(f"| {s} | {size} MB |")
    fo = data.get("footprint_options")
    if fo:
        out += render_footprint_options(fo)
    return "\n".join(out) + "\n"


def render_grown(g):
    out = ["", f"## Messages API on a grown database: step {g['step']}, release build", ""]
    out += conditions(g)
    rows = ", ".join(f"{k}: {v:,}" for k, v in g["conversation_rows"].items())
    out += [f"- Database: {g['users']} users and {g['messages']:,} messages "
            f"({g['db_mb']} MB with its WAL), written with Python's sqlite3 (`executemany`, "
            f"{g['fill_s']} s) into the file the step had created its tables in, before the "
            "server started: users 1-3 and the 7 sample messages, then messages between two "
            "different users drawn uniformly among users 1-99 (seeded: the same at every run), "
            f"and {RARE_MESSAGES} messages of user {g['users']} with random partners. "
            f"Rows in each measured conversation: {rows}.",
            f"- `wrk -t1 -c{g['connections']} -d{g['duration_s']}s --latency` on "
            "`GET /api/messages/with/<id>`, first with the indexes the step creates at start "
            f"({', '.join(MESSAGE_INDEXES)}), then without: both dropped through a connection "
            "of bench/run's own while the step runs (it re-creates them at each start).",
            "",
            "| indexes | user | messages in the answer | answer size | req/s | p50 ms | p99 ms "
            "| max ms | errors |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in g["runs"]:
        out.append(f"| {'with' if r['index'] else 'without'} | {r['user']} (`{r['path']}`) | "
                   f"{r['answered_messages']:,} | {r['bytes_per_answer'] / 1024:,.1f} KiB | "
                   f"{r['rps']:,.0f} | {ms(r['p50_us'])} | {ms(r['p99_us'])} | "
                   f"{ms(r['max_us'])} | {r['errors_total']} |")
    out += ["", "SQLite's plan for the conversation query (`EXPLAIN QUERY PLAN`):", ""]
    for name, plan in g["plans"].items():
        out.append(f"- {name}: `{plan}`")
    out += ["", f"Server memory after the runs: VmRSS {g['rss_after_kib'] / 1024:.1f} MiB, "
                f"peak {g['rss_peak_kib'] / 1024:.1f} MiB."]
    pages = g.get("pages")
    if pages:
        out += ["", f"### A conversation in pages: step {pages['step']}, same run, same data",
                "",
                f"The same grown data in a database of {pages['step']}'s schema (its indexes "
                "`(author_id, id)` and `(recipient_id, id)`; the sample users signed up "
                "through its API), logged in as user 1 (wrk sends the session cookie): "
                f"`GET /api/messages/with/1`, the newest 50 of its "
                f"{pages['conversation_rows']:,} messages, and the oldest 50 (`?before=` the "
                "51st). Plan of a page's ids: "
                f"`{pages['plan']}`.",
                "",
                "| page | connections | answer size | req/s | p50 ms | p99 ms | max ms | errors |",
                "|---|---|---|---|---|---|---|---|"]
        for r in pages["runs"]:
            out.append(f"| {r['page']} (`{r['path']}`) | {r['connections']} | "
                       f"{r['bytes_per_answer'] / 1024:,.1f} KiB | {r['rps']:,.0f} | "
                       f"{ms(r['p50_us'])} | {ms(r['p99_us'])} | {ms(r['max_us'])} | "
                       f"{r['errors_total']} |")
        out += ["", f"Server memory, peak: {pages['rss_peak_kib'] / 1024:.1f} MiB."]
    return out


def render_websocket(ws):
    out = ["", f"## WebSocket: from `POST /api/messages` to the recipient's sockets, "
               f"step {ws['step']}, release build", ""]
    out += conditions(ws)
    out += ["- A fresh server and database per row. bench/wsclient.py (Python's `websockets`, "
            "one asyncio loop in a thread of its own) opens the sockets on `/ws`, each subscribed to one listening user "
            "(`{\"event\":\"subscribe\",...}`, confirmed by `subscribed`), the same number "
            "for each user; pings are answered. Then, one at a time, "
            f"{ws['posts']} `POST /api/messages` (after {WS_WARMUP_POSTS} not recorded) from "
            "user 1, who has no socket, to each listening user in turn, on one keep-alive "
            "connection. Time = from just before the POST is sent to the moment the message "
            "(matched by its content) is read on a socket: **first** = the first of the "
            "recipient's sockets, **last** = the last of them. A message not on every socket of "
            f"its recipient within {WS_DELIVERY_TIMEOUT:g} s is lost.",
            "- Memory: the server's VmRSS before the sockets connect (users created, server "
            "warm) and after they are all connected, subscribed and idle 1.5 s, divided by "
            "their number. KiB = 1,024 bytes.",
            f"- The original (Flask-SocketIO), measured on the same machine: p99 "
            f"{ORIGINAL_WS['one_p99_ms']} ms to one listener, {ORIGINAL_WS['last_of_50_p99_ms']} "
            f"ms for the last of 50, about {ORIGINAL_WS['kb_per_socket']} KB (0.13 MB) per socket.",
            "",
            "| sockets | users x sockets | first p50 ms | first p99 ms | last p50 ms "
            "| last p99 ms | last max ms | POST answer p50 / p99 ms | lost | 201 / stored "
            "| KiB per idle socket | VmRSS before / with the sockets |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in ws["configs"]:
        out.append(f"| {c['sockets']:,} | {c['listeners']} x {c['per_recipient']} | "
                   f"{c['first_p50_ms']} | {c['first_p99_ms']} | {c['last_p50_ms']} | "
                   f"{c['last_p99_ms']} | {c['last_max_ms']} | "
                   f"{c['post_p50_ms']} / {c['post_p99_ms']} | {c['lost']} | "
                   f"{c['created']} / {c['stored']} | {c['kib_per_socket']} | "
                   f"{c['rss_before_kib'] / 1024:.1f} / {c['rss_after_kib'] / 1024:.1f} MiB |")
    odd = [c for c in ws["configs"] if c["misdelivered"] or c["open_at_end"] != c["sockets"]]
    for c in odd:
        out.append(f"\n- {c['sockets']} sockets: {c['misdelivered']} messages on a socket of "
                   f"another user, {c['open_at_end']} sockets still open at the end.")
    return out


def render_logins(lg):
    probe = lg["probe"]
    out = ["", f"## Logins: `POST /api/login` with the right password, step {lg['step']}, "
               "release build", ""]
    out += conditions(lg)
    out += [f"- A fresh server and database with {lg['burst']} accounts. Argon2id with the "
            "argon2 crate's defaults, OWASP's minimum: 19 MiB, 2 passes, 1 lane; at most 4 "
            "hashes at once, on actix's blocking threads, each in a 19 MiB memory kept for "
            "the next (steps/s20/src/passwords.rs).",
            f"- One at a time: {lg['one_at_a_time']} logins in a row from one Python client "
            "(urllib, a new connection each).",
            f"- At once: {lg['burst']} client threads released together, one login each, "
            "while another connection times `GET /api/version` every 10 ms and the server's "
            "VmRSS is read every 5 ms.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| one login at a time, p50 / p99 | {lg['one_p50_ms']} / {lg['one_p99_ms']} ms |",
            f"| {lg['burst']} at once: all answered | {lg['burst_s']} s, "
            f"{lg['burst_ok']} of {lg['burst']} with 200; each p50 {lg['burst_p50_ms']} ms, "
            f"max {lg['burst_max_ms']} ms |",
            f"| `GET /api/version` meanwhile, p50 / p99 / max | {probe.get('p50_ms')} / "
            f"{probe.get('p99_ms')} / {probe.get('max_ms')} ms ({probe.get('count')} "
            f"requests, {probe.get('failures')} failures) |",
            f"| server memory before / at most / after | {lg['rss_before_kib'] / 1024:.1f} / "
            f"{lg['rss_peak_kib'] / 1024:.1f} / {lg['rss_after_kib'] / 1024:.1f} MiB |"]
    return out


def render_footprint(fp):
    n, step, pr = fp["steps"], fp["rebuild_step"], fp["projection"]
    big = max(fp["binaries_mb"].items(), key=lambda kv: kv[1]) if fp["binaries_mb"] else ("–", 0)
    deps = fp["test_after_build_deps"]
    out = ["", f"## Build footprint (debug, what a learner builds), at {n} steps", ""]
    out += conditions(fp)
    out += [f"- {n} steps (steps/*/Cargo.toml): {' '.join(fp['step_names'])}. "
            "Cold = an empty target dir under bench/target/ (not the shared target/), "
            "crates already downloaded; a learner's settings: the workspace's profiles "
            f"(incremental {fp['incremental']}), no CARGO_INCREMENTAL or RUSTFLAGS.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| cold `cargo build --workspace` | {fp['cold_build_s']} s |",
            f"| target/ after it | {fp['target_mb']:,} MB (incremental/ {fp['incremental_mb']:,} MB) |",
            f"| then `cargo test --workspace --no-run` (same target/) | "
            f"{fp['test_after_build_s']} s, {fp['test_after_build_members']} workspace crates and "
            f"{len(deps)} dependencies compiled{(': ' + ', '.join(deps)) if deps else ''} |",
            f"| target/ after both | {fp['target_after_build_and_test_mb']:,} MB |",
            f"| cold `cargo test --workspace --no-run` (the build) | {fp['cold_test_build_s']} s |",
            f"| then `cargo test --workspace` (the run) | {fp['test_run_s']} s"
            f"{'' if fp.get('test_run_ok', True) else ' (tests FAILED: cargo stopped early)'} |",
            f"| target/ after it | {fp['test_target_mb']:,} MB "
            f"(incremental/ {fp['test_incremental_mb']:,} MB) |",
            f"| largest step binary (debug) | {big[0]}: {big[1]} MB |",
            f"| `touch steps/{step}/src/main.rs`, `cargo build -p {step}` | {fp['rebuild_s']} s |",
            f"| `touch steps/{step}/src/main.rs`, `cargo test -p {step}` (build + run) | "
            f"{fp['touched_test_s']} s{'' if fp.get('touched_test_ok', True) else ' (FAILED)'} |",
            f"| `touch shared/src/lib.rs`, `cargo build --workspace` | {fp['rebuild_shared_s']} s |",
            f"| the CI run: .ci/run's commands without its installs, cold | "
            f"{fp['ci_s']} s{'' if fp['ci_ok'] else ' (a command FAILED)'}, "
            f"target/ {fp['ci_target_mb']:,} MB |",
            "",
            "The CI run, command by command (environment from .ci/run: "
            + ", ".join(f"{k}={v}" for k, v in fp["ci_env"].items()) + "):",
            "",
            "| command | s |",
            "|---|---|"]
    for c in fp["ci_steps"]:
        out.append(f"| `{c['command']}` | {c['s']}{'' if c['ok'] else ' FAILED'} |")
    ps = fp["per_step"]
    out += ["",
            f"Per step and projected to {pr['steps']} steps (linear): after `cargo clean -p` "
            f"of the {n} steps, `cargo test --workspace --no-run` rebuilt only them "
            f"({len(fp['steps_rebuild_crates'])} crates) in {fp['steps_rebuild_s']} s, "
            f"adding {fp['steps_mb']:,} MB: one step (its binary and test binaries) costs "
            f"{ps['build_s']} s and {ps['mb']} MB, and {ps['test_run_s']} s of test run "
            f"(`cargo test -p <each step>`, built: {fp['steps_test_run_s']} s, / {n}"
            f"{'' if fp.get('steps_test_run_ok', True) else '; a test FAILED: cargo stopped early, so this is too low'}). "
            f"Projection = measured + ({pr['steps']} - {n}) x per step "
            "(CI: 2 x the build per step, for the build and clippy, + the run). It "
            "assumes later steps cost what the current ones cost on average; dependencies "
            "they add (actix-ws from step 16) are not in it.",
            "",
            f"| at {pr['steps']} steps (projected) | value |",
            "|---|---|",
            f"| cold `cargo build --workspace` | {pr['cold_build_s']} s |",
            f"| cold `cargo test --workspace`: build + run | {pr['cold_test_build_s']} s + "
            f"{pr['test_run_s']} s = {pr['cold_test_s']} s |",
            f"| target/ after it | {pr['test_target_mb']:,} MB |",
            f"| the CI run | {pr['ci_s']} s |",
            "", "| step | debug binary |", "|---|---|"]
    for s, size in fp["binaries_mb"].items():
        out.append(f"| {s} | {size} MB |")
    return out


def render_footprint_options(fo):
    out = ["", f"## What else pays: build options compared on {fo['step']} "
               f"({fo['steps']} steps)", ""]
    out += conditions(fo)
    out += ["- Each option in its own empty target dir: the cold `cargo test --workspace "
            "--no-run`, then a learner's edit loop, "
            f"{fo['loops']} times (median): touch steps/{fo['step']}/src/main.rs, "
            f"`cargo build -p {fo['step']}`; touch it again, `cargo test -p {fo['step']} --no-run`. "
            "Linker: from `readelf -p .comment` on the debug binary.",
            "",
            "| option | cold test build s | target/ MB (incremental/) | touch + build s "
            "| touch + test build s | binary MB | linker |",
            "|---|---|---|---|---|---|---|"]
    for r in fo["options"]:
        out.append(f"| {r['option']}: {r['description']} | {r['cold_test_build_s']} | "
                   f"{r['target_mb']:,} ({r['incremental_mb']:,}) | {r['touch_build_s']} | "
                   f"{r['touch_test_build_s']} | {r['binary_mb']} | {r['linker']} |")
    busy = sorted({b for r in fo["options"] for b in r.get("busy", [])})
    if busy:
        out += ["", f"- Other build processes seen after some options: {' '.join(busy)}: "
                    "the times are skewed by them."]
    return out
