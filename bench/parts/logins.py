"""The logins (--logins): POST /api/login one at a time, then many at once."""

import tempfile
import threading
import time
from pathlib import Path

from .common import (
    ACCOUNTS_STEP, LOGINS_ONE_AT_A_TIME, LOGIN_BURST, Probe, Server, build_release,
    context, ended, fail, has_accounts, pick, request, say, wait_idle)

# ---------------------------------------------------------------- logins


def part_logins(args):
    """`POST /api/login` with the right password: its time one at a time (the
    cost of Argon2id), then LOGIN_BURST at once while `GET /api/version` is
    timed every 10 ms (the hashes run on blocking threads, not on the
    workers) and the server's memory is sampled (the hashes in flight are
    bounded)."""
    step = args.step or ACCOUNTS_STEP
    if not has_accounts(step):
        fail(f"{step} has no POST /api/login: use --step {ACCOUNTS_STEP} or later")
    binary = build_release(step)
    note = wait_idle(args.wait_idle)
    result = {"step": step, **context(args, note), "one_at_a_time": LOGINS_ONE_AT_A_TIME,
              "burst": LOGIN_BURST}
    accounts = [{"name": f"Bench {i}", "email": f"bench{i}@bench.invalid",
                 "nickname": f"bench{i}", "password": f"bench-password-{i}"}
                for i in range(LOGIN_BURST)]
    login = lambda account: request(
        server.url + "/api/login", "POST",
        {"nickname": account["nickname"], "password": account["password"]}, timeout=60)
    with tempfile.TemporaryDirectory(prefix="bench-logins-") as tmp:
        server = Server(binary, Path(tmp) / "chat.db")
        try:
            for account in accounts:
                status, body = request(server.url + "/api/users", "POST", account, timeout=30)
                if status != 201:
                    fail(f"{step}: POST /api/users answered {status}: {body}")
            times = []
            for i in range(LOGINS_ONE_AT_A_TIME):
                start = time.perf_counter()
                status, body = login(accounts[i % len(accounts)])
                times.append((time.perf_counter() - start) * 1000)
                if status != 200:
                    fail(f"{step}: POST /api/login answered {status}: {body}")
            times.sort()
            result["one_p50_ms"] = round(pick(times, 0.50), 1)
            result["one_p99_ms"] = round(pick(times, 0.99), 1)
            say(f"logins: one at a time, p50 {result['one_p50_ms']} ms")

            rss_before = server.rss_kib()
            probe = Probe(server)
            probe.start()
            time.sleep(0.3)
            peak, sampling = [rss_before], threading.Event()

            def sample():
                while not sampling.is_set():
                    peak.append(server.rss_kib())
                    time.sleep(0.005)
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            start_line = threading.Barrier(LOGIN_BURST + 1)
            answers = [None] * LOGIN_BURST

            def one(i):
                start_line.wait()
                start = time.perf_counter()
                status, _ = login(accounts[i])
                answers[i] = (status, (time.perf_counter() - start) * 1000)
            threads = [threading.Thread(target=one, args=(i,)) for i in range(LOGIN_BURST)]
            for t in threads:
                t.start()
            start_line.wait()
            began = time.perf_counter()
            for t in threads:
                t.join()
            burst_s = time.perf_counter() - began
            time.sleep(0.3)
            sampling.set()
            sampler.join()
            result["probe"] = probe.summary()
            durations = sorted(d for _, d in answers)
            result["burst_ok"] = sum(1 for status, _ in answers if status == 200)
            result["burst_s"] = round(burst_s, 2)
            result["burst_p50_ms"] = round(pick(durations, 0.50), 1)
            result["burst_max_ms"] = round(durations[-1], 1)
            result["rss_before_kib"] = rss_before
            result["rss_peak_kib"] = max(peak)
            result["rss_after_kib"] = server.rss_kib()
            say(f"logins: {LOGIN_BURST} at once in {result['burst_s']} s, "
                f"{result['burst_ok']} answered 200; GET /api/version meanwhile p99 "
                f"{result['probe'].get('p99_ms')} ms; memory {rss_before / 1024:.1f} -> "
                f"{result['rss_peak_kib'] / 1024:.1f} MiB at most")
        finally:
            server.stop()
    return ended(result)
