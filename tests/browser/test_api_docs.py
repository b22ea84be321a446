from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.integration, pytest.mark.browser]  # real web, node and beat processes, and chromium


def test_it_serves_interactive_api_docs_from_this_server_only(stack, page):
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto("/api/")
    page.get_by_role("link", name="interactive API docs").click()
    expect(page).to_have_url(f"{stack.url}/api/docs/")
    # Swagger UI is a large script: give it time on a loaded machine.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("psched API", timeout=30_000)
    operation = page.locator(".opblock", has_text="/api/scheduled-posts/").first
    expect(operation).to_be_visible()
    # Descriptions are rendered Markdown: code, not raw backticks.
    page.locator(".opblock-summary", has_text="/api/posts/").first.click()
    expect(page.locator(".opblock-description-wrapper code").first).to_be_visible()
    assert "`" not in page.locator(".opblock-description-wrapper").first.inner_text()
    assert hosts == {urlsplit(stack.url).netloc}, hosts
