import pytest
from playwright.sync_api import expect


pytestmark = [pytest.mark.integration, pytest.mark.browser]  # real web, node and beat processes, and chromium


def test_it_shows_staff_the_node_and_the_charts(stack, page):
    page.goto("/accounts/login/?next=/dispatchers/")
    page.get_by_label("Username").fill(stack.staff_username)
    page.get_by_label("Password").fill(stack.staff_password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{stack.url}/dispatchers/")
    row = page.locator(f"#node-{stack.node_name}")
    expect(row).to_contain_text(stack.node_name)
    expect(row.locator(".state")).to_have_text("active")
    histogram = page.locator("svg#lateness-histogram")
    expect(histogram).to_be_visible()
    assert histogram.locator("rect.bar").count() == 9
    expect(page.locator("svg#published-per-minute")).to_be_visible()
