"""--postgres: s22 (PostgreSQL) against s21 (SQLite) on the grown data."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .common import (
    PAGE_CONNECTIONS, PAGING_STEP, POSTGRES_STEP, ROOT, Server, build_release, context,
    ended, fail, need_wrk, pin, request, run_wrk, sample_passwords, say, wait_idle)
from .grown_db import GROWN_MESSAGES, GROWN_USERS, fill_grown, get_page, log_in

# ------------------------------------------------------------ PostgreSQL


def free_ports(count):
    """`count` ports on 127.0.0.1 that nothing listens on right now."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_services(folder, instances=()):
    """A private PostgreSQL, Redis and nginx (`scripts/services up`) in
    `folder`, on free ports, nginx in front of the ports `instances` (those of
    `up` when none are given); answers the output of `up`."""
    extra = ["--instances", ",".join(map(str, instances))] if instances else []
    out = subprocess.run(["cargo", "run", "--quiet", "-p", "xtask", "--", "services", "up",
                          "--dir", str(folder), "--ports", ",".join(map(str, free_ports(3))),
                          *extra], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0 or "DATABASE_URL=" not in out.stdout:
        fail(f"scripts/services up did not start its servers:\n{out.stdout}{out.stderr}")
    return out.stdout


def database_url_of(services_output):
    return re.search(r"DATABASE_URL=(\S+)", services_output).group(1)


def stop_services(folder, url):
    """Stops them; removes PostgreSQL's data, which `down` keeps: as root it
    is not in `folder` but in /var/tmp (docs/services.md)."""
    subprocess.run(["cargo", "run", "--quiet", "-p", "xtask", "--", "services", "down",
                    "--dir", str(folder)], cwd=ROOT, capture_output=True)
    port = re.search(r":(\d+)/", url).group(1)
    shutil.rmtree(f"/var/tmp/chat-tutorial-postgres-{port}", ignore_errors=True)


def postgres_program(name):
    """One of PostgreSQL's programs (psql, pgbench), from the newest version
    Debian installed, as shared/src/services.rs finds them."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return str(found[-1]) if found else shutil.which(name) or fail(f"no {name} installed")


def psql(url, *commands):
    """Runs SQL commands through psql, one transaction each; their output."""
    out = subprocess.run([postgres_program("psql"), url, "-At", "-v", "ON_ERROR_STOP=1",
                          *(a for c in commands for a in ("-c", c))],
                         capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"psql: {out.stderr.strip()}")
    return out.stdout


# s22's query of a page (select_page in steps/s22/src/paging.rs), for user 1's
# newest page: what PostgreSQL does for each GET of the page.
PAGE_QUERY = """SELECT m.id, m.content, m.date, a.id, a.name, a.email, a.nickname,
    r.id, r.name, r.email, r.nickname
FROM messages AS m JOIN users AS a ON a.id = m.author_id
JOIN users AS r ON r.id = m.recipient_id
WHERE m.id IN ((SELECT id FROM messages WHERE author_id = 1 AND id < 9223372036854775807
                ORDER BY id DESC LIMIT 51)
               UNION ALL
               (SELECT id FROM messages WHERE recipient_id = 1 AND author_id <> 1
                AND id < 9223372036854775807 ORDER BY id DESC LIMIT 51)
               ORDER BY id DESC LIMIT 51)
ORDER BY m.id;
"""


def round_trips(url, tmp, seconds=3):
    """PostgreSQL's answer time on loopback, one client, with pgbench (libpq,
    prepared statements, as tokio-postgres's cached ones): `SELECT 1` (the
    round trip itself) and the page's query; microseconds each."""
    times = {}
    for name, sql in [("select_1", "SELECT 1;\n"), ("page_query", PAGE_QUERY)]:
        script = Path(tmp) / f"{name}.sql"
        script.write_text(sql)
        out = subprocess.run([postgres_program("pgbench"), "-n", "-M", "prepared", "-c", "1",
                              "-T", str(seconds), "-f", str(script), url],
                             capture_output=True, text=True)
        m = re.search(r"latency average = ([\d.]+) ms", out.stdout)
        if out.returncode != 0 or not m:
            fail(f"pgbench: {out.stdout}{out.stderr}")
        times[name + "_us"] = round(float(m.group(1)) * 1000, 1)
    return times


