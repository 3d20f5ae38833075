"""The load test (--load): wrk on each endpoint of a step with the sample data."""

import tempfile
import time
from pathlib import Path

from .common import (
    LOAD_STEP, Server, build_release, context, count_rows, ended, fail, need_wrk, request,
    run_wrk, say, seed, wait_idle)

# The endpoints measured, in this order: the POSTs come last because every
# request adds a row, which would make the later GETs heavier (a POST of a
# message from user 1 grows `GET /api/messages/with/1`).
ENDPOINTS = [
    ("GET", "/api/version"),
    ("GET", "/api/users"),
    ("GET", "/api/users/1"),
    ("GET", "/front/users"),
    ("GET", "/api/messages/with/1"),
    ("POST", "/api/users"),
    ("POST", "/api/messages"),
]
# What each POST adds, for counting the rows stored: (table, wrk mode, column
# that carries wrk's tag).
POSTS = {
    "/api/users": ("users", "post", "nickname"),
    "/api/messages": ("messages", "post-message", "content"),
}

# ---------------------------------------------------------------- the load


def part_load(args, users, messages):
    need_wrk()
    step = args.step or LOAD_STEP
    binary = build_release(step)
    note = wait_idle(args.wait_idle)
    result = {"step": step, "duration_s": args.duration, **context(args, note),
              "connections": args.connections, "runs": [], "skipped": []}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        db = Path(tmp) / "chat.db"
        server = Server(binary, db)
        try:
            seeded = seed(server, users)
            result["seeded_users"] = len(users) if seeded else 0
            seeded_messages = seeded and seed(server, messages, "/api/messages")
            result["seeded_messages"] = len(messages) if seeded_messages else 0
            can_post = {"/api/users": seeded, "/api/messages": seeded_messages}
            time.sleep(1)
            result["rss_idle_kib"] = server.rss_kib()
            # A second of warm-up, not recorded.
            run_wrk(server.url + "/api/version", 10, 1)
            for method, path in ENDPOINTS:
                if method == "GET":
                    status, _ = request(server.url + path)
                    if status != 200:
                        result["skipped"].append(f"{method} {path} (answers {status})")
                        continue
                elif not can_post[path]:
                    result["skipped"].append(f"{method} {path} (no such route)")
                    continue
                for c in args.connections:
                    say(f"{method} {path} with {c} connections, {args.duration} s")
                    run = {"method": method, "path": path, "connections": c}
                    if method == "POST":
                        table, mode, column = POSTS[path]
                        tag = f"c{c}"
                        before = count_rows(db, table=table)
                        r = run_wrk(server.url + path, c, args.duration, mode, tag)
                        time.sleep(0.5)  # requests in flight when wrk stopped
                        stored = count_rows(db, table=table) - before
                        tagged = count_rows(db, f"WHERE {column} LIKE ?", (f"bench-{tag}-%",),
                                            table=table)
                        answered = r["requests"] - r["http_errors"]
                        r["stored"] = stored
                        r["answered_2xx"] = answered
                        # wrk stops counting at the deadline; up to one request
                        # per connection may be stored without being counted.
                        r["nothing_lost"] = (stored == tagged and
                                             answered <= stored <= answered + c)
                    else:
                        r = run_wrk(server.url + path, c, args.duration)
                    run.update(r)
                    if not server.alive():
                        fail(f"{step} died during {method} {path}")
                    result["runs"].append(run)
            result["rss_after_kib"] = server.rss_kib()
            result["rss_peak_kib"] = server.rss_kib("VmHWM")
            result["rows_after"] = count_rows(db)
            if seeded_messages:
                result["messages_after"] = count_rows(db, table="messages")
        finally:
            server.stop()
    return ended(result)
