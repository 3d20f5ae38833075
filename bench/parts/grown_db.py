"""The grown database (--grown-db): the messages API on 100 users and 100,000
messages, with and without the indexes, and s21's pages of the same data."""

import datetime
import json
import random
import sqlite3
import tempfile
import time
import urllib.request
import urllib.error
from pathlib import Path

from .common import (
    LOAD_STEP, MESSAGE_INDEXES, PAGE_CONNECTIONS, PAGING_STEP, Server, build_release,
    context, count_rows, ended, fail, has_message_indexes, has_paging, need_wrk, request,
    run_wrk, sample_passwords, say, wait_idle)

# ------------------------------------------------------ the grown database


GROWN_USERS = 100
GROWN_MESSAGES = 100_000
RARE_MESSAGES = 10        # the rare user's whole conversation
GROWN_CONNECTIONS = 100
GROWN_SEED = 2026         # the random draws are the same at every run


def fill_grown(db, users, messages):
    """Fills a database whose schema the step created (and nothing else) with
    GROWN_USERS users and GROWN_MESSAGES messages, in one transaction:

    - users 1-3 are the sample users, then `Grown User 4` ... `100`;
    - the 7 sample messages first (ids 1-7), then messages between two
      different users drawn uniformly among users 1 to 99 (each of them is in
      about 2,000 conversations' rows), and RARE_MESSAGES messages of the last
      user (100) with a random partner: the rare user;
    - one message a minute from 2026-01-01, so the dates grow with the ids.

    Returns {"typical": user 1's row count, "rare": user 100's}."""
    rng = random.Random(GROWN_SEED)
    last = GROWN_USERS
    rows_users = [(i + 1, u["name"], u["email"], u["nickname"]) for i, u in enumerate(users)]
    rows_users += [(i, f"Grown User {i}", f"user{i}@bench.invalid", f"user{i}")
                   for i in range(len(users) + 1, last + 1)]
    pairs = [(m["author_id"], m["recipient_id"], m["content"]) for m in messages]
    bulk = GROWN_MESSAGES - len(pairs) - RARE_MESSAGES
    for i in range(bulk):
        author = rng.randint(1, last - 1)
        recipient = rng.randint(1, last - 2)
        recipient += recipient >= author  # any other user of 1..99
        pairs.append((author, recipient, f"grown message {i}"))
    for i in range(RARE_MESSAGES):
        partner = rng.randint(1, last - 1)
        pairs.insert(rng.randint(len(messages), len(pairs)),
                     (last, partner, f"rare message {i}") if i % 2 == 0
                     else (partner, last, f"rare message {i}"))
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    rows_messages = [
        (n + 1, content, author, recipient,
         (start + datetime.timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        for n, (author, recipient, content) in enumerate(pairs)]
    with sqlite3.connect(db, timeout=10) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(users)")]
        if "password_hash" in columns:
            # A step with accounts (s20 on): the sample users signed up through
            # its API before (their real hashes); the others cannot log in.
            conn.executemany("INSERT OR IGNORE INTO users (id, name, email, nickname, "
                             "password_hash) VALUES (?, ?, ?, ?, '!')", rows_users)
        else:
            conn.executemany("INSERT INTO users (id, name, email, nickname) "
                             "VALUES (?, ?, ?, ?)", rows_users)
        conn.executemany("INSERT INTO messages (id, content, author_id, recipient_id, date) "
                         "VALUES (?, ?, ?, ?, ?)", rows_messages)
    conn.close()
    return {"typical": conversation_size(db, 1), "rare": conversation_size(db, last)}


def conversation_size(db, user_id):
    return count_rows(db, "WHERE author_id = ?1 OR recipient_id = ?1", (user_id,),
                      table="messages")


def conversation_plan(db):
    """SQLite's plan for the step's conversation query (as in s11-s19)."""
    query = ("SELECT m.id FROM messages AS m JOIN users AS a ON a.id = m.author_id "
             "JOIN users AS r ON r.id = m.recipient_id "
             "WHERE m.author_id = ?1 OR m.recipient_id = ?1 ORDER BY m.id")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + query, (1,)).fetchall()
    conn.close()
    return "; ".join(r[-1] for r in rows)


def part_grown_db(args, users, messages):
    """GET /api/messages/with/<id> on 100 users and 100,000 messages, at 100
    connections, with the step's two indexes and then without them."""
    need_wrk()
    step = args.step or LOAD_STEP
    if not has_message_indexes(step):
        fail(f"{step} does not create the indexes {', '.join(MESSAGE_INDEXES)}: "
             "the grown database needs a step from s10 on (--step)")
    binary = build_release(step)
    # Its pages (s21) are measured on the same grown data in the same run.
    paging_binary = build_release(PAGING_STEP) if has_paging(PAGING_STEP) else None
    note = wait_idle(args.wait_idle)
    result = {"step": step, "duration_s": args.duration, **context(args, note),
              "connections": GROWN_CONNECTIONS, "users": GROWN_USERS,
              "messages": GROWN_MESSAGES, "runs": [], "plans": {}}
    targets = [("typical", 1), ("rare", GROWN_USERS)]
    with tempfile.TemporaryDirectory(prefix="bench-grown-") as tmp:
        db = Path(tmp) / "chat.db"
        # The step creates its tables and indexes at start: once on the empty
        # file, stopped, then filled here while no server runs.
        Server(binary, db).stop()
        say(f"filling {db.name}: {GROWN_USERS} users, {GROWN_MESSAGES:,} messages")
        started = time.monotonic()
        sizes = fill_grown(db, users, messages)
        result["fill_s"] = round(time.monotonic() - started, 1)
        result["conversation_rows"] = {f"{kind} (user {uid})": sizes[kind]
                                       for kind, uid in targets}
        result["db_mb"] = round(sum(f.stat().st_size for f in Path(tmp).glob("chat.db*"))
                                / 1e6, 1)
        server = Server(binary, db)
        try:
            for index in (True, False):
                if not index:
                    # The step re-creates its indexes at each start, so they are
                    # dropped while it runs, through a connection of our own;
                    # SQLite notices the new schema and prepares the step's
                    # query again (it prepares it at each request anyway).
                    with sqlite3.connect(db, timeout=10) as conn:
                        for name in MESSAGE_INDEXES:
                            conn.execute(f"DROP INDEX {name}")
                    conn.close()
                plan = conversation_plan(db)
                result["plans"]["with index" if index else "without index"] = plan
                say(f"{'with' if index else 'without'} the indexes: plan {plan}")
                for kind, uid in targets:
                    path = f"/api/messages/with/{uid}"
                    status, body = request(server.url + path, timeout=30)
                    if status != 200:
                        fail(f"{step}: GET {path} answered {status}: {body[:200]}")
                    answered = len(json.loads(body))
                    run_wrk(server.url + path, 10, 1)  # warm-up, not recorded
                    say(f"GET {path} ({kind}, {answered:,} messages), "
                        f"{'with' if index else 'without'} the indexes, "
                        f"{GROWN_CONNECTIONS} connections, {args.duration} s")
                    r = run_wrk(server.url + path, GROWN_CONNECTIONS, args.duration)
                    if not server.alive():
                        fail(f"{step} died during GET {path}")
                    r.update({"user": kind, "user_id": uid, "index": index,
                              "path": path, "answered_messages": answered,
                              "bytes_per_answer": round(len(body.encode()))})
                    result["runs"].append(r)
            result["rss_after_kib"] = server.rss_kib()
            result["rss_peak_kib"] = server.rss_kib("VmHWM")
        finally:
            server.stop()
    if paging_binary:
        result["pages"] = grown_pages(paging_binary, args, users, messages)
    return ended(result)


def log_in(server, nickname, password):
    """Logs in through the step's API; answers the session cookie, `session=...`."""
    req = urllib.request.Request(
        server.url + "/api/login", method="POST",
        data=json.dumps({"nickname": nickname, "password": password}).encode(),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.headers.get("Set-Cookie", "").split(";")[0]
    except urllib.error.HTTPError as e:
        fail(f"POST /api/login as {nickname} answered {e.code}: {e.read()[:200]!r}")


def get_page(url, cookie):
    """(body, Link header) of a GET that must answer 200."""
    req = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.read().decode(), reply.headers.get("Link")
    except urllib.error.HTTPError as e:
        fail(f"GET {url} answered {e.code}: {e.read()[:200]!r}")


# The inner query of s21's `select_page`: the ids of a page, newest first.
PAGE_IDS_QUERY = ("SELECT id FROM messages WHERE author_id = ?1 AND id < ?2 UNION ALL "
                  "SELECT id FROM messages WHERE recipient_id = ?1 AND author_id <> ?1 "
                  "AND id < ?2 ORDER BY id DESC LIMIT ?3")


def grown_pages(binary, args, users, messages):
    """PAGING_STEP's pages of 50 of the typical user's conversation (user 1),
    on the same grown data as the whole conversation above (fill_grown, same
    seed) in a database of that step's schema: the newest page and the oldest
    (the deepest `before`), at PAGE_CONNECTIONS, logged in as user 1 (wrk
    sends the session cookie). The sample users sign up through the step's
    API first, so that their passwords have real hashes."""
    result = {"step": PAGING_STEP, "runs": []}
    passwords = sample_passwords()
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        db = Path(tmp) / "chat.db"
        server = Server(binary, db)
        try:
            for user, password in zip(users, passwords):
                status, body = request(server.url + "/api/users", "POST",
                                       {**user, "password": password}, timeout=30)
                if status != 201:
                    fail(f"{PAGING_STEP}: POST /api/users answered {status}: {body[:200]}")
        finally:
            server.stop()
        say(f"filling {PAGING_STEP}'s {db.name} with the same grown data")
        result["conversation_rows"] = fill_grown(db, users, messages)["typical"]
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            oldest = [row[0] for row in conn.execute(
                "SELECT id FROM messages WHERE author_id = 1 OR recipient_id = 1 "
                "ORDER BY id LIMIT 51")]
            result["plan"] = "; ".join(row[-1] for row in conn.execute(
                "EXPLAIN QUERY PLAN " + PAGE_IDS_QUERY, (1, oldest[-1], 51)))
        conn.close()
        say(f"{PAGING_STEP}: plan of a page {result['plan']}")
        server = Server(binary, db)
        try:
            cookie = log_in(server, users[0]["nickname"], passwords[0])
            pages = [("newest", "/api/messages/with/1"),
                     ("oldest", f"/api/messages/with/1?before={oldest[-1]}")]
            answers = {}
            for kind, path in pages:
                body, link = get_page(server.url + path, cookie)
                answered = json.loads(body)
                if len(answered) != 50 or (link is None) != (kind == "oldest"):
                    fail(f"{PAGING_STEP}: GET {path}: {len(answered)} messages, Link {link!r}")
                answers[kind] = (body, answered)
                run_wrk(server.url + path, 10, 2, headers=[f"Cookie: {cookie}"])  # warm-up
            # The two pages in turn at each load, so that whatever drifts
            # during the run weighs on both alike: measured one after the
            # other, the first page's run at 10 connections came out 40 %
            # slower than the second's, though SQLite takes the same 75 us
            # for either page.
            for connections in PAGE_CONNECTIONS:
                for kind, path in pages:
                    body, answered = answers[kind]
                    say(f"{PAGING_STEP}: GET {path} ({kind} page of 50), {connections} "
                        f"connections, {args.duration} s")
                    r = run_wrk(server.url + path, connections, args.duration,
                                headers=[f"Cookie: {cookie}"])
                    if not server.alive():
                        fail(f"{PAGING_STEP} died during GET {path}")
                    r.update({"page": kind, "path": path, "connections": connections,
                              "answered_messages": len(answered),
                              "bytes_per_answer": len(body.encode())})
                    result["runs"].append(r)
            result["rss_peak_kib"] = server.rss_kib("VmHWM")
        finally:
            server.stop()
    return result
