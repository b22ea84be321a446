"""A real psched for the browser: its own MariaDB database, gunicorn (DEBUG off, static files
from whitenoise), one dispatcher node and beat, all on 127.0.0.1; and Debian's chromium,
driven headless by Playwright."""
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import MySQLdb
import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
STAFF_PASSWORD = "staff-browser-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """The processes of one psched, started from the repo root with their own environment."""

    def __init__(self, tmp: Path):
        suffix = secrets.token_hex(4)
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.node_name = f"browser-{suffix}"
        self.staff_username = f"staff-{suffix}"
        main_db = dj_database_url.parse(os.environ["DATABASE_URL"])
        if not main_db["ENGINE"].endswith("mysql"):
            pytest.skip("the browser tests need MariaDB or MySQL (DATABASE_URL=mysql://…)")
        self.db = {**main_db, "NAME": f"psched_browser_{suffix}"}
        broker = urlsplit(os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
        self.env = {
            **os.environ,
            "DATABASE_URL": re.sub(r"/[^/]*$", f"/{self.db['NAME']}", os.environ["DATABASE_URL"]),
            # Ticks go to the queue of this run's node only, so a shared Redis database is safe.
            "CELERY_BROKER_URL": urlunsplit(broker._replace(path="/14")) if broker.scheme == "redis" else broker.geturl(),
            "SECRET_KEY": "browser-test-secret-key",
            "DEBUG": "0",
            "STATIC_ROOT": str(tmp / "static"),
            "PSCHED_API_URL": self.url,
            "PSCHED_TICK_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD,
        }
        self.processes: dict[str, subprocess.Popen] = {}

    def _mysql(self, statement: str) -> None:
        connection = MySQLdb.connect(
            host=self.db["HOST"] or "127.0.0.1", port=int(self.db["PORT"] or 3306),
            user=self.db["USER"] or "root", password=self.db["PASSWORD"] or "",
        )
        try:
            connection.cursor().execute(statement)
        finally:
            connection.close()

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True, capture_output=True, timeout=300)
        return done.stdout.decode()

    def start(self) -> None:
        self._mysql(f"CREATE DATABASE `{self.db['NAME']}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        self.manage("migrate", "--noinput", "-v0")
        self.manage("collectstatic", "--noinput", "-v0")
        self.manage("createsuperuser", "--noinput", "--username", self.staff_username, "--email", "staff@example.com")
        self._spawn("web", str(BIN / "gunicorn"), "psched.wsgi", "-b", f"127.0.0.1:{self.port}", "--workers", "2", "--threads", "4",
                    "--no-control-socket")
        self._spawn("node", sys.executable, "manage.py", "run_dispatcher", self.node_name, "--loglevel", "WARNING")
        self._spawn(
            "beat", str(BIN / "celery"), "-A", "psched", "beat", "-S", "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile=", "--loglevel", "WARNING",
        )
        self._wait_for_web()

    def _spawn(self, name: str, *command: str) -> None:
        log = open(self.tmp / f"{name}.log", "wb")
        # Its own session, so stopping it also stops the workers it forked (gunicorn).
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _wait_for_web(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)}")
            try:
                if requests.get(f"{self.url}/", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still loading
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the web server did not answer on {self.url} within {timeout} s:\n{self.log('web')}")

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self._mysql(f"DROP DATABASE IF EXISTS `{self.db['NAME']}`")


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("stack"))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="package")
def browser():
    # Package scope: Playwright's event loop is gone before the database tests run.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def context(request, browser, stack):
    """A fresh browser profile (no cookies) in a zone that is not UTC. When the test fails,
    each of its pages is saved as a screenshot under artifacts/. Parametrize it indirectly to
    change an option, e.g. {"java_script_enabled": False}."""
    options = {"timezone_id": "Asia/Tokyo", "locale": "en-GB", **getattr(request, "param", {})}
    context = browser.new_context(base_url=stack.url, **options)
    context.set_default_timeout(10_000)
    yield context
    report = getattr(request.node, "report_call", None)
    if report is None or report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for index, page in enumerate(context.pages):
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            page.screenshot(path=str(ARTIFACTS / f"{name}-{index}.png"), full_page=True)
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def signed_in(page, stack):
    """A page signed in as a new user (through the sign-up form)."""
    username = f"user-{secrets.token_hex(3)}"
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill("a-long-pass-phrase-1")
    page.get_by_label("Password confirmation").fill("a-long-pass-phrase-1")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{stack.url}/")
    page.username = username
    return page


@pytest.fixture
def staff_page(page, stack):
    """A page signed in as the stack's staff user."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(stack.staff_username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name=stack.staff_username)).to_be_visible()
    return page


AXE = Axe()  # axe-core's axe.min.js, shipped in the axe-playwright-python package


def serious_accessibility_violations(page) -> list[str]:
    """axe-core run inside the page: its serious and critical violations, one line each."""
    results = AXE.run(page, options={"resultTypes": ["violations"]})
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
