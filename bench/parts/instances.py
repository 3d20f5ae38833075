"""--instances: step 23, three instances behind nginx that hand each other
the messages through Redis, against one instance of step 22."""

import json
import os
import re
import tempfile
import time
from pathlib import Path

from .common import (
    INSTANCES_STEP, POSTGRES_STEP, ROOT, Server, build_release, context, cpu_ticks, ended, fail,
    need_wrk, pick, request, run_wrk, say, step_names, wait_idle)
from .grown_db import log_in
from .postgres import database_url_of, psql, start_services, stop_services, free_ports
from .websocket import WS_DELIVERY_TIMEOUT, WS_PER_USER, WS_WARMUP_POSTS, Poster, raise_fd_limit

try:
    import wsclient
except Exception:  # said by --dry-run and by --websocket
    wsclient = None

INSTANCES = 3
INSTANCE_SOCKETS = 1000   # spread over the instances, WS_PER_USER per listening user
INSTANCE_POSTS = 200      # timed, one at a time, through the first instance
NGINX_SOCKETS = 2 * INSTANCE_SOCKETS + 100  # tried through nginx, one after the other
HZ = os.sysconf("SC_CLK_TCK")  # /proc's CPU times are in these ticks


def password(n):
    return f"bench-password-{n}"


def sign_up(server, count):
    """`count` users through the API (user 1 the author, the others the
    listeners); their nicknames."""
    nicknames = []
    for n in range(1, count + 1):
        account = {"name": f"Bench {n}", "email": f"bench{n}@bench.invalid",
                   "nickname": f"bench{n}", "password": password(n)}
        status, body = request(server.url + "/api/users", "POST", account, timeout=30)
        if status != 201:
            fail(f"POST /api/users answered {status}: {body[:200]}")
        nicknames.append(account["nickname"])
    return nicknames


def delivery(instances, cookies, posts):
    """POST /api/messages through the first instance (A), from user 1, who has
    no socket, to each listener in turn; the time until the message is on
    each of the recipient's sockets, on A and on the others (B, C), where it
    came through Redis. The listeners' sockets are spread over the instances,
    socket j of a listener on instance j % INSTANCES: each has WS_PER_USER
    sockets among INSTANCE_SOCKETS, on all three."""
    listeners = sorted(cookies)[1:]  # user ids; user 1 writes
    group = wsclient.Group()
    poster = None
    out = {"sockets": INSTANCE_SOCKETS, "listeners": len(listeners),
           "per_recipient": WS_PER_USER, "posts": posts}
    try:
        rss_before = [server.rss_kib() for server in instances]
        sockets = {uid: [] for uid in listeners}  # (ws, instance index)
        started = time.monotonic()
        for n in range(INSTANCE_SOCKETS):
            uid, j = listeners[n % len(listeners)], n // len(listeners)
            server = instances[j % INSTANCES]
            ws = group.connect(server.host, server.port, "/ws",
                               headers={"Cookie": cookies[uid]})
            sockets[uid].append((ws, j % INSTANCES))
        out["connect_s"] = round(time.monotonic() - started, 2)
        until = time.monotonic() + 1.5  # idle, pings answered
        while time.monotonic() < until:
            group.poll(0.1)
        out["kib_per_socket"] = [
            round((server.rss_kib() - before) / (INSTANCE_SOCKETS / INSTANCES), 2)
            for server, before in zip(instances, rss_before)]
        poster = Poster(instances[0], {"Cookie": cookies[1]})
        same, other, answers, lost, statuses = [], [], [], 0, {}
        for n in range(WS_WARMUP_POSTS + posts):
            recipient = listeners[n % len(listeners)]
            content = f"instances-{n}"
            waiting = {ws: where for ws, where in sockets[recipient]}
            arrivals = {0: [], 1: []}  # on A, on the others
            sent_at = poster.send({"recipient_id": recipient, "content": content})
            deadline = time.monotonic() + WS_DELIVERY_TIMEOUT
            while (waiting or poster.answer is None) and time.monotonic() < deadline:
                for ws, text, at in group.poll(0.2):
                    event = json.loads(text)
                    if (event.get("event") == "message" and ws in waiting
                            and event["data"]["content"] == content):
                        arrivals[waiting.pop(ws) > 0].append((at - sent_at) * 1000)
            if n < WS_WARMUP_POSTS:
                continue
            status = poster.answer[0] if poster.answer else None
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status == 201:
                answers.append((poster.answer[2] - sent_at) * 1000)
            lost += len(waiting)
            if not waiting:
                same.append(max(arrivals[0]))
                other.append(max(arrivals[1]))
        out.update({
            "statuses": statuses, "lost": lost,
            "same_last_p50_ms": pick(same, 0.50), "same_last_p99_ms": pick(same, 0.99),
            "other_last_p50_ms": pick(other, 0.50), "other_last_p99_ms": pick(other, 0.99),
            "other_last_max_ms": round(max(other), 3) if other else None,
            "post_p50_ms": pick(answers, 0.50), "post_p99_ms": pick(answers, 0.99),
            "open_at_end": len(group.sockets),
        })
    finally:
        if poster:
            poster.close()
        group.close_all()
    return out


