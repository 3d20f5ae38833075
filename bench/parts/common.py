"""Shared by every part of bench/run: messages, the inputs read from the
workspace (steps, sample data), the machine and its load, a step's server,
requests, wrk, the probe, cargo, and the results files."""

import datetime
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import http.client
import urllib.request
import urllib.error
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent  # bench/
ROOT = BENCH.parent
WRK_LUA = BENCH / "wrk" / "bench.lua"
RESULTS_JSON = BENCH / "results.json"
RESULTS_MD = BENCH / "RESULTS.md"
WORK = BENCH / "target"  # git-ignored: variants, the footprint's cold target dir


# The step the load, the grown database and the WebSocket are measured on
# unless --step names another: the last one, the tutorial's finished app, has
# every route measured (users, messages, pages, /ws). The footprint's touched
# step stays s06 (its figures are comparable with the earlier runs), and the
# database patterns are always on s06 (VARIANT_STEP).
LOAD_STEP = "s19"
FOOTPRINT_STEP = "s06"
# The step the logins are measured on unless --step names another with
# accounts: the first that has them.
ACCOUNTS_STEP = "s20"
# The step whose pages of a conversation are measured beside the whole
# conversation of LOAD_STEP, on the same grown data, in the same --grown-db run.
PAGING_STEP = "s21"
PAGE_CONNECTIONS = [10, 100]
# The step on PostgreSQL, measured against PAGING_STEP (SQLite) on the same
# grown data (--postgres): imported from PAGING_STEP's file with `--import`.
POSTGRES_STEP = "s22"
# The step that runs as several instances behind nginx, with Redis (--instances),
# measured against one instance of POSTGRES_STEP.
INSTANCES_STEP = "s23"
LOGINS_ONE_AT_A_TIME = 50
LOGIN_BURST = 100

# Processes that mean "someone else is using the CPU" (exact names).
BUSY_NAMES = ["cargo", "rustc", "chromium", "chrome", "chromedriver", "wrk", "oha"]


def say(*args):
    print("bench:", *args, flush=True)


