from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.browser]  # real web, node and beat processes, and chromium


def destinations_add(stack, username: str) -> None:
    """Two webhook destinations of the user: "blog" in the default set, "mirror" not (nothing is
    published here, so they are never called)."""
    stack.manage("shell", "-c", (
        "from django.contrib.auth import get_user_model; from destinations.models import Destination\n"
        f"owner = get_user_model().objects.get(username='{username}')\n"
        "Destination.objects.create(owner=owner, name='blog', kind='webhook', config={'url': 'https://blog.example/hook'}, is_default=True)\n"
        "Destination.objects.create(owner=owner, name='mirror', kind='webhook', config={'url': 'https://mirror.example/hook'})"
    ))


def test_a_draft_keeps_the_destinations_ticked_until_it_is_scheduled(signed_in, stack):
    page = signed_in
    destinations_add(stack, page.username)
    page.goto("/")
    page.get_by_label("What's happening?").fill("a draft for the mirror")
    picker = page.locator("#compose fieldset.destinations")
    expect(picker.get_by_role("checkbox", name="blog")).to_be_checked()  # the default set
    picker.get_by_role("checkbox", name="blog").uncheck()
    picker.get_by_role("checkbox", name="mirror").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("Draft saved")

    page.locator(".drafts .post", has_text="a draft for the mirror").get_by_role("link", name="Edit or schedule").click()
    expect(page.get_by_role("heading", name="Edit draft")).to_be_visible()
    expect(page.get_by_role("checkbox", name="mirror")).to_be_checked()
    expect(page.get_by_role("checkbox", name="blog")).not_to_be_checked()

    # Schedule it from its page: the choice it was saved with goes with it.
    tomorrow = (datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(days=1)).strftime("%Y-%m-%dT09:00")
    page.get_by_label("Publish at (local time)").fill(tomorrow)
    page.get_by_label("Time zone").fill("Asia/Tokyo")
    page.get_by_role("button", name="Schedule").click()
    expect(page.locator(".messages")).to_contain_text("Saved. It will be published")
    page.locator(".upcoming .post", has_text="a draft for the mirror").get_by_role("link", name="Edit").first.click()
    expect(page.get_by_role("heading", name="Edit scheduled post")).to_be_visible()
    expect(page.get_by_role("checkbox", name="mirror")).to_be_checked()
    expect(page.get_by_role("checkbox", name="blog")).not_to_be_checked()
