"""Every page at 1280 and 390 px wide (a phone): a screenshot of each is saved on every run, for
a reviewer to look at (artifacts/pages/<page>-1280.png, -390.png); axe-core finds nothing serious
at either width; and at 390 px no element reaches past the viewport, except inside a box that
scrolls on its own (the calendar's grid)."""
import secrets
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .conftest import ARTIFACTS, STAFF_PASSWORD, serious_accessibility_violations

pytestmark = [pytest.mark.integration, pytest.mark.browser]  # real web, node and beat processes, and chromium
PARIS = ZoneInfo("Europe/Paris")  # the browser's zone here, and no zone on the profile (as a newcomer)
SCREENSHOTS = ARTIFACTS / "pages"
WIDTHS = (1280, 390)
PASSWORD = "a-long-pass-phrase-1"

# name: (who is signed in, path; "{post}" and friends are filled from the account's data)
PAGES = {
    "feed-anonymous": (None, "/"),
    "login": (None, "/accounts/login/"),
    "signup": (None, "/accounts/signup/"),
    "feed": ("user", "/"),
    "scheduled": ("user", "/scheduled/"),
    "edit": ("user", "/scheduled/{pending}/edit/"),
    "edit-draft": ("user", "/scheduled/{draft}/edit/"),
    "duplicate": ("user", "/scheduled/{published}/duplicate/"),
    "cancel": ("user", "/scheduled/{pending}/cancel/"),
    "queue": ("user", "/queue/"),
    "queue-newcomer": ("newcomer", "/queue/"),
    "calendar": ("user", "/calendar/"),
    "calendar-month": ("user", "/calendar/?view=month"),
    "series-new": ("user", "/scheduled/series/new/"),
    "series-edit": ("user", "/scheduled/series/{series}/edit/"),
    "profile": ("user", "/accounts/profile/"),
    "destinations": ("user", "/destinations/"),
    "dispatchers": ("staff", "/dispatchers/"),
    "dispatcher-drain": ("staff", "/dispatchers/{node}/state/?state=draining"),
    "api-docs": ("user", "/api/docs/"),
}

# Each element that reaches past the right edge and is not inside a box scrolling sideways.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(el).overflowX);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || box.right <= width + 1 || box.right <= 0) continue;
    // A box positioned absolutely is clipped by a scrolling box only when that box holds its
    // containing block (a visually hidden label in a table that scrolls may still widen the page).
    const position = getComputedStyle(el).position;
    let up = position === "absolute" || position === "fixed" ? el.offsetParent : el.parentElement, held = false;
    for (; up && up !== document.body; up = up.parentElement) if (scrolls(up)) { held = true; break; }
    if (!held) found.push(name(el) + " reaches " + Math.round(box.right) + "px");
  }
  return {width: width, scrollWidth: document.documentElement.scrollWidth, found: found.slice(0, 8)};
}"""


def api(context, method, path, data=None):
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    response = context.request.fetch(path, method=method, data=data, headers={"X-CSRFToken": token})
    assert response.ok, (path, response.status, response.text())
    return response.json()


def wait_published(context, post_id: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while api(context, "GET", f"/api/scheduled-posts/{post_id}/")["status"] != "published":
        assert time.monotonic() < deadline, f"scheduled post {post_id} was not published within {timeout} s"
        time.sleep(0.2)


def sign_up(browser, stack, options):
    """A browser context signed in as a new user, through the sign-up form."""
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill(f"layout-{secrets.token_hex(3)}")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{stack.url}/")
    return context


@pytest.fixture(scope="module")
def accounts(browser, stack, tmp_path_factory):
    """A new user with one of each thing the pages show, a newcomer who has written nothing, and
    the staff user: their browser states, and the ids that the paths need."""
    folder = tmp_path_factory.mktemp("layout")
    options = {"base_url": stack.url, "timezone_id": "Europe/Paris", "locale": "en-GB"}
    context = sign_up(browser, stack, options)
    context.storage_state(path=folder / "newcomer.json")  # no zone on the profile, nothing written yet
    context.close()
    context = sign_up(browser, stack, options)
    page = context.pages[0]
    soon = datetime.now(PARIS) + timedelta(seconds=5)  # still ahead when a loaded server reads it
    tomorrow = (datetime.now(PARIS) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    schedule = lambda text, at, **more: api(context, "POST", "/api/scheduled-posts/", {  # noqa: E731
        "text": text, "publish_at": at.isoformat(), "timezone": "Europe/Paris", **more,
    })
    ids = {
        "published": schedule("published a moment after it was written", soon)["id"],
        "pending": schedule("a post for tomorrow morning, with a longer text that has to wrap on a phone", tomorrow)["id"],
        "draft": api(context, "POST", "/api/scheduled-posts/", {"text": "an idea for later", "draft": True})["id"],
        "series": api(context, "POST", "/api/series/", {
            "text": "weekly notes", "start": f"{tomorrow:%Y-%m-%dT09:00:00}", "timezone": "Europe/Paris",
            "rrule": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10",
        })["id"],
        "node": stack.node_name,
    }
    page.goto("/queue/")
    page.get_by_label("Day").select_option(label="Tuesday")
    page.get_by_label("Time").fill("09:00")
    page.get_by_role("button", name="Add slot").click()
    expect(page.locator(".messages")).to_contain_text("Slot added")
    api(context, "POST", "/api/scheduled-posts/", {"text": "queued for the next slot", "queue": True})
    wait_published(context, ids["published"])
    context.storage_state(path=folder / "user.json")
    context.close()

    context = browser.new_context(**options)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(stack.staff_username)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{stack.url}/")
    context.storage_state(path=folder / "staff.json")
    context.close()
    states = {who: folder / f"{who}.json" for who in ("user", "newcomer", "staff")}
    return {"options": options, "states": states, "ids": ids}


def open_page(browser, accounts, name: str, width: int):
    who, path = PAGES[name]
    state = accounts["states"][who] if who else None
    context = browser.new_context(**accounts["options"], storage_state=state, viewport={"width": width, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    response = page.goto(path.format(**accounts["ids"]))
    assert response.ok, f"{name}: {response.status}"
    page.wait_for_load_state("load")
    if name.startswith("calendar"):
        page.locator("#calendar").wait_for()  # calendar.js may have opened the day view instead
    if name == "api-docs":
        page.locator(".swagger-ui .opblock").first.wait_for(timeout=30_000)  # a large script, drawn after load
    return page


@pytest.mark.parametrize("name", PAGES)
def test_it_fits_a_phone_and_saves_screenshots(browser, accounts, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page = open_page(browser, accounts, name, width)
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
            if name != "api-docs":  # Swagger UI's own colours; the accessibility tests leave it out too
                assert serious_accessibility_violations(page) == [], f"{name} at {width} px"
            if width == 390:
                layout = page.evaluate(OVERFLOWING)
                assert layout["found"] == [], f"{name} at 390 px: {layout}"
                assert layout["scrollWidth"] <= layout["width"], f"{name} scrolls sideways at 390 px: {layout}"
        finally:
            page.context.close()


def test_the_calendar_opens_on_one_day_on_a_phone(browser, accounts):
    page = open_page(browser, accounts, "calendar", 390)
    try:
        page.wait_for_url("**/calendar/?view=day")
        assert page.locator("#calendar").get_attribute("data-view") == "day"
        assert page.locator("table.cal-oneday").is_visible()
    finally:
        page.context.close()