def fail(message):
    print(f"bench: error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


# ------------------------------------------------------------------ inputs


def step_names():
    """Package names of steps/*, in order."""
    names = []
    for manifest in sorted(ROOT.glob("steps/*/Cargo.toml")):
        m = re.search(r'^name\s*=\s*"([^"]+)"', manifest.read_text(), re.M)
        if m:
            names.append(m.group(1))
    return names


def shared_const(name):
    """(file, text between the brackets) of `pub const <name>: ... = [...];` in
    the shared crate, where the tutorial keeps its sample data."""
    for path in sorted((ROOT / "shared" / "src").rglob("*.rs")):
        m = re.search(r"pub const %s:[^=]*=\s*\[(.*?)\];" % name, path.read_text(), re.S)
        if m:
            return path, m.group(1)
    fail(f"cannot find `pub const {name}` in shared/src")


def sample_users():
    """The tutorial's sample users: `pub const USERS` in the shared crate."""
    path, text = shared_const("USERS")
    users = re.findall(r'\(\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)",?\s*\)', text)
    if not users:
        fail(f"USERS in {path.relative_to(ROOT)} has no (name, email, nickname) entries")
    return [{"name": n, "email": e, "nickname": k} for n, e, k in users]


def sample_messages():
    """The tutorial's sample messages: `pub const MESSAGES` in the shared crate,
    as (author_id, recipient_id, content)."""
    path, text = shared_const("MESSAGES")
    messages = re.findall(r'\(\s*(\d+),\s*(\d+),\s*"([^"]*)",?\s*\)', text)
    if not messages:
        fail(f"MESSAGES in {path.relative_to(ROOT)} has no (author_id, recipient_id, "
             "content) entries")
    return [{"author_id": int(a), "recipient_id": int(r), "content": c}
            for a, r, c in messages]


def sample_passwords():
    """The sample users' passwords: `pub const PASSWORDS` in the shared crate,
    in the order of USERS."""
    return re.findall(r'"([^"]*)"', shared_const("PASSWORDS")[1])


def step_source(step):
    """The text of the step's src/*.rs, for the checks of what it offers."""
    return "\n".join(p.read_text() for p in sorted((ROOT / "steps" / step / "src").glob("*.rs")))


def has_accounts(step):
    """Whether the step has accounts: `POST /api/login` (step 20 on)."""
    return '"/api/login"' in step_source(step)


def has_websocket(step):
    text = step_source(step)
    return 'resource("/ws")' in text and "Subscribe" in text


def has_paging(step):
    """Whether the step answers a conversation in pages (`?before=`, step 21 on)."""
    return step in step_names() and "parse_page_query" in step_source(step)


MESSAGE_INDEXES = ["messages_by_author", "messages_by_recipient"]


def has_message_indexes(step):
    text = step_source(step)
    return all(f"CREATE INDEX IF NOT EXISTS {name}" in text for name in MESSAGE_INDEXES)


def wrk_version():
    if not shutil.which("wrk"):
        return None
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return (out.stdout + out.stderr).splitlines()[0].split(" Copyright")[0].strip()


def need_wrk():
    if not wrk_version():
        fail("wrk is not installed. On Debian/Ubuntu: `sudo apt-get install wrk`; "
             "on macOS: `brew install wrk`.")


# ----------------------------------------------------------------- machine


def loadavg():
    return Path("/proc/loadavg").read_text().split()[:3]


def machine():
    info = {"cores": os.cpu_count()}
    try:
        meminfo = Path("/proc/meminfo").read_text()
        kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
        info["memory_gib"] = round(kb / 1024 / 1024, 1)
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        info["cpu"] = cpu.group(1).strip() if cpu else "?"
        osr = re.search(r'PRETTY_NAME="([^"]*)"', Path("/etc/os-release").read_text())
        info["os"] = osr.group(1) if osr else "?"
    except (OSError, AttributeError):
        pass
    info["kernel"] = os.uname().release
    return info


def tool_versions():
    def first_line(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            return out.stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return None

    lock = (ROOT / "Cargo.lock").read_text()
    crates = {}
    for name in ["actix-web", "rusqlite", "libsqlite3-sys", "maud", "tokio"]:
        m = re.search(r'name = "%s"\nversion = "([^"]+)"' % re.escape(name), lock)
        crates[name] = m.group(1) if m else "?"
    return {
        "wrk": wrk_version(),
        "rustc": first_line(["rustc", "-V"]),
        "cargo": first_line(["cargo", "-V"]),
        "python": sys.version.split()[0],
        "crates": crates,
        "commit": first_line(["git", "rev-parse", "--short", "HEAD"]),
    }


def busy_processes():
    """Other processes (not ours) that compete for the CPU, as 'name(pid)'."""
    ours = {os.getpid()}
    found = []
    for name in BUSY_NAMES:
        out = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True)
        for pid in out.stdout.split():
            if int(pid) not in ours:
                found.append(f"{name}({pid})")
    return found


# The 1-minute load average under which the machine counts as idle (2 cores:
# figures measured above it were seen to be skewed).
IDLE_LOAD = 0.7


def wait_idle(max_wait, quiet=30):
    """Waits until none of BUSY_NAMES has run for `quiet` seconds and the
    1-minute load average is under IDLE_LOAD (at most `max_wait` seconds).
    Returns a note for RESULTS.md."""
    if max_wait <= 0:
        return None
    say(f"waiting for {quiet} s without {', '.join(BUSY_NAMES)} and a load average under "
        f"{IDLE_LOAD} (at most {max_wait} s)")
    start = time.monotonic()
    quiet_since = time.monotonic()
    last = []
    while time.monotonic() - start < max_wait:
        busy = busy_processes()
        if busy:
            quiet_since = time.monotonic()
            if busy != last:
                say("busy:", " ".join(busy))
            last = busy
        elif time.monotonic() - quiet_since >= quiet and float(loadavg()[0]) < IDLE_LOAD:
            waited = round(time.monotonic() - start)
            return (f"machine idle for {quiet} s before the run, load average under "
                    f"{IDLE_LOAD} (waited {waited} s)")
        time.sleep(2)
    return (f"machine still busy after waiting {max_wait} s "
            f"(seen: {' '.join(last) or 'load ' + loadavg()[0]}): figures are skewed")


def context(args, note=None):
    """Date, machine and load, stored with each part's figures."""
    busy = busy_processes()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "loadavg_before": loadavg(),
        "busy_at_start": busy,
        "idle_note": note,
    }


