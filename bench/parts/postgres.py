"""--postgres: s22 (PostgreSQL) against s21 (SQLite) on the grown data."""

import json
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from .common import (
    PAGE_CONNECTIONS, PAGING_STEP, POSTGRES_STEP, ROOT, Server, build_release, context,
    ended, fail, need_wrk, request, run_wrk, sample_passwords, say, wait_idle)
from .grown_db import GROWN_MESSAGES, GROWN_USERS, fill_grown, get_page, log_in

# ------------------------------------------------------------ PostgreSQL


def start_services(folder):
    """A private PostgreSQL (and the Redis and nginx `scripts/services up`
    starts with it) in `folder`, on free ports; answers its DATABASE_URL."""
    ports = []
    for _ in range(3):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    out = subprocess.run(["cargo", "run", "--quiet", "-p", "xtask", "--", "services", "up",
                          "--dir", str(folder), "--ports", ",".join(map(str, ports))],
                         cwd=ROOT, capture_output=True, text=True)
    m = re.search(r"DATABASE_URL=(\S+)", out.stdout)
    if out.returncode != 0 or not m:
        fail(f"scripts/services up did not start PostgreSQL:\n{out.stdout}{out.stderr}")
    return m.group(1)


def stop_services(folder, url):
    """Stops them; removes PostgreSQL's data, which `down` keeps: as root it
    is not in `folder` but in /var/tmp (docs/services.md)."""
    subprocess.run(["cargo", "run", "--quiet", "-p", "xtask", "--", "services", "down",
                    "--dir", str(folder)], cwd=ROOT, capture_output=True)
    port = re.search(r":(\d+)/", url).group(1)
    shutil.rmtree(f"/var/tmp/chat-tutorial-postgres-{port}", ignore_errors=True)


def part_postgres(args, users, messages):
    """POSTGRES_STEP (PostgreSQL) against PAGING_STEP (SQLite) on the same grown
    data (fill_grown, in PAGING_STEP's file, then `--import`ed): the newest page
    of 50 of user 1's conversation, then POST /api/messages from user 1 to
    user 2, at PAGE_CONNECTIONS, logged in as user 1. The SQLite step runs
    first; its POSTs come after the import, so both start from the same rows."""
    need_wrk()
    sqlite_binary = build_release(PAGING_STEP)
    postgres_binary = build_release(POSTGRES_STEP)
    note = wait_idle(args.wait_idle)
    result = {"steps": [PAGING_STEP, POSTGRES_STEP], "duration_s": args.duration,
              **context(args, note), "users": GROWN_USERS, "messages": GROWN_MESSAGES,
              "runs": [], "rss_peak_kib": {}}
    passwords = sample_passwords()
    with tempfile.TemporaryDirectory(prefix="bench-postgres-") as tmp:
        db = Path(tmp) / "chat.db"
        server = Server(sqlite_binary, db)
        try:
            for user, password in zip(users, passwords):
                status, body = request(server.url + "/api/users", "POST",
                                       {**user, "password": password}, timeout=30)
                if status != 201:
                    fail(f"{PAGING_STEP}: POST /api/users answered {status}: {body[:200]}")
        finally:
            server.stop()
        say(f"filling {PAGING_STEP}'s {db.name} with the grown data")
        fill_grown(db, users, messages)
        services = Path(tmp) / "services"
        url = start_services(services)
        try:
            say(f"{POSTGRES_STEP} --import {db.name}")
            imported = subprocess.run([str(postgres_binary), "--database-url", url,
                                       "--import", str(db)], capture_output=True, text=True)
            if imported.returncode != 0:
                fail(f"{POSTGRES_STEP} --import: {imported.stderr.strip()}")
            result["import"] = imported.stdout.strip()
            for step, binary, database_url in [(PAGING_STEP, sqlite_binary, None),
                                               (POSTGRES_STEP, postgres_binary, url)]:
                server = Server(binary, db, database_url=database_url)
                try:
                    cookie = log_in(server, users[0]["nickname"], passwords[0])
                    page = "/api/messages/with/1"
                    body, _ = get_page(server.url + page, cookie)
                    if len(json.loads(body)) != 50:
                        fail(f"{step}: GET {page} did not answer 50 messages")
                    run_wrk(server.url + page, 10, 2, headers=[f"Cookie: {cookie}"])  # warm-up
                    for connections in PAGE_CONNECTIONS:
                        for method, path, mode in [("GET", page, "get"),
                                                   ("POST", "/api/messages", "post-as-logged-in")]:
                            say(f"{step}: {method} {path}, {connections} connections, "
                                f"{args.duration} s")
                            r = run_wrk(server.url + path, connections, args.duration, mode,
                                        f"{step}-c{connections}", headers=[f"Cookie: {cookie}"])
                            if not server.alive():
                                fail(f"{step} died during {method} {path}")
                            r.update({"step": step, "method": method, "path": path,
                                      "connections": connections})
                            result["runs"].append(r)
                    result["rss_peak_kib"][step] = server.rss_kib("VmHWM")
                finally:
                    server.stop()
        finally:
            stop_services(services, url)
    return ended(result)