def through_nginx(nginx, cookie, wanted):
    """How many WebSockets nginx carries at once: opened through it, one
    after the other, until one is refused or `wanted` are open."""
    host, port = nginx.split("//")[1].split(":")
    group = wsclient.Group()
    try:
        for n in range(wanted):
            try:
                group.connect(host, int(port), "/ws", timeout=3, headers={"Cookie": cookie})
            except Exception as e:
                return n, f"{type(e).__name__}: {e}"[:200]
            group.poll(0)
        return wanted, None
    finally:
        group.close_all()


def stored(url, tag):
    """Messages whose content wrk tagged `tag` (bench.lua: bench-<tag>-...)."""
    return int(psql(url, f"SELECT count(*) FROM messages WHERE content LIKE 'bench-{tag}-%'"))


def services_take_instances():
    return '"--instances"' in (ROOT / "xtask" / "src" / "services.rs").read_text()


def instances_problems():
    """What --instances needs and --dry-run can check: the step, with its Redis
    client, and `scripts/services up --instances` (nginx in front of ports of
    the bench's choosing, not the class's 5011-5013)."""
    problems = []
    if INSTANCES_STEP not in step_names():
        problems.append(f"no step {INSTANCES_STEP} (--instances)")
    elif "redis" not in (ROOT / "steps" / INSTANCES_STEP / "Cargo.toml").read_text():
        problems.append(f"{INSTANCES_STEP} has no Redis client (--instances)")
    if not problems and not services_take_instances():
        say("instances: NOT READY: scripts/services up takes no --instances yet (nginx in "
            "front of instances on ports of the bench's own): --instances would stop")
    elif not problems:
        say(f"instances: {INSTANCES} of {INSTANCES_STEP} behind nginx "
            "(scripts/services up --instances), "
            f"{INSTANCE_SOCKETS} sockets, {INSTANCE_POSTS} POSTs; against one {POSTGRES_STEP}")
    return problems


