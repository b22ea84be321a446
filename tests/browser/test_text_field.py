"""The post-text counter under every form that writes a post: it counts against the limit, and a
paste over the limit is kept whole, the counter saying how far over it is."""
import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.browser]  # real web, node and beat processes, and chromium


def test_the_counter_counts_on_the_edit_page(signed_in):
    page = signed_in
    page.get_by_label("What's happening?").fill("twelve chars")
    page.get_by_role("button", name="Save draft").click()
    page.locator(".drafts .post").first.get_by_role("link", name="Edit or schedule").click()
    expect(page.locator(".counter")).to_have_text("488 characters left")
    page.get_by_label("Text").fill("x" * 501)
    expect(page.locator(".counter")).to_have_text("1 character over the limit of 500: shorten the text before posting")
    expect(page.get_by_label("Text")).to_have_attribute("aria-invalid", "true")


def test_the_series_form_keeps_a_long_paste_whole(signed_in):
    page = signed_in
    page.goto("/scheduled/series/new/")
    expect(page.locator(".counter")).to_have_text("500 characters left")
    page.get_by_label("Text").fill("y" * 510)
    expect(page.get_by_label("Text")).to_have_value("y" * 510)
    expect(page.locator(".counter")).to_have_text("10 characters over the limit of 500: shorten the text before posting")
