import pytest
import requests
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.browser]  # real web, node and beat processes, and chromium


def test_it_signs_up_and_lands_on_the_feed(signed_in):
    expect(signed_in.locator(".messages")).to_contain_text(f"Welcome, {signed_in.username}!")
    expect(signed_in.get_by_role("link", name=signed_in.username)).to_be_visible()


def test_it_serves_the_stylesheet_with_debug_off(stack, page):
    response = requests.get(f"{stack.url}/static/psched/site.css", timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/css")
    page.goto("/")
    # The stylesheet applies: the header has its white background.
    assert page.eval_on_selector("header.top", "el => getComputedStyle(el).backgroundColor") == "rgb(255, 255, 255)"
