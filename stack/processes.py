"""A whole psched on 127.0.0.1 for integration, browser and fuzz tests and the benchmark: a private Redis (or, with broker="amqp",
a private vhost on the local RabbitMQ), a fresh MariaDB database, gunicorn, dispatcher nodes
and beat as real processes. Each Stack is independent (own database, own broker, own ports),
so scenarios can run in parallel. With a `network` (stack.hosts), the processes
it places run on test hosts of their own, with their own addresses and clocks.

Nodes call back through a FaultProxy in front of gunicorn, so a test can make the callback
target answer 503 or refuse connections without touching psched's code."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import MySQLdb

from .proxy import FaultProxy
from .waiting import at, free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "artifacts" / "integration"
MYSQL = {"host": "127.0.0.1", "port": 3306, "user": "root", "passwd": ""}
# Debian's faketime: LD_PRELOAD it with FAKETIME=+60s and the process's wall clock is a minute
# ahead. See clock_env.
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
FAKETIME_SITE = Path(__file__).resolve().parent / "faketime"


def clock_env(clock: str, env: dict | None = None) -> dict:
    """What a process needs in its environment to run by a wall clock `clock` off the true one
    (FAKETIME's offset, e.g. "+30s"), as on a host whose clock is off: its monotonic clock is
    left true (timed waits keep their length), and time.sleep is mended for libfaketime
    (faketime/sitecustomize.py)."""
    env = dict(env or {})
    path = env.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    env.update(LD_PRELOAD=str(LIBFAKETIME), FAKETIME=clock, FAKETIME_DONT_FAKE_MONOTONIC="1",
               PYTHONPATH=os.pathsep.join(part for part in (str(FAKETIME_SITE), path) if part),
               # A process under libfaketime has died of SIGSEGV as it started (rarely): its
               # log then says where.
               PYTHONFAULTHANDLER="1")
    return env



def group_signal(process: subprocess.Popen | None, sig) -> bool:
    """Sends sig to a process started in its own session (its whole group); False when the
    process is already gone."""
    if process is None or process.poll() is not None:
        return False
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return False
    return True


def group_wait(process: subprocess.Popen, wait: float) -> None:
    """Waits for a signalled process; SIGKILL to its group when it outlives `wait`."""
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def group_stop(process: subprocess.Popen | None, sig=signal.SIGTERM, *, wait: float = 15) -> None:
    """Sends sig to a process started in its own session (its whole group) and waits for it;
    SIGKILL when it outlives `wait`. Nothing to do for a process already gone."""
    if group_signal(process, sig):
        group_wait(process, wait)

class Stack:
    """One psched's processes, started from the repo root with their own environment (production
    settings, DEBUG off); logs in artifacts/integration/<id>/."""

    def __init__(self, name: str, *, broker: str = "redis", env: dict | None = None, network=None, mysql_port=3306,
                 web_clock: str = ""):
        self.name = name
        self.network = network
        self.mysql = {**MYSQL, "port": mysql_port}  # another port: a private MariaDB server
        self.id = f"{name}_{uuid.uuid4().hex[:8]}"
        self.database = f"psched_it_{self.id}"
        self.logs = ARTIFACTS / self.id
        self.logs.mkdir(parents=True, exist_ok=True)
        self.web_port = free_port()
        self.url = f"http://{self.web_address}:{self.web_port}"  # place the web host before
        self.proxy = FaultProxy(self.web_port)
        self.processes: dict[str, subprocess.Popen] = {}
        self.broker = broker
        self.redis_port = free_port() if broker == "redis" else None
        # RabbitMQ: one server for all stacks, a private vhost for each (queues do not mix).
        self.vhost = f"psched_it_{self.id}" if broker == "amqp" else None
        self.extra_env = env or {}
        self.web_clock = web_clock  # FAKETIME for gunicorn alone, e.g. "+60s": a web host whose clock is off
        self.tokens = {}

    # --- lifecycle --------------------------------------------------------------------
    @property
    def web_address(self) -> str:
        web_host = self.network and self.network.placement.get("web")
        return web_host.address if web_host else "127.0.0.1"

    @property
    def env(self) -> dict:
        broker_url = (
            f"redis://127.0.0.1:{self.redis_port}/0" if self.broker == "redis"
            else f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}"
        )
        return {
            **os.environ,
            # The processes run as deployed, not with the test settings of the pytest that started them.
            "DJANGO_SETTINGS_MODULE": "psched.settings",
            "DATABASE_URL": f"mysql://root@127.0.0.1:{self.mysql['port']}/{self.database}",
            "CELERY_BROKER_URL": broker_url,
            "SECRET_KEY": "integration-secret",
            "DEBUG": "0",
            "PSCHED_API_URL": f"http://127.0.0.1:{self.proxy.port}",
            "PSCHED_LEASE_SECONDS": "6",
            "PSCHED_RETRY_BASE_SECONDS": "0.5",
            "PSCHED_RETRY_MAX_SECONDS": "4",
            "PSCHED_CALLBACK_TIMEOUT": "5",
            "PSCHED_SCHEDULING_THROTTLE": "1000000/hour",
            "PSCHED_POSTING_THROTTLE": "1000000/hour",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def start(self, *, nodes=("a", "b"), users=("alice",)):
        if self.broker == "redis":
            self.start_redis()
        else:
            self.create_vhost()
        self.create_database(users=users)
        self.start_web()
        for node in nodes:
            self.start_node(node)
        self.start_beat()
        self.wait_web_started()
        for node in nodes:
            self.wait_node_ticking(node)
        return self

    def start_web_only(self, *, users=("alice",), workers: int = 2):
        """The database and gunicorn, no nodes or beat (nor a Redis: the API does not need one,
        and the throttle counters go to the database cache)."""
        self.extra_env.setdefault("PSCHED_CACHE_URL", "db")
        self.create_database(users=users)
        self.start_web(workers=workers)
        self.wait_web_started()
        return self

    def create_database(self, *, users):
        with MySQLdb.connect(**self.mysql) as conn:
            conn.cursor().execute(f"CREATE DATABASE `{self.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        self.manage("migrate", "--noinput", "-v0")
        for user in users:
            self.manage("shell", "-c", f"from accounts.services import user_ensure; user_ensure(username={user!r}, password='pw-{user}-123456')")

    def stop(self, wait: float = 15):
        """Every process asked to stop at once (SIGTERM to its group), then waited for together:
        whatever still runs after `wait` seconds is killed."""
        stopping = [process for name in list(self.processes) if group_signal(process := self.processes.pop(name), signal.SIGTERM)]
        deadline = time.monotonic() + wait
        for process in stopping:
            group_wait(process, max(0.0, deadline - time.monotonic()))
        self.proxy.close()
        try:
            with MySQLdb.connect(**self.mysql) as conn:
                conn.cursor().execute(f"DROP DATABASE IF EXISTS `{self.database}`")
        except MySQLdb.Error:
            pass
        if self.vhost:
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", self.vhost], capture_output=True, timeout=60)

    def manage(self, *args, timeout=120):
        result = subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", *args], cwd=ROOT, env=self.env,
            capture_output=True, text=True, timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def spawn(self, name: str, argv: list[str], env: dict | None = None):
        log = open(self.logs / f"{name}.log", "ab")
        env = {**self.env, **(env or {})}
        if self.network:
            argv, env = self.network.command(name, argv, env, web=f"{self.web_address}:{self.web_port}")
        self.processes[name] = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self.processes[name]

    def kill(self, name: str, sig=signal.SIGKILL, wait: float = 15):
        group_stop(self.processes.pop(name, None), sig, wait=wait)

    def restart_redis(self):
        """Kills the private Redis and starts an empty one on the same port: every queued tick
        and unacknowledged message is gone. MySQL is the record, so nothing may be lost."""
        self.kill("redis", signal.SIGKILL)
        wait_for(lambda: not port_open(self.redis_port), 60, what="redis gone")
        self.start_redis()

    def start_redis(self):
        self.spawn("redis", [
            "redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "", "--appendonly", "no",
        ])
        wait_for(lambda: port_open(self.redis_port), 60, what="redis")

    def create_vhost(self):
        for argv in (
            ["rabbitmqctl", "-q", "add_vhost", self.vhost],
            ["rabbitmqctl", "-q", "set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*"],
        ):
            result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            if result.returncode != 0:
                raise AssertionError(f"{' '.join(argv)} failed (is RabbitMQ running?):\n{result.stdout}{result.stderr}")

    def start_web(self, workers: int = 2):
        self.spawn("web", [
            str(VENV_BIN / "gunicorn"), "psched.wsgi", "-b", f"{self.web_address}:{self.web_port}",
            "--workers", str(workers), "--threads", "4", "--timeout", "60", "--log-level", "warning",
        ], env=clock_env(self.web_clock) if self.web_clock else None)

    def stop_web(self, sig=signal.SIGKILL):
        """Really stops gunicorn (SIGKILL by default: callbacks in flight die with it)."""
        self.kill("web", sig)
        wait_for(lambda: not port_open(self.web_port, self.web_address), 60, what="web server gone")

    def start_node(self, node: str, process: str | None = None):
        """Starts a worker of `node`; `process` names a second worker of the same node."""
        self.spawn(process or f"node-{node}", [
            str(VENV_BIN / "python"), "manage.py", "run_dispatcher", node, "--loglevel", "INFO",
        ])

    def start_beat(self, name: str = "beat"):
        self.spawn(name, [
            str(VENV_BIN / "celery"), "-A", "psched", "beat", "-S", "dispatchers.beat:TickScheduler",
            "--pidfile=", "--loglevel", "INFO",
        ])

    def log_text(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def wait_web_started(self, timeout: float = 120):
        """Until our gunicorn answers (generous: several stacks start at once on a 2-core
        machine shared with other work). A gunicorn that exited, e.g. unable to bind its port,
        fails here, not later in the test."""
        def started():
            web = self.processes.get("web")
            if web is not None and web.poll() is not None:
                raise AssertionError(f"the web server exited ({web.returncode}):\n{self.log_text('web')[-2000:]}")
            return self.web_ready()
        wait_for(started, timeout, what="web server")

    def web_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/", timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def wait_node_ticking(self, node: str, timeout: float = 120):
        start = self.query("SELECT NOW(6)")[0][0]
        wait_for(
            lambda: self.query("SELECT 1 FROM dispatchers_dispatchernode WHERE name=%s AND last_seen > %s", (node, start)),
            timeout, what=f"node {node} ticking",
        )

    # --- API and database -------------------------------------------------------------
    def request(self, method: str, path: str, body=None, user: str = "alice"):
        token = self.tokens.get(user)
        if token is None:
            _, answer = self._call("POST", "/api/auth/token/", {"username": user, "password": f"pw-{user}-123456"})
            token = self.tokens[user] = answer["token"]
        return self._call(method, path, body, token)

    def _call(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                text = response.read().decode()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read().decode()
            return error.code, json.loads(text) if text.startswith(("{", "[")) else text

    def schedule_spread(self, label: str, *, start: float, seconds: float, count: int = 1000) -> list[int]:
        """Schedules count posts due evenly over `seconds`, the first one at least `start` seconds
        after the request is sent; returns their ids. The times are computed just before sending;
        on a machine so loaded that the server, by the time it validated them, found the first
        ones in the past (400, nothing created), they are sent again with the lead doubled, a
        bounded number of times. A scenario times its faults from the real due times (due_range)."""
        assert count <= 1000, "one bulk request (PSCHED_MAX_BULK)"
        step = seconds / count
        lead = start
        for _ in range(4):
            items = [{"text": f"{label} {i}", "publish_at": at(lead + i * step)} for i in range(count)]
            status, body = self.request("POST", "/api/scheduled-posts/", items)
            if status == 201:
                return [post["id"] for post in body]
            if status != 400 or "in the past" not in str(body):
                raise AssertionError((status, str(body)[:500]))
            lead *= 2
        raise AssertionError(f"publish_at still in the past with a lead of {lead / 2} s: {str(body)[:300]}")

    def db_now(self) -> datetime:
        """The database's clock (UTC): the one that decides when a post is due."""
        return self.query("SELECT UTC_TIMESTAMP(6)")[0][0].replace(tzinfo=timezone.utc)

    def due_range(self, ids) -> tuple[datetime, datetime]:
        """The first and last publish_at (UTC) of these posts, as stored."""
        placeholders = ", ".join(["%s"] * len(ids))
        first, last = self.query(
            f"SELECT MIN(publish_at), MAX(publish_at) FROM scheduling_scheduledpost WHERE id IN ({placeholders})", tuple(ids))[0]
        return first.replace(tzinfo=timezone.utc), last.replace(tzinfo=timezone.utc)

    def held_by(self, node: str) -> int:
        """How many posts the node holds claimed (status publishing)."""
        return self.query(
            "SELECT COUNT(*) FROM scheduling_scheduledpost s JOIN dispatchers_dispatchernode n ON n.id = s.dispatcher_id "
            "WHERE n.name = %s AND s.status = 'publishing'", (node,))[0][0]

    def assert_each_published_once(self, expected_ids):
        counts = self.publication_counts()
        lost = [pk for pk in expected_ids if counts.get(pk, 0) == 0]
        twice = [pk for pk in expected_ids if counts.get(pk, 0) > 1]
        assert not lost, f"{len(lost)} posts never published, e.g. {lost[:5]}; logs in {self.logs}"
        assert not twice, f"{len(twice)} posts published more than once, e.g. {twice[:5]}"

    def schedule(self, items: list[dict], user: str = "alice") -> list[dict]:
        created = []
        for start in range(0, len(items), 1000):
            status, body = self.request("POST", "/api/scheduled-posts/", items[start:start + 1000], user=user)
            assert status == 201, (status, str(body)[:500])
            created += body
        return created

    def query(self, sql: str, args=()):
        with MySQLdb.connect(db=self.database, **self.mysql) as conn:
            conn.autocommit(True)
            cursor = conn.cursor()
            cursor.execute(sql, args)
            return cursor.fetchall()

    def kill_db_connections(self, *, seconds: float, every: float = 0.25) -> dict:
        """For `seconds`, KILLs every connection to the stack's database (web, nodes, beat; not
        this one) each `every` seconds, as a flaky network or a database failover would: idle
        ones, and busy ones in the middle of a claim, a sweep or a publish callback.
        Returns how many were killed, and how many of them were busy."""
        connections = (
            "SELECT p.id, p.command <> 'Sleep' OR t.trx_id IS NOT NULL FROM information_schema.processlist p "
            "LEFT JOIN information_schema.innodb_trx t ON t.trx_mysql_thread_id = p.id "
            "WHERE p.db = %s AND p.id <> CONNECTION_ID()"
        )
        killed = {"connections": 0, "busy": 0}
        with MySQLdb.connect(**self.mysql) as conn:
            conn.autocommit(True)
            cursor = conn.cursor()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                cursor.execute(connections, (self.database,))
                for thread_id, busy in cursor.fetchall():
                    try:
                        cursor.execute(f"KILL {int(thread_id)}")
                    except MySQLdb.Error:
                        continue  # it ended on its own meanwhile
                    killed["connections"] += 1
                    killed["busy"] += bool(busy)
                time.sleep(every)
        return killed

    def status_counts(self) -> dict:
        return dict(self.query("SELECT status, COUNT(*) FROM scheduling_scheduledpost GROUP BY status"))

    def publication_counts(self) -> dict:
        """For every scheduled post: how many feed posts carry its text (catches duplicates that
        would bypass the unique key, too)."""
        rows = self.query(
            "SELECT s.id, COUNT(p.id) FROM scheduling_scheduledpost s "
            "LEFT JOIN feed_post p ON p.text = s.text AND p.author_id = s.author_id GROUP BY s.id"
        )
        return dict(rows)

    def published_per_node(self) -> dict:
        return dict(self.query(
            "SELECT n.name, COUNT(*) FROM feed_post p JOIN dispatchers_dispatchernode n ON n.id = p.dispatcher_id "
            "GROUP BY n.name"
        ))

    def wait_settled(self, expected_published: int, timeout: float):
        """Waits until nothing is pending or publishing any more and the count is reached."""
        def settled():
            counts = self.status_counts()
            active = counts.get("pending", 0) + counts.get("publishing", 0)
            return active == 0 and counts.get("published", 0) >= expected_published
        try:
            wait_for(settled, timeout, interval=0.5, what=f"{expected_published} published posts")
        except AssertionError as error:
            raise AssertionError(f"{error}; status counts now {self.status_counts()}; logs in {self.logs}") from None
