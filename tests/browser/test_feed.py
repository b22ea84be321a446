from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.browser]  # real web, node and beat processes, and chromium
TOKYO = ZoneInfo("Asia/Tokyo")  # the browser's zone in these tests (UTC+09:00)


def test_it_posts_now_as_plain_text(signed_in):
    page = signed_in
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_label("What's happening?").fill("<script>alert(1)</script>")
    expect(page.locator(".counter")).to_have_text("475 characters left")
    page.get_by_role("button", name="Post now").click()
    expect(page.locator(".messages")).to_have_text("Posted.")
    expect(page.locator(".post .text").first).to_have_text("<script>alert(1)</script>")
    assert dialogs == []


def test_it_shows_a_bad_date_next_to_the_field(signed_in):
    page = signed_in
    page.get_by_label("What's happening?").fill("too late")
    page.get_by_label("Publish at").fill("2020-01-01T10:00")
    page.get_by_role("button", name="Schedule").click()
    field = page.get_by_label("Publish at")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".schedule .errorlist")).to_contain_text("is in the past")
    expect(page.get_by_label("What's happening?")).to_have_value("too late")


def test_it_schedules_when_enter_is_pressed_in_the_zone_field(signed_in):
    page = signed_in
    page.get_by_label("What's happening?").fill("enter means schedule")
    page.get_by_label("Publish at").fill((datetime.now(TOKYO) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone").press("Enter")
    expect(page.locator(".messages")).to_contain_text("Scheduled for")
    expect(page.locator(".upcoming .post").first).to_contain_text("enter means schedule")


def test_it_schedules_in_the_browsers_zone_and_the_post_appears(signed_in):
    page = signed_in
    # No zone on the profile: the form takes the browser's.
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    due = datetime.now(TOKYO).replace(microsecond=0) + timedelta(seconds=5)
    text = f"scheduled by {page.username}"
    page.get_by_label("What's happening?").fill(text)
    page.get_by_label("Publish at").fill(due.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messages")).to_contain_text(f"Scheduled for {due:%Y-%m-%d %H:%M:%S} (Asia/Tokyo)")
    expect(page.locator(".upcoming .post").first).to_contain_text(text)

    page.get_by_role("link", name="Feed").click()
    expect(page.locator("#posts")).not_to_contain_text(text)
    # The page is not reloaded: the post arrives through the poll of /api/posts/.
    page.evaluate("window.notReloaded = true")
    post = page.locator(".post", has_text=text)
    expect(post).to_be_visible(timeout=30_000)
    assert page.evaluate("window.notReloaded") is True
    expect(post.locator(".receipt")).to_contain_text("Scheduled for")
    expect(post.locator(".receipt")).to_contain_text("late")
    expect(post.locator(".receipt")).to_contain_text("node browser-")


@pytest.mark.parametrize("context", [{"java_script_enabled": False}], indirect=True)
def test_it_posts_and_schedules_without_javascript(signed_in):
    page = signed_in
    page.get_by_label("What's happening?").fill("no script needed")
    page.get_by_role("button", name="Post now").click()
    expect(page.locator(".post .text").first).to_have_text("no script needed")
    # Without the script the zone stays empty, which means UTC.
    expect(page.get_by_label("Time zone")).to_have_value("")
    due = datetime.now(TOKYO) + timedelta(hours=1)
    page.get_by_label("What's happening?").fill("later, without script")
    page.get_by_label("Publish at").fill(due.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone").fill("Asia/Tokyo")
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messages")).to_contain_text(f"Scheduled for {due:%Y-%m-%d %H:%M}:00 (Asia/Tokyo)")
    expect(page.locator(".upcoming .post").first).to_contain_text("later, without script")
