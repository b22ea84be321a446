"""axe-core, run inside each page, finds no serious or critical violation."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from .conftest import serious_accessibility_violations

pytestmark = [pytest.mark.integration, pytest.mark.browser]  # real web, node and beat processes, and chromium


def check(page, path):
    page.goto(path)
    page.wait_for_load_state("load")
    problems = serious_accessibility_violations(page)
    assert problems == [], f"{path}: {problems}"


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/"])
def test_it_finds_no_serious_violation_on_public_pages(page, path):
    check(page, path)


def test_it_finds_no_serious_violation_on_a_users_pages(signed_in):
    page = signed_in
    due = datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(hours=2)
    page.get_by_label("What's happening?").fill("checked by axe")
    page.get_by_label("Publish at").fill(due.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messages")).to_contain_text("Scheduled for")
    edit = page.locator(".upcoming .post").first.get_by_role("link", name="Edit").get_attribute("href")
    cancel = page.locator(".upcoming .post").first.get_by_role("link", name="Cancel").get_attribute("href")
    for path in ["/", "/scheduled/", edit, cancel, "/accounts/profile/", "/dispatchers/"]:
        check(page, path)
    # A form with errors: the messages are tied to their fields.
    page.goto("/")
    page.get_by_label("What's happening?").fill("")
    page.get_by_role("button", name="Post now").click()
    expect(page.locator("form.compose .errorlist")).to_be_visible()
    assert serious_accessibility_violations(page) == []


def test_it_finds_no_serious_violation_on_staff_pages(stack, staff_page):
    for path in ["/dispatchers/", f"/dispatchers/{stack.node_name}/state/?state=draining"]:
        check(staff_page, path)


def test_it_finds_no_serious_violation_on_the_sign_up_errors(page):
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill("someone")
    page.get_by_label("Password", exact=True).fill("abc")
    page.get_by_label("Password confirmation").fill("abd")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#id_password1_error, .field:has(#id_password1) .errorlist").first).to_contain_text("too short")
    assert serious_accessibility_violations(page) == []
