from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration  # real web, node and beat processes, and chromium


def test_it_saves_a_draft_queues_it_and_shows_the_slot(signed_in):
    page = signed_in
    page.goto("/queue/")
    page.get_by_label("Day").select_option(label="Tuesday")
    page.get_by_label("Time").fill("09:00")
    page.get_by_role("button", name="Add slot").click()
    # No zone on the profile: the slot is read in the zone the page showed (the browser's), kept.
    expect(page.locator(".messages")).to_contain_text("Slot added (Asia/Tokyo)")
    expect(page.locator(".slots")).to_contain_text("Tuesday 09:00")

    page.goto("/")
    page.get_by_label("What's happening?").fill("an idea for later")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("Draft saved")
    draft = page.locator(".drafts .post", has_text="an idea for later")
    expect(draft).to_be_visible()

    draft.get_by_role("button", name="Add to queue").click()
    expect(page.locator(".messages")).to_contain_text("Queued for Tue ")
    expect(page.locator(".messages")).to_contain_text("09:00 Asia/Tokyo")
    queued = page.locator(".queue .post", has_text="an idea for later")
    expect(queued.locator(".slot")).to_contain_text("Tue ")
    expect(queued.locator(".slot")).to_contain_text("09:00 Asia/Tokyo")
    page.goto("/scheduled/")
    expect(page.locator(".drafts")).not_to_contain_text("an idea for later")
    expect(page.locator(".upcoming .post", has_text="an idea for later")).to_contain_text("queued")


def test_it_creates_a_weekly_series_from_the_form(signed_in):
    page = signed_in
    page.goto("/scheduled/")
    page.get_by_role("link", name="New recurring post").click()
    start = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    page.get_by_label("Text").fill("weekly standup notes")
    page.get_by_label("First time (local)").fill(start)
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")  # the page's zone, the browser's
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_label("Weekly, on the days ticked below").check()
    page.get_by_role("checkbox", name="Monday").check()
    page.get_by_role("checkbox", name="Wednesday").check()
    page.get_by_label("after a number of times").check()
    page.get_by_label("Times", exact=True).fill("10")
    page.get_by_role("button", name="Create series").click()
    expect(page.locator(".messages")).to_contain_text("(FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10)")
    series = page.locator(".series .post", has_text="weekly standup notes")
    expect(series).to_contain_text("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10")
    expect(series).to_contain_text("09:00")
    expect(series).to_contain_text("Europe/Paris")
    expect(page.locator(".upcoming .post", has_text="weekly standup notes").first).to_contain_text("of 10 of series #")


def test_the_queue_page_offers_to_keep_the_browsers_zone(signed_in):
    page = signed_in
    page.goto("/queue/")
    expect(page.locator("#queue-intro")).to_contain_text("Slots are weekly, in Asia/Tokyo, your browser's zone")
    page.get_by_role("button", name="Keep Asia/Tokyo for your slots").click()
    expect(page.locator(".messages")).to_contain_text("Time zone saved: Asia/Tokyo")
    expect(page.locator("#queue-zone")).to_have_count(0)
    expect(page.locator(".zone-note")).to_have_count(0)  # nor the banner's, on any page
    page.goto("/")
    expect(page.locator(".zone-note")).to_have_count(0)


@pytest.mark.parametrize("context", [{"java_script_enabled": False}], indirect=True)
def test_the_series_form_works_without_javascript(signed_in):
    page = signed_in
    page.goto("/scheduled/series/new/")
    expect(page.get_by_label("Time zone")).to_have_value("UTC")  # no script, so no browser zone: the page says UTC
    start = (datetime.now(ZoneInfo("UTC")) + timedelta(days=1)).strftime("%Y-%m-%dT08:00")
    page.get_by_label("Text").fill("every day, no script")
    page.get_by_label("First time (local)").fill(start)
    page.get_by_label("Every day").check()
    page.get_by_label("never").check()
    page.get_by_role("button", name="Create series").click()
    expect(page.locator(".messages")).to_contain_text("(FREQ=DAILY)")