def ended(result):
    """The load at the end, stored with each part's figures; the result."""
    result["loadavg_after"] = loadavg()
    result["busy_at_end"] = busy_processes()
    return result


# ------------------------------------------------------------------ server


class Server:
    """A step's binary on a free loopback port with its own database file."""

    def __init__(self, binary, db, log=None, env=None, database_url=None, redis_url=None,
                 port=0):
        self.db = Path(db) if db else None
        self.log = open(log, "wb") if log else subprocess.DEVNULL
        # From s22: a PostgreSQL database's URL instead of a file; from s23,
        # the Redis the instances share too.
        database = ["--database-url", database_url] if database_url else ["--db", str(db)]
        if redis_url:
            database += ["--redis-url", redis_url]
        self.proc = subprocess.Popen(
            [str(binary), "--port", str(port), *database],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
            env=dict(os.environ, **(env or {})))
        line = self.proc.stdout.readline()
        m = re.search(r"http://([\d.]+):(\d+)", line)
        if not m:
            self.stop()
            fail(f"{binary} did not print its banner; it said: {line!r}")
        self.host, self.port = m.group(1), int(m.group(2))
        self.url = f"http://{self.host}:{self.port}"
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def rss_kib(self, field="VmRSS"):
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1))

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()


def request(url, method="GET", body=None, timeout=5):
    """(status, body) of one request; status None when the connection failed."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException,
            socket.timeout) as e:
        return None, f"{type(e).__name__}: {e}"


def seed(server, rows, path="/api/users"):
    """Adds rows through the API, the sample users by default (the sample
    messages with path="/api/messages"); False if the step has no such POST
    route (or refuses a row)."""
    for row in rows:
        status, _ = request(server.url + path, "POST", row)
        if status != 201:
            return False
    return True


def count_rows(db, where="", params=(), table="users"):
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(f"SELECT count(*) FROM {table} {where}", params).fetchone()[0]


# --------------------------------------------------------------------- wrk


def cpu_ticks(pids):
    """(CPU ticks of every CPU busy, of `pids` and their children): /proc."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    busy = sum(int(f) for i, f in enumerate(fields) if i not in (3, 4))  # not idle, iowait
    stats = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats.append((int(entry.name), int(stat[1]), int(stat[11]) + int(stat[12])))
    ours = set(pids)
    ours |= {pid for pid, ppid, _ in stats if ppid in ours}
    return busy, sum(ticks for pid, _, ticks in stats if pid in ours)


def pin(pids, cpus):
    """Binds the processes `pids`, their threads and their children (and so
    the children they start later) to the CPUs `cpus`."""
    ours = set(pids)
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1]
                                            .split()[1]) in pids:
                ours.add(int(entry.name))
        except OSError:
            continue
    for pid in ours:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                os.sched_setaffinity(int(task.name), cpus)
            except OSError:
                pass


