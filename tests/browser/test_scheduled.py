from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.browser]  # real web, node and beat processes, and chromium


def schedule(page, text, hours=2):
    due = datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(hours=hours)
    page.goto("/")
    page.get_by_label("What's happening?").fill(text)
    page.get_by_label("Publish at").fill(due.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messages")).to_contain_text("Scheduled for")


def test_it_edits_a_scheduled_post(signed_in):
    page = signed_in
    schedule(page, "first draft")
    page.locator(".upcoming .post", has_text="first draft").get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    page.get_by_label("Text").fill("final words")
    page.get_by_label("Time zone").fill("America/New_York")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Saved. It will be published in")
    item = page.locator(".upcoming .post").first
    expect(item).to_contain_text("final words")
    expect(item).to_contain_text("America/New_York")


def test_it_cancels_a_scheduled_post(signed_in):
    page = signed_in
    schedule(page, "never mind")
    page.locator(".upcoming .post", has_text="never mind").get_by_role("button", name="Cancel").click()
    expect(page.locator(".messages")).to_have_text("Cancelled.")
    expect(page.locator(".upcoming")).not_to_contain_text("never mind")
    expect(page.locator(".history .post", has_text="never mind")).to_contain_text("cancelled")
