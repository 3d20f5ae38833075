"""The WebSocket (--websocket): POST /api/messages to arrival on the
recipient's sockets, and the server's memory per idle socket."""

import http.client
import json
import resource
import socket
import tempfile
import time
from pathlib import Path

from .common import (
    LOAD_STEP, Server, build_release, context, count_rows, ended, fail, has_websocket,
    pick, request, say, seed, wait_idle)

try:
    import wsclient  # bench/wsclient.py: the WebSocket clients of --websocket
    WSCLIENT_ERROR = None
except Exception as e:  # reported by --dry-run and by --websocket, in one line
    wsclient, WSCLIENT_ERROR = None, f"bench/wsclient.py does not import: {e}"


# ----------------------------------------------------------- the WebSocket


WS_PER_USER = 10          # sockets per listening user (fewer when fewer in all)
WS_WARMUP_POSTS = 5       # not recorded
WS_DELIVERY_TIMEOUT = 2.0  # seconds a message may take before it counts as lost


def raise_fd_limit(needed):
    """Raises this process's soft limit on open files up to the hard one (the
    server started afterwards inherits it); the limit reached."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft != resource.RLIM_INFINITY and soft < needed:
        fail(f"{needed} open files needed, the hard limit is {soft} (ulimit -Hn)")
    return soft


class Poster:
    """POST /api/messages over one keep-alive connection, from the caller's
    thread: it blocks until the answer, while the group's own thread stamps
    the frames that arrive meanwhile."""

    def __init__(self, server, headers=None):
        # http.client sends the headers and a bytes body in one segment, with
        # TCP_NODELAY: no Nagle delay in the time measured.
        self.conn = http.client.HTTPConnection(server.host, server.port,
                                               timeout=WS_DELIVERY_TIMEOUT)
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.answer = None  # (status, body, at) once read

    def send(self, message):
        """Sends the message and reads the answer (None if none came within
        WS_DELIVERY_TIMEOUT); returns when the POST started."""
        body = json.dumps(message).encode()
        self.answer = None
        start = time.perf_counter()
        try:
            self.conn.request("POST", "/api/messages", body, self.headers)
            reply = self.conn.getresponse()
            self.answer = (reply.status, reply.read().decode(), time.perf_counter())
        except socket.timeout:
            self.conn.close()
        except (OSError, http.client.HTTPException) as e:
            self.answer = (None, f"{type(e).__name__}: {e}", time.perf_counter())
            self.conn.close()  # opened again by the next request
        return start

    def close(self):
        self.conn.close()


def ws_config(server, db, sockets, posts, author_id, listener_ids):
    """One configuration: `sockets` WebSockets spread over `listener_ids` (the
    same number each), all subscribed; then `posts` messages, one at a time,
    from `author_id` (who has no socket) to each listener in turn."""
    per_user = sockets // len(listener_ids)
    group = wsclient.Group()
    poster = None
    out = {"sockets": sockets, "listeners": len(listener_ids), "per_recipient": per_user,
           "posts": posts}
    try:
        time.sleep(0.5)
        out["rss_before_kib"] = server.rss_kib()
        by_user = {uid: [] for uid in listener_ids}
        started = time.monotonic()
        for n in range(sockets):
            uid = listener_ids[n % len(listener_ids)]
            ws = group.connect(server.host, server.port, "/ws")
            group.send_text(ws, json.dumps({"event": "subscribe", "data": {"user_id": uid}}))
            by_user[uid].append(ws)
        subscribed = 0
        deadline = time.monotonic() + 30
        while subscribed < sockets and time.monotonic() < deadline:
            for ws, text, at in group.poll(0.5):
                if json.loads(text).get("event") == "subscribed":
                    subscribed += 1
        out["connect_s"] = round(time.monotonic() - started, 2)
        if subscribed < sockets:
            fail(f"only {subscribed} of {sockets} sockets confirmed their subscription")
        # Idle: the sockets connected and subscribed, nothing sent (pings answered).
        idle_until = time.monotonic() + 1.5
        while time.monotonic() < idle_until:
            group.poll(0.1)
        out["rss_after_kib"] = server.rss_kib()
        out["kib_per_socket"] = round((out["rss_after_kib"] - out["rss_before_kib"]) / sockets, 2)

        poster = Poster(server)
        first, last, answers, lost, statuses, extra = [], [], [], 0, {}, 0
        tag = f"ws-{sockets}-"
        for n in range(WS_WARMUP_POSTS + posts):
            recipient = listener_ids[n % len(listener_ids)]
            content = f"{tag}{n}"
            waiting = set(by_user[recipient])
            arrivals = []
            sent_at = poster.send({"author_id": author_id, "recipient_id": recipient,
                                   "content": content})
            deadline = time.monotonic() + WS_DELIVERY_TIMEOUT
            while (waiting or poster.answer is None) and time.monotonic() < deadline:
                for ws, text, at in group.poll(0.2):
                    event = json.loads(text)
                    if event.get("event") != "message" or event["data"]["content"] != content:
                        continue
                    if ws in waiting:
                        waiting.discard(ws)
                        arrivals.append((at - sent_at) * 1000)
                    else:
                        extra += 1  # a socket of another user: should never happen
            if n < WS_WARMUP_POSTS:
                continue
            status = poster.answer[0] if poster.answer else None
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if poster.answer and status == 201:
                answers.append((poster.answer[2] - sent_at) * 1000)
            lost += len(waiting)
            if arrivals and not waiting:
                first.append(min(arrivals))
                last.append(max(arrivals))
            if poster.answer is None:
                fail(f"POST /api/messages got no answer in {WS_DELIVERY_TIMEOUT} s")
        stored = count_rows(db, "WHERE content LIKE ?", (f"{tag}%",), table="messages")
        out.update({
            "statuses": statuses, "created": statuses.get("201", 0),
            "stored": stored - WS_WARMUP_POSTS, "lost": lost, "misdelivered": extra,
            "first_p50_ms": pick(first, 0.50), "first_p99_ms": pick(first, 0.99),
            "last_p50_ms": pick(last, 0.50), "last_p99_ms": pick(last, 0.99),
            "last_max_ms": round(max(last), 3) if last else None,
            "post_p50_ms": pick(answers, 0.50), "post_p99_ms": pick(answers, 0.99),
            "pings_answered": sum(ws.pings for ws in group.sockets),
            "open_at_end": len(group.sockets),
        })
    finally:
        if poster:
            poster.close()
        group.close_all()
    return out


def part_websocket(args, users):
    """Time from POST /api/messages to the message on the recipient's sockets,
    and the server's memory per idle socket, for each count of --sockets."""
    if wsclient is None:
        fail(WSCLIENT_ERROR)
    step = args.step or LOAD_STEP
    if not has_websocket(step):
        fail(f"{step} has no WebSocket at /ws with subscriptions: use --step s19 (or s18)")
    limit = raise_fd_limit(2 * max(args.sockets) + 100)  # before the server starts
    binary = build_release(step)
    note = wait_idle(args.wait_idle)
    result = {"step": step, **context(args, note), "posts": args.posts,
              "fd_limit": limit, "configs": []}
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        for sockets in args.sockets:
            db = Path(tmp) / f"chat-{sockets}.db"
            server = Server(binary, db)
            try:
                listeners = max(1, -(-sockets // WS_PER_USER))  # ceil
                if sockets % listeners:
                    fail(f"--sockets {sockets}: not a multiple of {WS_PER_USER} "
                         f"(each listening user gets the same number of sockets)")
                # The sample users, then more through the API: one author
                # (no socket) and the listeners.
                wanted = listeners + 1
                people = list(users) + [
                    {"name": f"Listener {i}", "email": f"listener{i}@bench.invalid",
                     "nickname": f"listener{i}"} for i in range(max(0, wanted - len(users)))]
                if not seed(server, people):
                    fail(f"{step}: POST /api/users refused the users")
                author_id, listener_ids = 1, list(range(2, wanted + 1))
                for _ in range(20):  # a few requests, so the server is warm
                    request(server.url + "/api/version")
                say(f"websocket: {sockets} sockets ({listeners} users x "
                    f"{sockets // listeners}), {args.posts} POSTs")
                config = ws_config(server, db, sockets, args.posts, author_id, listener_ids)
                if not server.alive():
                    fail(f"{step} died with {sockets} sockets")
                time.sleep(0.5)
                config["rss_after_close_kib"] = server.rss_kib()
                config["rss_peak_kib"] = server.rss_kib("VmHWM")
                say(f"  first p50/p99 {config['first_p50_ms']} / {config['first_p99_ms']} ms, "
                    f"last p50/p99 {config['last_p50_ms']} / {config['last_p99_ms']} ms, "
                    f"{config['kib_per_socket']} KiB per socket, lost {config['lost']}, "
                    f"{config['created']} created, {config['stored']} stored")
                result["configs"].append(config)
            finally:
                server.stop()
    return ended(result)


def wsclient_selftest():
    """Problems with bench/wsclient.py found without a step: it imports (the
    `websockets` package is installed), and talks to a loopback server."""
    if wsclient is None:
        return [WSCLIENT_ERROR]
    return wsclient.selftest()
