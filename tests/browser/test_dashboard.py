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


def test_it_asks_before_draining(stack, staff_page):
    page = staff_page
    page.goto("/dispatchers/")
    drain = page.locator(f"#node-{stack.node_name}").get_by_role("link", name="Drain")
    assert drain.evaluate("el => getComputedStyle(el).color") == "rgb(180, 35, 24)"
    drain.click()
    expect(page.get_by_role("heading", name=f"Drain node {stack.node_name}?")).to_be_visible()
    expect(page.get_by_role("button", name=f"Drain {stack.node_name}")).to_be_visible()
    # The other tests need this node: keep it.
    page.get_by_role("link", name="Keep it as it is").click()
    expect(page.locator(f"#node-{stack.node_name} .state")).to_have_text("active")


def test_it_shows_other_users_a_403_page_in_the_sites_look(signed_in):
    page = signed_in
    response = page.goto("/dispatchers/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="This page is not for you")).to_be_visible()
    expect(page.locator("header.top .brand")).to_have_text("psched")
    expect(page.locator("#id_username")).to_have_count(0)  # not the admin's login form