def part_instances(args, users):
    """Step 23 as three instances behind nginx, with one PostgreSQL and one
    Redis: a message POSTed through one instance to the sockets on the others
    (delivery), then messages per second through nginx against one instance
    of step 22 and one of step 23, at --connections."""
    need_wrk()
    problems = instances_problems()
    if problems or not services_take_instances():
        fail("; ".join(problems) or "scripts/services up takes no --instances yet: nginx "
             "cannot be put in front of the bench's own instances")
    if wsclient is None:
        fail("bench/wsclient.py does not import: python3 -m pip install websockets")
    raise_fd_limit(NGINX_SOCKETS + 200)
    single_binary = build_release(POSTGRES_STEP)
    binary = build_release(INSTANCES_STEP)
    note = wait_idle(args.wait_idle)
    result = {"step": INSTANCES_STEP, "single_step": POSTGRES_STEP, "instances": INSTANCES,
              "duration_s": args.duration, **context(args, note), "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-instances-") as tmp:
        services = Path(tmp) / "services"
        ports = free_ports(INSTANCES)
        up = start_services(services, instances=ports)
        url = database_url_of(up)
        redis_url = re.search(r"REDIS_URL=(\S+)", up).group(1)
        nginx = re.search(r"(http://127\.0\.0\.1:\d+)\s+\(nginx\)", up).group(1)
        single_url = url.rsplit("/", 1)[0] + "/single"
        psql(url, "CREATE DATABASE single")
        servers = []
        try:
            # The first instance creates the tables, then the others start.
            for port in ports:
                servers.append(Server(binary, None, database_url=url, redis_url=redis_url,
                                      port=port))
            instances = list(servers)
            single = Server(single_binary, None, database_url=single_url)
            servers.append(single)
            say(f"{INSTANCES} instances of {INSTANCES_STEP} on {ports}, nginx {nginx}; "
                f"{POSTGRES_STEP} on {single.port}")
            count = INSTANCE_SOCKETS // WS_PER_USER + 1
            nicknames = sign_up(instances[0], count)
            sign_up(single, 2)  # the author and the recipient of wrk's POSTs
            cookies = {n + 1: log_in(instances[n % INSTANCES], nick, password(n + 1))
                       for n, nick in enumerate(nicknames)}
            say(f"delivery: {INSTANCE_SOCKETS} sockets over {INSTANCES} instances, "
                f"{INSTANCE_POSTS} POSTs through the first")
            result["delivery"] = delivery(instances, cookies, INSTANCE_POSTS)
            d = result["delivery"]
            say(f"  on the other instances: last p50/p99 {d['other_last_p50_ms']} / "
                f"{d['other_last_p99_ms']} ms; on the first {d['same_last_p50_ms']} / "
                f"{d['same_last_p99_ms']} ms; lost {d['lost']}")
            wanted = NGINX_SOCKETS
            carried, refusal = through_nginx(nginx, cookies[2], wanted)
            result["nginx_sockets"] = {"wanted": wanted, "open": carried, "refusal": refusal}
            say(f"nginx: {carried} of {wanted} WebSockets open through it"
                + (f" ({refusal})" if refusal else ""))
            # The session cookie of user 1 holds on every instance (the key is
            # in the database they share); step 22's own.
            single_cookie = log_in(single, nicknames[0], password(1))
            targets = [(f"{POSTGRES_STEP}, one instance", single.url, single_cookie, single_url),
                       (f"{INSTANCES_STEP}, one instance", instances[0].url, cookies[1], url),
                       (f"{INSTANCES_STEP}, {INSTANCES} behind nginx", nginx, cookies[1], url)]
            for target, base, cookie, database in targets:
                run_wrk(base + "/api/messages", 10, 2, "post-as-logged-in", "warm",
                        headers=[f"Cookie: {cookie}"])
            # Each instance apart: B and C only relay when wrk posts to A.
            groups = {**{f"{INSTANCES_STEP} {'ABC'[n]}": [s.proc.pid]
                         for n, s in enumerate(instances)},
                      POSTGRES_STEP: [single.proc.pid],
                      **{name: [int((services / f"{name}.pid").read_text())]
                         for name in ("postgres", "redis", "nginx")}}
            pids = [pid for group in groups.values() for pid in group]
            for connections in args.connections:
                for n, (target, base, cookie, database) in enumerate(targets):
                    tag = f"i{n}c{connections}"
                    say(f"{target}: POST /api/messages, {connections} connections, "
                        f"{args.duration} s")
                    before = {name: cpu_ticks(group)[1] for name, group in groups.items()}
                    r = run_wrk(base + "/api/messages", connections, args.duration,
                                "post-as-logged-in", tag, headers=[f"Cookie: {cookie}"],
                                ours=pids)
                    # The CPU each server took, per message stored: what a
                    # message costs where.
                    r["stored"] = stored(database, tag)
                    r["cpu_us_per_message"] = {
                        name: round((cpu_ticks(group)[1] - before[name]) / HZ * 1e6
                                    / max(1, r["stored"]), 1)
                        for name, group in groups.items()}
                    if not all(s.alive() for s in servers):
                        fail(f"an instance died during {target}")
                    r.update({"target": target, "connections": connections})
                    result["runs"].append(r)
            result["rss_peak_kib"] = [s.rss_kib("VmHWM") for s in servers]
        finally:
            for server in servers:
                server.stop()
            stop_services(services, url)
    return ended(result)
