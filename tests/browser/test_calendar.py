import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.calendar_pages import TOKYO, UTC, a_weekday_ahead, api, cell, open_week, schedule

pytestmark = pytest.mark.integration  # real web, node and beat processes, and chromium


def test_it_drags_a_post_to_the_next_day_and_saves_it(signed_in):
    page = signed_in
    at = a_weekday_ahead() + timedelta(minutes=15)
    post = schedule(page, "drag me along", at)
    open_week(page, at)
    chip = page.locator(f"#cal-post-{post['id']}")
    expect(cell(page, at - timedelta(minutes=15)).locator(chip)).to_be_visible()
    target = cell(page, at - timedelta(minutes=15) + timedelta(days=1))
    chip.drag_to(target)
    expect(page.locator("#cal-status")).to_contain_text("Moved “drag me along” to")
    expect(target.locator(chip)).to_contain_text("10:15")
    saved = api(page, "GET", f"/api/scheduled-posts/{post['id']}/")
    assert datetime.fromisoformat(saved["publish_at"]) == at + timedelta(days=1)
    assert saved["status"] == "pending" and saved["timezone"] == "Asia/Tokyo"
    page.reload()
    expect(target.locator(f"#cal-post-{post['id']}")).to_be_visible()


def test_it_refuses_to_move_a_published_post_and_puts_it_back(signed_in):
    page = signed_in
    post = schedule(page, "already out", datetime.now(TOKYO) + timedelta(seconds=2))
    deadline = datetime.now() + timedelta(seconds=60)
    while api(page, "GET", f"/api/scheduled-posts/{post['id']}/")["status"] != "published":
        assert datetime.now() < deadline, "the post was not published within a minute"
        page.wait_for_timeout(200)  # polling the API for a state
    published_at = datetime.fromisoformat(post["publish_at"]).astimezone(TOKYO)
    open_week(page, published_at)
    chip = page.locator(f"#cal-post-{post['id']}")
    expect(chip).to_contain_text("published")
    expect(chip).to_contain_text("late · node")
    home = page.locator("td.cal-cell", has=chip)
    home_start = home.get_attribute("data-start")
    # One day later, or one day earlier on a Sunday: either way another cell of this week.
    shift = timedelta(days=-1 if published_at.weekday() == 6 else 1)
    target = page.locator(f'td.cal-cell[data-start="{(datetime.fromisoformat(home_start) + shift).isoformat()}"]')
    chip.drag_to(target)
    expect(page.locator("#cal-status")).to_contain_text("Not moved: This post is published; it can no longer be changed.")
    expect(page.locator(f'td.cal-cell[data-start="{home_start}"]').locator(chip)).to_be_visible()
    expect(chip).to_have_class(re.compile(r"\brefused\b"))
    assert target.locator(chip).count() == 0
    assert api(page, "GET", f"/api/scheduled-posts/{post['id']}/")["publish_at"] == post["publish_at"]


def test_it_moves_a_post_with_the_keyboard(signed_in):
    page = signed_in
    at = a_weekday_ahead()
    post = schedule(page, "keys only", at)
    open_week(page, at)
    link = page.locator(f"#cal-post-{post['id']} a")
    link.focus()
    link.press("m")
    expect(page.locator("#cal-status")).to_contain_text("Moving “keys only” from")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#cal-status")).to_contain_text(f"{at + timedelta(days=1, hours=1):%a %d %b %H:%M}")
    page.keyboard.press("Enter")
    expect(page.locator("#cal-status")).to_contain_text("Moved “keys only” to")
    expect(cell(page, at + timedelta(days=1, hours=1)).locator(f"#cal-post-{post['id']}")).to_contain_text("11:00")
    saved = api(page, "GET", f"/api/scheduled-posts/{post['id']}/")
    assert datetime.fromisoformat(saved["publish_at"]) == at + timedelta(days=1, hours=1)
    assert saved["timezone"] == "Asia/Tokyo"
    # Escape leaves a post where it was.
    link.focus()
    link.press("m")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Escape")
    expect(page.locator("#cal-status")).to_contain_text("Move cancelled")
    expect(cell(page, at + timedelta(days=1, hours=1)).locator(f"#cal-post-{post['id']}")).to_be_visible()


@pytest.mark.parametrize("context", [{"viewport": {"width": 390, "height": 844}}], indirect=True)
def test_it_shows_a_usable_month_on_a_phone(signed_in):
    page = signed_in
    at = a_weekday_ahead()
    posts = [schedule(page, f"phone post {i}", at + timedelta(hours=i)) for i in range(3)]
    page.goto(f"/calendar/?view=month&date={at:%Y-%m-%d}")
    expect(page.locator("#cal-zone")).to_contain_text("Times in Asia/Tokyo")
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways: {width}"
    for post in posts:
        chip = page.locator(f"#cal-post-{post['id']}")
        chip.scroll_into_view_if_needed()
        expect(chip).to_be_visible()
        box = chip.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.locator(f"#cal-post-{posts[0]['id']} a").click()
    expect(page).to_have_url(re.compile(rf"/scheduled/{posts[0]['id']}/edit/$"))


@pytest.mark.parametrize("context", [{"java_script_enabled": False}], indirect=True)
def test_it_works_without_javascript(signed_in):
    page = signed_in
    page.goto("/calendar/?view=month")
    expect(page.locator("#cal-zone")).to_contain_text("Times in UTC")
    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.locator("table.cal-week")).to_be_visible()
    page.get_by_role("link", name="Next week").click()
    page.locator("td.cal-cell a.cal-add").first.click()
    expect(page.get_by_label("Time zone")).to_have_value("UTC")
    assert page.get_by_label("Publish at").input_value().endswith(":00")


def test_it_schedules_a_draft_dragged_from_the_side_list(signed_in):
    page = signed_in
    draft = api(page, "POST", "/api/scheduled-posts/", {"text": "a draft to place", "draft": True})
    at = a_weekday_ahead()
    open_week(page, at)
    chip = page.locator(f".cal-drafts #cal-post-{draft['id']}")
    expect(chip).to_contain_text("draft")
    expect(chip).to_have_attribute("draggable", "true")
    expect(cell(page, at)).to_be_visible()
    chip.drag_to(cell(page, at))
    # The PATCH behind the move, on a loaded machine: more than the default 10 s may pass.
    expect(page.locator("#cal-status")).to_contain_text("Moved “a draft to place” to", timeout=30_000)
    expect(cell(page, at).locator(f"#cal-post-{draft['id']}")).to_contain_text("pending")
    saved = api(page, "GET", f"/api/scheduled-posts/{draft['id']}/")
    assert saved["status"] == "pending" and datetime.fromisoformat(saved["publish_at"]) == at
    assert saved["timezone"] == "Asia/Tokyo"


def test_it_moves_a_post_a_day_in_the_month_keeping_its_local_time(signed_in):
    page = signed_in
    at = a_weekday_ahead() + timedelta(minutes=30)
    post = schedule(page, "a month move", at)
    page.goto(f"/calendar/?view=month&date={at:%Y-%m-%d}")
    expect(page.locator("#cal-zone")).to_contain_text("Times in Asia/Tokyo")
    link = page.locator(f"#cal-post-{post['id']} a")
    link.focus()
    link.press("m")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.locator("#cal-status")).to_contain_text("Moved “a month move” to")
    saved = api(page, "GET", f"/api/scheduled-posts/{post['id']}/")
    assert datetime.fromisoformat(saved["publish_at"]) == at + timedelta(days=1)
    assert saved["timezone"] == "Asia/Tokyo"
