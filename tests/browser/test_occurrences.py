"""Moving one occurrence of a series in the calendar: the page asks "only this one, or this and
the following ones?"; "Only this one" makes it a post of its own, by drag and by keyboard."""
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.calendar_pages import TOKYO, a_weekday_ahead, api, cell, open_week
from .conftest import serious_accessibility_violations

pytestmark = pytest.mark.integration  # real web, node and beat processes, and chromium


def weekly_series(page, at: datetime) -> tuple[dict, dict]:
    """A weekly series whose first occurrence is `at` (Tokyo), and that occurrence's post."""
    series = api(page, "POST", "/api/series/", {
        "text": "weekly standup", "start": at.replace(tzinfo=None).isoformat(), "timezone": "Asia/Tokyo",
        "rrule": "FREQ=WEEKLY;COUNT=3",
    })
    posts = api(page, "GET", "/api/scheduled-posts/")["results"]
    first = next(post for post in posts if post["series"] == series["id"] and post["series_index"] == 1)
    return series, first


def only_this_one_saved(page, series: dict, post: dict, at: datetime) -> None:
    expect(page.locator("#cal-status")).to_contain_text("Moved “weekly standup” to")
    saved = api(page, "GET", f"/api/scheduled-posts/{post['id']}/")
    assert datetime.fromisoformat(saved["publish_at"]) == at + timedelta(days=1)
    assert api(page, "GET", f"/api/series/{series['id']}/")["detached"] == [1]


def test_it_drags_only_this_occurrence(signed_in):
    page = signed_in
    at = a_weekday_ahead()
    series, post = weekly_series(page, at)
    open_week(page, at)
    chip = page.locator(f"#cal-post-{post['id']}")
    chip.drag_to(cell(page, at + timedelta(days=1)))
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("only this one, or this and the following ones?")
    dialog.get_by_role("button", name="Only this one").click()
    only_this_one_saved(page, series, post, at)
    expect(cell(page, at + timedelta(days=1)).locator(chip)).to_be_visible()
    page.goto("/scheduled/")  # the series' next occurrences, each with Edit and Skip
    expect(page.get_by_role("button", name=f"Skip occurrence 2 of series {series['id']}")).to_be_visible()
    assert serious_accessibility_violations(page) == []


def test_it_moves_only_this_occurrence_with_the_keyboard(signed_in):
    page = signed_in
    at = a_weekday_ahead().astimezone(TOKYO)
    series, post = weekly_series(page, at)
    open_week(page, at)
    link = page.locator(f"#cal-post-{post['id']} a.cal-link")
    link.focus()
    link.press("m")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("button", name="Only this one")).to_be_focused()
    assert serious_accessibility_violations(page) == []
    page.keyboard.press("Enter")
    only_this_one_saved(page, series, post, at)