def run_wrk(url, connections, duration, mode="get", tag="run", threads=1, headers=(),
            ours=(), cpus=None):
    """One wrk run; its figures. With `ours` (the pids of the servers measured:
    they and their children, PostgreSQL's backends, are counted as ours), the
    CPU that other processes took meanwhile too, in cores (`others_cores`), and
    the load average at the start. With `cpus`, wrk runs on those CPUs only."""
    load = loadavg()[0]
    before, start = cpu_ticks(ours), time.monotonic()
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # bench.lua takes the connections to undo wrk's correction (its `measured`).
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
           "--timeout", "5s", *(f"-H{h}" for h in headers), "-s", str(WRK_LUA), url,
           "--", mode, tag, str(connections)]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    m = re.search(r"^BENCH-JSON (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        fail(f"wrk failed ({' '.join(cmd)}):\n{out.stdout}\n{out.stderr}")
    r = json.loads(m.group(1))
    if ours:
        after, elapsed = cpu_ticks(ours), time.monotonic() - start
        wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wrk_s = (wrk_after.ru_utime + wrk_after.ru_stime
                 - wrk_before.ru_utime - wrk_before.ru_stime)
        hz = os.sysconf("SC_CLK_TCK")
        others = (after[0] - before[0] - (after[1] - before[1])) / hz - wrk_s
        r["others_cores"] = round(max(0.0, others) / elapsed, 2)
        r["loadavg_at_start"] = load
    errors = r["errors"]
    r["rps"] = round(r["requests"] / (r["duration_us"] / 1e6), 1)
    r["socket_errors"] = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    r["http_errors"] = errors["status"]  # answers with a status >= 400
    r["errors_total"] = r["socket_errors"] + r["http_errors"]
    return r


class Probe(threading.Thread):
    """Times `GET /api/version` (no database) every 10 ms over one keep-alive
    connection while a load runs: if the database work blocks the worker
    threads, this request, which needs no database, waits too."""

    def __init__(self, server, path="/api/version", interval=0.01):
        super().__init__(daemon=True)
        self.server, self.path, self.interval = server, path, interval
        self.stop_flag = threading.Event()
        self.latencies = []
        self.failures = 0

    def run(self):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=5)
        while not self.stop_flag.is_set():
            start = time.perf_counter()
            try:
                conn.request("GET", self.path)
                reply = conn.getresponse()
                reply.read()
                if reply.status != 200:
                    self.failures += 1
                else:
                    self.latencies.append((time.perf_counter() - start) * 1000)
            except (OSError, http.client.HTTPException):
                self.failures += 1
                conn.close()
                conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=5)
            time.sleep(self.interval)
        conn.close()

    def summary(self):
        self.stop_flag.set()
        self.join()
        lat = sorted(self.latencies)
        if not lat:
            return {"count": 0, "failures": self.failures}
        pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 2)
        return {"count": len(lat), "failures": self.failures, "p50_ms": pick(0.50),
                "p99_ms": pick(0.99), "max_ms": round(lat[-1], 2)}


# -------------------------------------------------------------------- build


def cargo_env(env):
    """This process's environment for cargo: no colours, `env` applied (its
    entries set to None removed)."""
    full_env = dict(os.environ, CARGO_TERM_COLOR="never")
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    return full_env


def cargo(args, cwd=ROOT, env=None, quiet=True, output=False, check=True):
    """Runs cargo; returns the seconds it took (and its stderr with output=True;
    with check=False, whether it succeeded too). `env` entries set to None are
    removed from the environment."""
    start = time.monotonic()
    out = subprocess.run(["cargo", *args], cwd=cwd, env=cargo_env(env),
                         capture_output=quiet, text=True)
    elapsed = time.monotonic() - start
    if out.returncode != 0:
        # The servers' request logs (INFO lines), which a failing test prints,
        # would push the failure's own message out of the last 4000 characters.
        said = "\n".join(line for line in (out.stdout + out.stderr).splitlines()
                         if not line.startswith("INFO ")) if quiet else ""
        message = f"cargo {' '.join(args)} failed in {cwd}:\n{said[-4000:]}"
        if check:
            fail(message)
        say(message)
    if not check:
        return elapsed, out.returncode == 0
    return (elapsed, out.stderr or "") if output else elapsed


def build_release(step):
    say(f"cargo build --release -p {step}")
    cargo(["build", "--release", "--locked", "-p", step])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "release" / step


def dir_size(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                total += os.lstat(p).st_size
    return total



def pick(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 3) if values else None
