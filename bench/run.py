"""psched's benchmark: lateness, throughput and scale, measured on 127.0.0.1 the way a user
would judge them. Starts and stops everything itself (a private Redis, gunicorn, two
run_dispatcher nodes and beat, on a fresh MariaDB database), prints a table, writes
docs/benchmarks.json and updates docs/benchmarks.md.

    .venv/bin/python -m bench.run [--quick]      (make bench, make bench QUICK=1)
"""
import argparse
import base64
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import MySQLdb

from bench.bluesky import deliveries as bluesky_deliveries
from bench.bluesky import pds_ceiling
from bench.calendar import calendar
from bench.deliveries import deliveries
from psched.lib.stats import percentile
from stack import MYSQL, ROOT, VENV_BIN, Stack, free_port, wait_for

DOCS = ROOT / "docs"
PROFILES = DOCS / "profiles"


def progress(message: str):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


GUNICORN_SIZE = ["--workers", "4", "--threads", "4", "--timeout", "120", "--log-level", "warning"]


class BenchStack(Stack):
    """The integration stack, with gunicorn sized for throughput, and the floor endpoints
    (bench/floor) served the same way on a port of their own. Nodes call gunicorn directly:
    the fault proxy the tests put in between would be measured too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra_env["PSCHED_API_URL"] = f"http://127.0.0.1:{self.web_port}"

    def start_web(self):
        self.spawn("web", [str(VENV_BIN / "gunicorn"), "psched.wsgi", "-b", f"127.0.0.1:{self.web_port}", *GUNICORN_SIZE])

    def start_floor(self, *, node_id: int) -> int:
        port = free_port()
        self.extra_env["FLOOR_NODE_ID"] = str(node_id)
        self.spawn("floor", [
            str(VENV_BIN / "gunicorn"), "floor.wsgi", "--pythonpath", str(ROOT / "bench"),
            "-b", f"127.0.0.1:{port}", *GUNICORN_SIZE,
        ])
        wait_for(lambda: _port_answers(port), 30, what="floor web server")
        return port


def _port_answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/bare/")
        connection.getresponse().read()
        return True
    except OSError:
        return False


def warm_up(stack: Stack, requests: int = 64):
    """Every gunicorn worker imports psched's URLs and views on its first request: without
    this, the imports land in the first scenario's figures (a third of the burst profile)."""
    def get():
        connection = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=60)
        connection.request("GET", "/api/")
        connection.getresponse().read()

    threads = [threading.Thread(target=get) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def setup_django(stack: Stack):
    os.environ.update({k: v for k, v in stack.env.items() if k in (
        "DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "PSCHED_API_URL")})
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the ticks timed in this process log each tick
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psched.settings")
    import django

    django.setup()


def now_utc():
    return datetime.now(timezone.utc)


def create_scheduled(author_id: int, times: list[datetime], prefix: str):
    """Inserts and routes scheduled posts through the service (as the API would), fast."""
    from django.contrib.auth import get_user_model

    from scheduling.rules import ScheduleInput
    from scheduling.services import scheduled_posts_create
    from psched.lib.timeparse import ParsedTime

    author = get_user_model().objects.get(pk=author_id)
    created = 0
    for start in range(0, len(times), 5000):
        chunk = times[start:start + 5000]
        scheduled_posts_create(author=author, inputs=[
            ScheduleInput(text=f"{prefix} {start + i}", when=ParsedTime(when, "UTC")) for i, when in enumerate(chunk)
        ])
        created += len(chunk)
        progress(f"  created {created:,}/{len(times):,} scheduled posts")


def lateness_of(stack: Stack, prefix: str):
    rows = stack.query(
        "SELECT lateness_ms FROM scheduling_scheduledpost WHERE text LIKE %s AND status = 'published'", (prefix + " %",)
    )
    return [row[0] for row in rows]


def lost_and_duplicated(stack: Stack, prefix: str):
    rows = stack.query(
        "SELECT s.id, COUNT(p.id) FROM scheduling_scheduledpost s LEFT JOIN feed_post p ON p.scheduled_post_id = s.id "
        "WHERE s.text LIKE %s GROUP BY s.id", (prefix + " %",)
    )
    (dupes,) = stack.query(
        "SELECT COUNT(*) FROM (SELECT text FROM feed_post WHERE text LIKE %s GROUP BY text HAVING COUNT(*) > 1) d",
        (prefix + " %",),
    )[0]
    return sum(1 for _, n in rows if n == 0), dupes


def wait_published(stack: Stack, prefix: str, total: int, timeout: float):
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        # Counts what is left through the status index: a count of what is done would read
        # the whole table every second, beside the work it measures.
        (left,) = stack.query(
            "SELECT COUNT(*) FROM scheduling_scheduledpost WHERE status IN ('pending', 'publishing') AND text LIKE %s",
            (prefix + " %",),
        )[0]
        done = total - left
        if done != last:
            progress(f"  published {done:,}/{total:,}")
            last = done
        if done >= total:
            return True
        time.sleep(1)
    return False


# --- scenarios ----------------------------------------------------------------------------

def steady(stack, author_id, count, seconds, runs, intake_seconds):
    """`runs` times `count` posts due evenly over `seconds`, the first run right after
    `intake_seconds` of one-post intake (wrk): the database and the web server are then busiest
    with what the intake left behind. Nothing polls while the posts fall due (the bench reads
    the results after the last is due). Each run's figures are kept: a bad run shows."""
    progress(f"steady: {runs} runs of {count:,} posts due evenly over {seconds} s, "
             f"the first right after {intake_seconds} s of intake")
    stack.request("GET", "/api/scheduled-posts/")  # makes the token
    wrk_post(stack, port=stack.web_port, path="/api/scheduled-posts/", token=stack.tokens["alice"], clients=16,
             seconds=intake_seconds, name="steady-intake")
    found = []
    for run in range(runs):
        prefix = f"steady{run}"
        first = now_utc() + timedelta(seconds=5)
        times = [first + timedelta(seconds=seconds * i / count) for i in range(count)]
        create_scheduled(author_id, times, prefix)
        time.sleep(max(0.0, (times[-1] - now_utc()).total_seconds() + 2))
        wait_published(stack, prefix, count, 90)
        late = lateness_of(stack, prefix)
        lost, dupes = lost_and_duplicated(stack, prefix)
        # Sent ahead, held by the callback until due: none may be published before its time.
        (early,) = stack.query(
            "SELECT COUNT(*) FROM scheduling_scheduledpost WHERE text LIKE %s AND published_at < publish_at",
            (prefix + " %",))[0]
        found.append({
            "lateness_p50_ms": percentile(late, 0.5), "lateness_p99_ms": percentile(late, 0.99),
            "lateness_max_ms": max(late) if late else None, "lost": lost, "duplicated": dupes, "early": early,
            "slowest": slowest_stages(stack, prefix, share=0.01),
        })
        progress(f"  run {run + 1}/{runs}: p50 {found[-1]['lateness_p50_ms']} ms, p99 {found[-1]['lateness_p99_ms']} ms, "
                 f"max {found[-1]['lateness_max_ms']} ms")
    return {
        "posts": count, "over_seconds": seconds, "runs": runs, "intake_before_seconds": intake_seconds,
        "lateness_p50_ms": statistics.median(run["lateness_p50_ms"] for run in found),
        "lateness_p99_ms": statistics.median(run["lateness_p99_ms"] for run in found),
        "lateness_p99_worst_ms": max(run["lateness_p99_ms"] for run in found),
        "lateness_max_ms": max(run["lateness_max_ms"] for run in found),
        "lost": sum(run["lost"] for run in found), "duplicated": sum(run["duplicated"] for run in found),
        "early": sum(run["early"] for run in found),
        "per_run": found,
    }


STAGES = ("tick", "claiming", "claimed", "sent", "received", "held", "committed", "answered")


def slowest_stages(stack, prefix, share):
    """The slowest `share` of a run's posts, each with the instants of its stages from the
    timing log (PSCHED_TIMING_LOG), in ms from its due time: the node's tick, claim and send,
    the callback's arrival, the end of its hold and its commit, the node's answer."""
    rows = stack.query(
        "SELECT id, lateness_ms, due_at FROM scheduling_scheduledpost WHERE text LIKE %s AND status = 'published' "
        "ORDER BY lateness_ms DESC", (prefix + " %",))
    slow = rows[:max(1, round(len(rows) * share))]
    wanted = {pk for pk, _, _ in slow}
    records = {}
    for name in ("web", "node-a", "node-b"):
        path = stack.logs / f"{name}.log"
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            where = line.find("timing:")  # celery's log lines do not name the logger
            if where < 0:
                continue
            what, _, fields = line[where + len("timing:"):].partition(" ")
            record = json.loads(fields)
            for pk in wanted.intersection(record["ids"]):
                records.setdefault(pk, {}).update({key: value for key, value in record.items() if key in STAGES})
                if what == "batch":
                    records[pk]["node"] = record["node"]
                    records[pk]["batch"] = len(record["ids"])
    found = []
    for pk, late, due in slow:
        due = due.replace(tzinfo=timezone.utc)
        entry = {"id": pk, "lateness_ms": late, **{key: value for key, value in records.get(pk, {}).items() if key not in STAGES}}
        for stage in STAGES:
            value = records.get(pk, {}).get(stage)
            if value:
                entry[stage] = round((datetime.fromisoformat(value) - due).total_seconds() * 1000, 1)
        found.append(entry)
    return found


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes have used so far, from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def process_groups(stack) -> dict[str, list[int]]:
    """The processes whose CPU a scenario reports: the web server (its workers), the nodes
    (their worker processes), and MariaDB."""
    groups = {"web": [], "nodes": [], "mariadb": []}
    for name, process in stack.processes.items():
        group = "web" if name == "web" else "nodes" if name.startswith("node-") else None
        if group:
            groups[group] += [process.pid] + _children(process.pid)
    out = subprocess.run(["pgrep", "-x", "mariadbd"], capture_output=True, text=True).stdout.split()
    groups["mariadb"] = [int(pid) for pid in out]
    return groups


def rss_mb(pid: int) -> float:
    total = 0
    for task in [pid] + _children(pid):
        try:
            for line in Path(f"/proc/{task}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        return []
    return [int(x) for x in out.split()]


def burst(stack, author_id, count, profile=False, prefix="burst"):
    progress(f"{prefix}: {count:,} posts due at the same instant" + (" (py-spy on web and node a)" if profile else ""))
    # Made for tomorrow, then all moved to one instant a few seconds ahead by one UPDATE: how
    # long making them takes (it varies with the machine) cannot eat into the lead time.
    create_scheduled(author_id, [now_utc() + timedelta(days=1)] * count, prefix)
    at = now_utc() + timedelta(seconds=8)
    naive = at.replace(tzinfo=None)
    stack.query("UPDATE scheduling_scheduledpost SET publish_at = %s, due_at = %s WHERE text LIKE %s AND status = 'pending'",
                (naive, naive, prefix + " %"))
    wait = (at - now_utc()).total_seconds()
    progress(f"  due in {wait:.0f} s")
    peak = {"rss": 0.0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for name in ("node-a", "node-b"):
                process = stack.processes.get(name)
                if process:
                    peak["rss"] = max(peak["rss"], rss_mb(process.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    groups = process_groups(stack)
    time.sleep(max(0.0, (at - now_utc()).total_seconds() - 0.5))
    cpu_before = {name: cpu_seconds(pids) for name, pids in groups.items()}
    spies = []
    if profile:
        time.sleep(max(0.0, (at - now_utc()).total_seconds()))
        spies = [py_spy(stack, name, f"burst-{name}", 5) for name in ("web", "node-a")]
    ok = wait_published(stack, prefix, count, wait + 600)
    stop.set()
    cpu = {name: round(cpu_seconds(pids) - cpu_before[name], 2) for name, pids in groups.items()}
    for spy in spies:
        spy.wait()
    (last,) = stack.query("SELECT MAX(published_at) FROM scheduling_scheduledpost WHERE text LIKE %s", (prefix + " %",))[0]
    last = last.replace(tzinfo=timezone.utc)
    seconds = (last - at).total_seconds()
    lost, dupes = lost_and_duplicated(stack, prefix)
    return {
        "posts": count, "completed": ok, "seconds_to_last": round(seconds, 2),
        "posts_per_second": round(count / seconds) if seconds > 0 else None,
        "lost": lost, "duplicated": dupes, "worker_peak_rss_mb": round(peak["rss"], 1),
        # CPU seconds each part used from the due instant until the last post was seen published
        # (the wait polls once a second): where the two cores went.
        "cpu_seconds": cpu,
    }


def _client(stack):
    return http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=60)


WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"text": "intake %d-%d", "publish_at": "%s"}', math.random(1, 1000000000), counter, publish_at)
  return wrk.format("POST", path, headers, body)
end
"""


def wrk_post(stack, *, port: int, path: str, token: str, clients: int, seconds: int, name: str, profile: bool = False,
             process: str = "web") -> dict:
    """wrk (C, two threads) drives the load: a Python client would take a core for itself."""
    publish_at = (now_utc() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    script = stack.logs / f"{name}.lua"
    script.write_text(
        f'publish_at = "{publish_at}"\npath = "{path}"\n'
        f'headers = {{["Content-Type"] = "application/json", ["Authorization"] = "Token {token}"}}\n' + WRK_SCRIPT
    )
    spy = py_spy(stack, process, f"intake-{name}", seconds) if profile else None
    held = {}
    sampler = threading.Timer(seconds / 2, lambda: held.update(connections=connections_per_process(port)))
    sampler.start()
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout
    sampler.join()
    if spy:
        spy.wait()
    figures = {}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            figures["requests_per_second"] = round(float(parts[1]))
        elif parts[:1] in (["50%"], ["99%"]):
            figures[f"p{parts[0][:-1]}_ms"] = _wrk_ms(parts[1])
        elif line.strip().startswith("Non-2xx"):
            figures["errors"] = int(parts[-1])
    figures.setdefault("errors", 0)
    figures["connections_per_worker"] = held.get("connections", [])
    return figures


def connections_per_process(port: int) -> list[int]:
    """How the clients' kept-alive connections to `port` are spread over the server's
    processes, most first: a gthread worker serves each connection it accepted for the
    connection's life, so a worker holding most of them works alone on its core."""
    lines = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
                           capture_output=True, text=True).stdout.splitlines()
    counts = {}
    for line in lines:
        if "pid=" in line:
            pid = line.split("pid=", 1)[1].split(",", 1)[0]
            counts[pid] = counts.get(pid, 0) + 1
    return sorted(counts.values(), reverse=True)


def intake(stack, clients, seconds, profile=False, rounds=3):
    """psched's POST /api/scheduled-posts/ and, in the same run and the same way, the floor: a
    bare Django view parsing the JSON, and a DRF view with token auth and one INSERT. Both
    servers stay up (the idle one costs nothing) and the load alternates between them,
    `rounds` times `seconds / rounds`: a slow moment of this virtual machine then falls on both
    sides instead of one. Figures are the medians of the rounds."""
    progress(f"intake: POST /api/scheduled-posts/, one post a request, {clients} clients, {seconds} s (wrk), "
             f"beside the floor (bench/floor), in {rounds} alternating rounds")
    stack.request("GET", "/api/scheduled-posts/")  # makes the token
    token = stack.tokens["alice"]
    (node_id,) = stack.query("SELECT id FROM dispatchers_dispatchernode WHERE name = 'a'")[0]
    port = stack.start_floor(node_id=node_id)
    targets = {"psched": (stack.web_port, "/api/scheduled-posts/"), "drf": (port, "/drf-insert/"), "bare": (port, "/bare/")}
    runs = {name: [] for name in targets}
    try:
        # Each side first gets a few seconds of the same load unmeasured: every worker thread
        # opens its database connection and every process imports its views on its first requests.
        for name in ("psched", "drf"):
            wrk_post(stack, port=targets[name][0], path=targets[name][1], token=token, clients=clients, seconds=3, name="warm")
        (before,) = stack.query("SELECT COUNT(*) FROM scheduling_scheduledpost WHERE text LIKE 'intake %%'")[0]
        for round_ in range(rounds):
            for name, (target_port, path) in targets.items():
                started = stack.query("SELECT UTC_TIMESTAMP(6)")[0][0]
                runs[name].append(wrk_post(stack, port=target_port, path=path, token=token, clients=clients,
                                           seconds=max(1, round(seconds / rounds)), name=name))
                if name != "bare":  # the bare view writes nothing to count
                    runs[name][-1]["per_second"] = per_second_created(stack, since=started)
            progress(f"  round {round_ + 1}/{rounds}: " + ", ".join(
                f"{name} {runs[name][-1]['requests_per_second']}/s" for name in targets))
        (after,) = stack.query("SELECT COUNT(*) FROM scheduling_scheduledpost WHERE text LIKE 'intake %%'")[0]
        if profile:  # apart from the measured runs: py-spy takes CPU from the cores it watches
            progress("  the DRF floor and psched again, 5 s each with py-spy")
            wrk_post(stack, port=port, path="/drf-insert/", token=token, clients=clients, seconds=5,
                     name="floor", profile=True, process="floor")
            wrk_post(stack, port=stack.web_port, path="/api/scheduled-posts/", token=token, clients=clients,
                     seconds=5, name="psched", profile=True)
    finally:
        stack.kill("floor")

    def median(name, key="requests_per_second"):
        return statistics.median(run[key] for run in runs[name])

    def ratio(floor):
        return round(statistics.median(
            mine["requests_per_second"] / theirs["requests_per_second"] for mine, theirs in zip(runs["psched"], runs[floor])), 2)

    return {
        "clients": clients, "seconds": seconds, "rounds": rounds, "created": after - before,
        "requests_per_second": round(median("psched")), "p50_ms": median("psched", "p50_ms"),
        "p99_ms": median("psched", "p99_ms"), "errors": sum(run["errors"] for run in runs["psched"]),
        "floor_bare_rps": round(median("bare")), "floor_drf_insert_rps": round(median("drf")),
        "floor_errors": sum(run["errors"] for name in ("bare", "drf") for run in runs[name]),
        "ratio_of_drf_insert": ratio("drf"), "ratio_of_bare": ratio("bare"),
        "rounds_rps": {name: [run["requests_per_second"] for run in runs[name]] for name in targets},
        "rounds_per_second": {name: [run["per_second"] for run in runs[name]] for name in ("psched", "drf")},
        "rounds_connections": {name: [run["connections_per_worker"] for run in runs[name]] for name in targets},
    }


def per_second_created(stack, *, since) -> list[int]:
    """Intake posts the round wrote, second by second (by created_at, which psched and the
    floor both set when they insert): a slow round shows whether it was slow throughout or
    stalled for a moment."""
    rows = stack.query(
        "SELECT FLOOR(TIMESTAMPDIFF(MICROSECOND, %s, created_at) / 1000000) AS s, COUNT(*) "
        "FROM scheduling_scheduledpost WHERE text LIKE 'intake %%' AND created_at >= %s GROUP BY s ORDER BY s",
        (since, since))
    counts = {int(second): count for second, count in rows}
    return [counts.get(second, 0) for second in range(int(max(counts, default=-1)) + 1)]


def _wrk_ms(value: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if value.endswith(unit):
            return round(float(value[: -len(unit)]) * factor, 2)
    return float(value)


def bulk_intake(stack, count):
    progress(f"bulk intake: {count:,} posts in lists of 1,000")
    publish_at = (now_utc() + timedelta(days=30)).isoformat()
    started = time.monotonic()
    for start in range(0, count, 1000):
        status, body = stack.request("POST", "/api/scheduled-posts/", [
            {"text": f"bulk {start + i}", "publish_at": publish_at} for i in range(1000)])
        assert status == 201, (status, str(body)[:200])
    return {"posts": count, "seconds": round(time.monotonic() - started, 2)}


def scale(stack, author_id, count):
    progress(f"scale: {count:,} future posts pending; idle ticks of node a")
    node_ids = dict(stack.query("SELECT name, id FROM dispatchers_dispatchernode"))
    stack.query(
        "INSERT INTO scheduling_scheduledpost (author_id, text, publish_at, due_at, timezone, status, dispatcher_id, "
        "version, attempts, last_error, claim_token, created_at, updated_at, queued, series_detached) "
        "SELECT %s, CONCAT('future ', seq), NOW(6) + INTERVAL 1 YEAR + INTERVAL seq SECOND, "
        "NOW(6) + INTERVAL 1 YEAR + INTERVAL seq SECOND, 'UTC', 'pending', IF(seq %% 2, %s, %s), 1, 0, '', '', NOW(6), NOW(6), 0, 0 "
        f"FROM seq_1_to_{count}", (author_id, node_ids["a"], node_ids["b"]),
    )
    progress("  inserted; timing ticks")
    from django.db import connection

    from dispatchers.tick import run_tick

    durations = []
    while len(durations) < 50:
        # Node a's own worker ticks too: a tick right after another is dropped as a repeat
        # (node_heartbeat) and does none of the work, so each timed tick starts from a
        # heartbeat just old enough (not so old that node b judges it down), and a tick that
        # was dropped all the same is not counted.
        stack.query("UPDATE dispatchers_dispatchernode SET last_seen = NOW(6) - INTERVAL 600000 MICROSECOND WHERE name = 'a'")
        started = time.perf_counter()
        report = run_tick(node_name="a", credential="unused-when-idle")
        if not report.dropped:
            durations.append((time.perf_counter() - started) * 1000)
    node_a = node_ids["a"]
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM scheduling_scheduledpost WHERE dispatcher_id = %s AND status = 'pending' "
            "AND due_at <= NOW(6) ORDER BY due_at LIMIT 5000 FOR UPDATE SKIP LOCKED", [node_a])
        columns = [c[0] for c in cursor.description]
        plan = [dict(zip(columns, row)) for row in cursor.fetchall()]
    return {
        "pending": count, "idle_tick_p50_ms": round(percentile(durations, 0.5), 2),
        "idle_tick_p99_ms": round(percentile(durations, 0.99), 2),
        "claim_plan_key": plan[0].get("key"), "claim_plan_rows": plan[0].get("rows"),
    }


def feed(stack, author_id, count, requests_per_depth):
    progress(f"feed: GET /api/posts/ on {count:,} posts")
    stack.query(
        "INSERT INTO feed_post (author_id, text, published_at) "
        f"SELECT %s, CONCAT('feed ', seq), NOW(6) FROM seq_1_to_{count}", (author_id,))
    (low, high) = stack.query("SELECT MIN(id), MAX(id) FROM feed_post")[0]
    deep_cursor = base64.b64encode(f"p={low + 50}".encode()).decode()  # a page 1,000,000 deep
    results = {"posts": count}
    for name, query in [("first_page", ""), ("deep_page", "?" + urlencode({"cursor": deep_cursor}))]:
        conn = _client(stack)
        for _ in range(20):  # warm every gunicorn worker first
            conn.request("GET", "/api/posts/" + query)
            conn.getresponse().read()
        latencies = []
        for _ in range(requests_per_depth):
            started = time.perf_counter()
            conn.request("GET", "/api/posts/" + query)
            response = conn.getresponse()
            body = response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status == 200, body[:200]
        results[f"{name}_p50_ms"] = round(percentile(latencies, 0.5), 1)
        results[f"{name}_p99_ms"] = round(percentile(latencies, 0.99), 1)
    return results


def publish_floor(stack, author_id, count, batch=500):
    """The database's ceiling for publishing, on one connection: claimed rows locked, copied
    into feed_post by INSERT … SELECT and marked published by one UPDATE, 500 at a time."""
    progress(f"publish floor: {count:,} claimed rows, set-based SQL in batches of {batch}")
    stack.query(
        "INSERT INTO scheduling_scheduledpost (author_id, text, publish_at, due_at, timezone, status, dispatcher_id, "
        "version, attempts, last_error, claim_token, created_at, updated_at, queued, series_detached) "
        "SELECT %s, CONCAT('floor ', seq), NOW(6), NOW(6), 'UTC', 'publishing', NULL, 1, 1, '', 'token', NOW(6), NOW(6), 0, 0 "
        f"FROM seq_1_to_{count}", (author_id,),
    )
    ids = [row[0] for row in stack.query("SELECT id FROM scheduling_scheduledpost WHERE text LIKE 'floor %%' ORDER BY id")]
    with MySQLdb.connect(db=stack.database, **MYSQL) as conn:
        cursor = conn.cursor()
        started = time.perf_counter()
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute("BEGIN")
            cursor.execute(
                f"SELECT id, status, dispatcher_id, claim_token, version FROM scheduling_scheduledpost "
                f"WHERE id IN ({marks}) ORDER BY id FOR UPDATE", chunk)
            cursor.fetchall()
            cursor.execute(
                "INSERT INTO feed_post (author_id, text, published_at, scheduled_post_id, scheduled_for, dispatcher_id) "
                f"SELECT author_id, text, NOW(6), id, publish_at, NULL FROM scheduling_scheduledpost WHERE id IN ({marks})",
                chunk)
            cursor.execute(
                "UPDATE scheduling_scheduledpost SET status = 'published', published_at = NOW(6), "
                "lateness_ms = TIMESTAMPDIFF(MICROSECOND, publish_at, NOW(6)) DIV 1000, claim_token = '', "
                f"lease_until = NULL, last_error = '', updated_at = NOW(6) WHERE id IN ({marks})", chunk)
            cursor.execute("COMMIT")
        seconds = time.perf_counter() - started
    return {"posts": len(ids), "batch": batch, "seconds": round(seconds, 2), "posts_per_second": round(len(ids) / seconds)}


def dashboard_and_metrics(stack, author_id, published, requests):
    """GET /dispatchers/ (staff) and /metrics with the scale scenario's pending posts and
    `published` posts published in the last hour."""
    progress(f"dashboard and /metrics: {published:,} posts published in the last hour")
    node_ids = [row[0] for row in stack.query("SELECT id FROM dispatchers_dispatchernode ORDER BY id")]
    stack.query(
        "INSERT INTO scheduling_scheduledpost (author_id, text, publish_at, due_at, timezone, status, dispatcher_id, "
        "version, attempts, last_error, claim_token, created_at, updated_at, published_at, lateness_ms, queued, series_detached) "
        "SELECT %s, CONCAT('hour ', seq), NOW(6) - INTERVAL (seq %% 3500) SECOND - INTERVAL (seq %% 97) * 1000 MICROSECOND, "
        "NOW(6) - INTERVAL (seq %% 3500) SECOND - INTERVAL (seq %% 97) * 1000 MICROSECOND, "
        "'UTC', 'published', IF(seq %% 2, %s, %s), 1, 1, '', '', NOW(6), NOW(6), "
        "NOW(6) - INTERVAL (seq %% 3500) SECOND, seq %% 97, 0, 0 "
        f"FROM seq_1_to_{published}", (author_id, node_ids[0], node_ids[-1]),
    )
    from django.contrib.auth import get_user_model
    from django.test import Client

    staff, _ = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    client = Client()
    client.force_login(staff)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    (total,) = stack.query("SELECT COUNT(*) FROM scheduling_scheduledpost")[0]
    results = {"scheduled_posts": total, "published_last_hour": published}
    for name, path in [("dashboard", "/dispatchers/"), ("metrics", "/metrics")]:
        conn = _client(stack)
        latencies = []
        for index in range(requests + 20):  # the first 20 warm every gunicorn worker
            started = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, (path, response.status, body[:200])
            if index >= 20:
                latencies.append((time.perf_counter() - started) * 1000)
        results[f"{name}_p50_ms"] = round(percentile(latencies, 0.5), 1)
        results[f"{name}_p99_ms"] = round(percentile(latencies, 0.99), 1)
    return results


# --- profiles ---------------------------------------------------------------------------

def py_spy(stack, process: str, name: str, seconds: int) -> subprocess.Popen:
    """Samples a process and its children (gunicorn's workers) for `seconds` with py-spy
    (needs root) into docs/profiles/<name>.txt, one collapsed stack a line."""
    PROFILES.mkdir(exist_ok=True)
    return subprocess.Popen(
        [str(VENV_BIN / "py-spy"), "record", "--pid", str(stack.processes[process].pid), "--subprocesses",
         "--duration", str(seconds), "--rate", "200", "--format", "raw", "--nonblocking",
         "--output", str(PROFILES / f"{name}.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


OUR_CODE = ("feed/", "scheduling/", "dispatchers/", "psched/", "accounts/")


def profile_summary(name: str, top: int = 10) -> dict:
    """From py-spy's collapsed stacks: the share of samples in each of our functions (anywhere
    on the stack), and in each file where the time is spent (the innermost frame)."""
    path = PROFILES / f"{name}.txt"
    if not path.exists():
        return {}
    ours, leaves, samples = {}, {}, 0
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        count = int(count)
        samples += count
        seen = set()
        for frame in frames.split(";")[1:]:  # the first is the process
            function, _, where = frame.partition(" (")
            filename = where.rsplit(":", 1)[0].split("site-packages/")[-1].replace(str(ROOT) + "/", "")
            if filename.startswith(OUR_CODE):
                key = f"{filename}: {function}"
                if key not in seen:
                    seen.add(key)
                    ours[key] = ours.get(key, 0) + count
        innermost = frames.split(";")[-1].partition(" (")[2].rsplit(":", 1)[0]
        innermost = innermost.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        leaves[innermost] = leaves.get(innermost, 0) + count

    def ranked(totals):
        return [(key, round(100 * n / samples, 1)) for key, n in sorted(totals.items(), key=lambda item: -item[1])[:top]]

    return {"samples": samples, "our_functions": ranked(ours), "innermost_files": ranked(leaves)}


# --- report -----------------------------------------------------------------------------

def machine():
    mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), "")
    mariadb = subprocess.run(["mysql", "-uroot", "-h127.0.0.1", "-N", "-e", "SELECT VERSION()"], capture_output=True, text=True).stdout.strip()
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    import django

    return {
        "cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024 / 1024, 1), "cpu": cpu,
        "os": platform.platform(), "python": platform.python_version(), "django": django.get_version(),
        "mariadb": mariadb, "redis": redis.replace("v=", ""),
    }


TARGETS = [
    ("steady", "lateness_p50_ms", "≤ 50 ms", lambda v: v is not None and v <= 50),
    ("steady", "lateness_p99_ms", "≤ 10 ms (median of the runs)", lambda v: v is not None and v <= 10),
    ("steady", "lateness_p99_worst_ms", "≤ 10 ms (every run)", lambda v: v is not None and v <= 10),
    ("steady", "lateness_max_ms", "≤ 50 ms (every run)", lambda v: v is not None and v <= 50),
    ("steady", "lost", "0", lambda v: v == 0),
    ("steady", "duplicated", "0", lambda v: v == 0),
    ("steady", "early", "0", lambda v: v == 0),
    ("burst", "posts_per_second", "≥ 25,000/s", lambda v: v is not None and v >= 25000),
    ("publish_floor", "posts_per_second", "(ceiling)", lambda v: v is not None),
    ("burst", "ratio_of_floor", "≥ 0.5", lambda v: v is not None and v >= 0.5),
    ("burst", "lost", "0", lambda v: v == 0),
    ("burst", "duplicated", "0", lambda v: v == 0),
    ("intake", "requests_per_second", "≥ 1,000/s", lambda v: v >= 1000),
    ("intake", "floor_drf_insert_rps", "(floor)", lambda v: v is not None),
    ("intake", "floor_bare_rps", "(ceiling)", lambda v: v is not None),
    ("intake", "ratio_of_drf_insert", "≥ 0.8", lambda v: v is not None and v >= 0.8),
    ("intake", "ratio_of_bare", "(for the record)", lambda v: v is not None),
    ("bulk_intake", "seconds", "≤ 2 s", lambda v: v <= 2),
    ("scale", "idle_tick_p50_ms", "≤ 5 ms", lambda v: v <= 5),
    ("dashboard", "dashboard_p99_ms", "≤ 50 ms", lambda v: v <= 50),
    ("dashboard", "metrics_p99_ms", "≤ 50 ms", lambda v: v <= 50),
    ("feed", "first_page_p99_ms", "≤ 20 ms", lambda v: v <= 20),
    ("feed", "deep_page_p99_ms", "≤ 20 ms", lambda v: v <= 20),
    ("burst", "worker_peak_rss_mb", "≤ 200 MB", lambda v: v <= 200),
    ("delivery_burst", "deliveries_per_second", "(10,000 webhooks)", lambda v: v is not None),
    ("delivery_burst", "receiver_ceiling_per_second", "(ceiling)", lambda v: v is not None),
    ("delivery_burst", "ratio_of_ceiling", "≥ 0.5", lambda v: v is not None and v >= 0.5),
    ("delivery_burst", "signatures_failed", "0", lambda v: v == 0),
    ("delivery_steady", "lateness_p50_ms", "(after publishing)", lambda v: v is not None),
    ("delivery_steady", "lateness_p99_ms", "≤ 100 ms at 100/s", lambda v: v is not None and v <= 100),
    ("calendar", "week_p50_ms", "≤ 300 ms", lambda v: v <= 300),
    ("calendar", "month_p50_ms", "≤ 300 ms", lambda v: v <= 300),
    ("bluesky_ceiling", "puts_per_second", "(ceiling)", lambda v: v is not None),
    ("bluesky", "deliveries_per_second", "(for the record)", lambda v: v is not None),
    ("bluesky", "ratio_of_ceiling", "≥ 0.8", lambda v: v is not None and v >= 0.8),
    ("bluesky", "lateness_p99_ms", "(for the record)", lambda v: v is not None),
]


def table(results) -> str:
    lines = ["| scenario | figure | value | target | met |", "|---|---|---|---|---|"]
    for scenario, key, target, ok in TARGETS:
        value = results["scenarios"].get(scenario, {}).get(key)
        lines.append(f"| {scenario} | {key} | {value} | {target} | {'yes' if value is not None and ok(value) else 'no'} |")
    return "\n".join(lines)


def steady_runs_table(results) -> str:
    """Each steady run's figures (a bad run shows), and the stages of the worst run's slowest
    posts, in ms from their due time (the timing log)."""
    steady_found = results["scenarios"].get("steady")
    if not steady_found or "per_run" not in steady_found:
        return ""
    lines = ["Steady, run by run (the first right after the intake burst):", "",
             "| run | p50 ms | p99 ms | max ms | lost | duplicated | early |", "|---|---|---|---|---|---|---|"]
    for number, run in enumerate(steady_found["per_run"], 1):
        lines.append(f"| {number} | {run['lateness_p50_ms']} | {run['lateness_p99_ms']} | {run['lateness_max_ms']} | "
                     f"{run['lost']} | {run['duplicated']} | {run['early']} |")
    worst = max(steady_found["per_run"], key=lambda run: run["lateness_max_ms"] or 0)
    lines += ["", f"The slowest 1 % of run {steady_found['per_run'].index(worst) + 1}: each stage's instant in ms "
              "from the post's due time (tick: the node's tick began; claimed; sent; received: the callback's "
              "view began; held: its wait for `at` ended; committed; answered: the node had the answer).", "",
              "| post | late ms | node | " + " | ".join(STAGES) + " |", "|---|---|---|" + "---|" * len(STAGES)]
    for entry in worst["slowest"]:
        lines.append(f"| {entry['id']} | {entry['lateness_ms']} | {entry.get('node', '')} | "
                     + " | ".join(str(entry.get(stage, "")) for stage in STAGES) + " |")
    return "\n".join(lines)


def write_docs(results):
    (DOCS / "benchmarks.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    page = DOCS / "benchmarks.md"
    text = page.read_text() if page.exists() else "# Benchmarks\n\n<!-- results -->\n<!-- /results -->\n"
    m = results["machine"]
    block = (
        f"<!-- results -->\nLatest run: {results['finished_at']} ({'quick' if results['quick'] else 'full'}), "
        f"on {m['cores']} cores, {m['memory_gib']} GiB ({m['cpu']}), {m['os']}; Python {m['python']}, "
        f"Django {m['django']}, MariaDB {m['mariadb']}, Redis {m['redis']}; everything on one machine.\n\n"
        f"{table(results)}\n\n{steady_runs_table(results)}\n\nAll figures: docs/benchmarks.json.\n<!-- /results -->"
    )
    start, end = text.index("<!-- results -->"), text.index("<!-- /results -->") + len("<!-- /results -->")
    text = text[:start] + block + text[end:]
    if results.get("profiles") and "<!-- profiles -->" in text:
        lines = ["<!-- profiles -->", f"py-spy at 200 samples/s, {results['finished_at']} "
                 f"({'quick' if results['quick'] else 'full'} run); the collapsed stacks are in docs/profiles/.", ""]
        for name, summary in results["profiles"].items():
            lines += [f"**{name}** ({summary['samples']} samples of busy threads)", "",
                      "| our function (on the stack) | % | file where the time is spent | % |", "|---|---|---|---|"]
            rows = max(len(summary["our_functions"]), len(summary["innermost_files"]))
            for index in range(rows):
                left = summary["our_functions"][index] if index < len(summary["our_functions"]) else ("", "")
                right = summary["innermost_files"][index] if index < len(summary["innermost_files"]) else ("", "")
                lines.append(f"| {'`' + left[0] + '`' if left[0] else ''} | {left[1]} | {'`' + right[0] + '`' if right[0] else ''} | {right[1]} |")
            lines.append("")
        start = text.index("<!-- profiles -->")
        end = text.index("<!-- /profiles -->") + len("<!-- /profiles -->")
        text = text[:start] + "\n".join(lines) + "<!-- /profiles -->" + text[end:]
    page.write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, about a minute")
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    parser.add_argument("--profile", action="store_true", help="py-spy the web server and a node during burst and intake (root)")
    args = parser.parse_args()
    q = args.quick
    sizes = {
        "steady": (300, 10, 2, 5) if q else (1200, 30, 5, 10),
        "burst": 10_000 if q else 100_000,
        "intake": (16, 6) if q else (16, 30),
        "bulk": 10_000,
        "publish_floor": 10_000 if q else 100_000,
        "dashboard": (10_000, 100) if q else (100_000, 300),
        "scale": 100_000 if q else 1_000_000,
        "feed": (100_000, 50) if q else (1_000_000, 300),
        "deliveries": (2_000, (500, 5.0), 3.0) if q else (10_000, (3_000, 30.0), 10.0),
    }
    # PSCHED_WEBHOOK_ALLOW_PRIVATE: webhooks go to the local receiver, Bluesky to the local PDS.
    stack = BenchStack("bench", env={"LOG_LEVEL": "WARNING", "PSCHED_TIMING_LOG": "1", "PSCHED_LEASE_SECONDS": "30", "PSCHED_WEBHOOK_ALLOW_PRIVATE": "1"})
    setup_django(stack)
    results = {"quick": q, "started_at": now_utc().isoformat(timespec="seconds"), "machine": machine(), "scenarios": {}}
    progress(f"starting the stack (database {stack.database})")
    try:  # a stack that fails to start (a slow machine) is stopped all the same
        stack.start(nodes=("a", "b"))
        warm_up(stack)
        (author_id,) = stack.query("SELECT id FROM auth_user WHERE username = 'alice'")[0]
        wanted = set(args.only or [
            "steady", "burst", "deliveries", "intake", "bulk_intake", "scale", "dashboard", "feed", "calendar", "bluesky",
        ])
        scenarios = results["scenarios"]
        if "steady" in wanted:
            scenarios["steady"] = steady(stack, author_id, *sizes["steady"])
        if "burst" in wanted:
            scenarios["burst"] = burst(stack, author_id, sizes["burst"])
            scenarios["publish_floor"] = publish_floor(stack, author_id, sizes["publish_floor"])
            if scenarios["burst"]["posts_per_second"]:
                scenarios["burst"]["ratio_of_floor"] = round(
                    scenarios["burst"]["posts_per_second"] / scenarios["publish_floor"]["posts_per_second"], 2)
        if "deliveries" in wanted:
            burst_size, steady_size, ceiling_seconds = sizes["deliveries"]
            found = deliveries(
                stack, author_id, burst=burst_size, steady=steady_size, ceiling_seconds=ceiling_seconds,
                create_scheduled=create_scheduled, progress=progress,
            )
            scenarios["delivery_burst"], scenarios["delivery_steady"] = found["burst"], found["steady"]
            scenarios["delivery_burst"]["signatures_failed"] = found["signatures_failed"]
        if "intake" in wanted:
            scenarios["intake"] = intake(stack, *sizes["intake"], profile=args.profile)
        if "bulk_intake" in wanted:
            results["scenarios"]["bulk_intake"] = bulk_intake(stack, sizes["bulk"])
        if "scale" in wanted:
            results["scenarios"]["scale"] = scale(stack, author_id, sizes["scale"])
        if "dashboard" in wanted:
            results["scenarios"]["dashboard"] = dashboard_and_metrics(stack, author_id, *sizes["dashboard"])
        if "feed" in wanted:
            results["scenarios"]["feed"] = feed(stack, author_id, *sizes["feed"])
        if "calendar" in wanted:
            results["scenarios"]["calendar"] = calendar(count=10_000, progress=progress)
        if "bluesky" in wanted:  # deliveries to a local PDS, beside its own ceiling (sequential putRecord)
            scenarios["bluesky_ceiling"] = pds_ceiling(posts=100, rounds=3, progress=progress)
            scenarios["bluesky"] = bluesky_deliveries(stack, posts=200 if q else 1000, progress=progress)
            if scenarios["bluesky"]["deliveries_per_second"]:
                scenarios["bluesky"]["ratio_of_ceiling"] = round(
                    scenarios["bluesky"]["deliveries_per_second"] / scenarios["bluesky_ceiling"]["puts_per_second"], 2)
        if args.profile:
            # Apart from the measured runs: py-spy takes CPU from the two cores it watches.
            if "burst" in wanted:
                burst(stack, author_id, 20_000, profile=True, prefix="profiled-burst")
    finally:
        progress("stopping the stack")
        stack.stop()
    results["finished_at"] = now_utc().isoformat(timespec="seconds")
    if args.profile:
        results["profiles"] = {
            name: profile_summary(name)
            for name in ("burst-web", "burst-node-a", "intake-psched", "intake-floor") if (PROFILES / f"{name}.txt").exists()
        }
    print(table(results))
    print(steady_runs_table(results))
    if args.only:  # a partial run would blank the other figures in docs/
        partial = ROOT / "var" / "bench-only.json"
        partial.parent.mkdir(exist_ok=True)
        partial.write_text(json.dumps(results, indent=2, default=str) + "\n")
        progress(f"wrote {partial} (docs/ is rewritten by a run of every scenario)")
        return
    write_docs(results)
    progress("wrote docs/benchmarks.json and docs/benchmarks.md")


if __name__ == "__main__":
    main()