def postgres_log(folder, since):
    """PostgreSQL's checkpoints and autovacuums of the database `chat` logged
    after `since` (its log's time format), one line each."""
    log = Path(folder) / "postgres.log"
    found = []
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        m = re.match(r"(\S+ \S+) UTC \[\d+\] LOG:  (checkpoint starting.*|automatic "
                     r"(?:aggressive )?(?:vacuum|analyze) of table \"chat\..*)", line)
        if m and m.group(1) >= since:
            found.append(f"{m.group(1)}: {m.group(2)}")
    return found


def part_postgres(args, users, messages):
    """POSTGRES_STEP (PostgreSQL) against PAGING_STEP (SQLite) on the same grown
    data (fill_grown, in PAGING_STEP's file, then `--import`ed): the newest page
    of 50 of user 1's conversation, then POST /api/messages from user 1 to
    user 2, at PAGE_CONNECTIONS, logged in as user 1. After the import,
    PostgreSQL is vacuumed, analyzed and checkpointed, so that neither its
    autovacuum of the 100,000 new rows nor a checkpoint of them falls in a run.
    Both steps run at once, both warmed up, and are measured in turn at each
    load, so that whatever drifts on the machine weighs on both alike."""
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
        url = database_url_of(start_services(services))
        servers = {}
        try:
            say(f"{POSTGRES_STEP} --import {db.name}")
            imported = subprocess.run([str(postgres_binary), "--database-url", url,
                                       "--import", str(db)], capture_output=True, text=True)
            if imported.returncode != 0:
                fail(f"{POSTGRES_STEP} --import: {imported.stderr.strip()}")
            result["import"] = imported.stdout.strip()
            psql(url, "ALTER SYSTEM SET log_autovacuum_min_duration = 0",
                 "SELECT pg_reload_conf()", "VACUUM (ANALYZE)", "CHECKPOINT")
            result["round_trips"] = round_trips(url, tmp)
            say(f"PostgreSQL on loopback, one client: SELECT 1 "
                f"{result['round_trips']['select_1_us']} us, the page's query "
                f"{result['round_trips']['page_query_us']} us")
            page = "/api/messages/with/1"
            cookies = {}
            for step, binary, database_url in [(PAGING_STEP, sqlite_binary, None),
                                               (POSTGRES_STEP, postgres_binary, url)]:
                servers[step] = server = Server(binary, db, database_url=database_url)
                cookies[step] = f"Cookie: {log_in(server, users[0]['nickname'], passwords[0])}"
                body, _ = get_page(server.url + page, cookies[step].split(": ", 1)[1])
                if len(json.loads(body)) != 50:
                    fail(f"{step}: GET {page} did not answer 50 messages")
                run_wrk(server.url + page, 10, 2, headers=[cookies[step]])  # warm-up
            postmaster = int((services / "postgres.pid").read_text())
            since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            for connections in PAGE_CONNECTIONS:
                for method, path, mode in [("GET", page, "get"),
                                           ("POST", "/api/messages", "post-as-logged-in")]:
                    for step, server in servers.items():
                        say(f"{step}: {method} {path}, {connections} connections, "
                            f"{args.duration} s")
                        r = run_wrk(server.url + path, connections, args.duration, mode,
                                    f"{step}-c{connections}", headers=[cookies[step]],
                                    ours=[s.proc.pid for s in servers.values()] + [postmaster])
                        if not server.alive():
                            fail(f"{step} died during {method} {path}")
                        r.update({"step": step, "method": method, "path": path,
                                  "connections": connections})
                        result["runs"].append(r)
            # Last, s22's page again with PostgreSQL on a core of its own, the
            # step and wrk on the other: sharing both cores, a backend was
            # seen to wait up to a second for one (bench/README.md).
            if len(os.sched_getaffinity(0)) >= 2:
                first, second = sorted(os.sched_getaffinity(0))[:2]
                server = servers[POSTGRES_STEP]
                pin([postmaster], {first})
                pin([server.proc.pid], {second})
                say(f"{POSTGRES_STEP}: GET {page}, 10 connections, PostgreSQL on CPU {first}, "
                    f"the step and wrk on CPU {second}")
                r = run_wrk(server.url + page, 10, args.duration, "get", "pinned",
                            headers=[cookies[POSTGRES_STEP]], cpus={second},
                            ours=[s.proc.pid for s in servers.values()] + [postmaster])
                r.update({"step": POSTGRES_STEP, "method": "GET", "path": page,
                          "connections": 10, "cpus": {"postgres": first, "step and wrk": second}})
                result["pinned"] = r
            result["postgres_log"] = postgres_log(services, since)
            for step, server in servers.items():
                result["rss_peak_kib"][step] = server.rss_kib("VmHWM")
        finally:
            for server in servers.values():
                server.stop()
            stop_services(services, url)
    return ended(result)
