from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import re

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


def test_it_asks_before_cancelling_and_reschedules_a_cancelled_post(signed_in):
    page = signed_in
    schedule(page, "never mind")
    item = page.locator(".upcoming .post", has_text="never mind")
    cancel, edit = item.get_by_role("link", name="Cancel"), item.get_by_role("link", name="Edit")
    # Cancel does not look like Edit: it is drawn in the "bad" red.
    assert cancel.evaluate("el => getComputedStyle(el).color") == "rgb(180, 35, 24)"
    assert edit.evaluate("el => getComputedStyle(el).color") != "rgb(180, 35, 24)"
    cancel.click()
    expect(page.get_by_role("heading", name="Cancel this post?")).to_be_visible()
    page.get_by_role("link", name="Keep it").click()
    expect(page.locator(".upcoming .post", has_text="never mind")).to_be_visible()

    page.locator(".upcoming .post", has_text="never mind").get_by_role("link", name="Cancel").click()
    page.get_by_role("button", name="Cancel the post").click()
    expect(page.locator(".messages")).to_have_text("Cancelled.")
    expect(page.locator(".upcoming")).not_to_contain_text("never mind")
    cancelled = page.locator(".history .post", has_text="never mind")
    expect(cancelled).to_contain_text("cancelled")

    cancelled.get_by_role("link", name="Reschedule").click()
    expect(page.get_by_label("Text")).to_have_value("never mind")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    page.get_by_label("Publish at").fill((datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messages")).to_contain_text("Scheduled again")
    expect(page.locator(".upcoming .post", has_text="never mind")).to_be_visible()
    expect(page.locator(".history .post", has_text="never mind")).to_contain_text("cancelled")


def test_it_keeps_save_and_back_apart(signed_in):
    page = signed_in
    schedule(page, "spacing")
    page.locator(".upcoming .post", has_text="spacing").get_by_role("link", name="Edit").click()
    save = page.get_by_role("button", name="Save").bounding_box()
    back = page.get_by_role("link", name="Back").bounding_box()
    assert back["x"] - (save["x"] + save["width"]) >= 8


def test_it_shows_every_time_in_the_browsers_zone_and_offers_to_save_it(signed_in):
    page = signed_in
    schedule(page, "zoned")
    expect(page.locator("p.help", has_text="Times are in")).to_contain_text("Times are in Asia/Tokyo")
    times = page.locator("main time")
    expect(times.first).to_be_visible()
    assert all(text.endswith(" JST") for text in times.all_inner_texts())
    page.get_by_role("button", name="Keep it in your profile").click()
    expect(page.locator(".messages")).to_have_text("Time zone saved: Asia/Tokyo.")
    expect(page).to_have_url(re.compile(r"/scheduled/$"))
    expect(page.locator(".zone-note")).to_have_count(0)
