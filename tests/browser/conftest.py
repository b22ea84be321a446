"""A real psched for the browser (the shared process stack: its own MariaDB database and Redis,
gunicorn with DEBUG off and static files from whitenoise, one dispatcher node and beat, all on
127.0.0.1); and Debian's chromium, driven headless by Playwright."""
import re
import secrets

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

from stack import ROOT, Stack

ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
STAFF_PASSWORD = "staff-browser-password-1"


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    """The shared process stack with one node, static files collected and a staff account."""
    suffix = secrets.token_hex(4)
    stack = Stack("browser", env={
        "STATIC_ROOT": str(tmp_path_factory.mktemp("static")), "LOG_LEVEL": "WARNING",
        "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD,
    })
    stack.node_name = f"browser-{suffix}"
    stack.staff_username = f"staff-{suffix}"
    stack.staff_password = STAFF_PASSWORD
    try:
        stack.manage("collectstatic", "--noinput", "-v0")
        stack.start(nodes=(stack.node_name,), users=())
        stack.manage("createsuperuser", "--noinput", "--username", stack.staff_username, "--email", "staff@example.com")
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
