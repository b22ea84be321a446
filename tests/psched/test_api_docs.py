def test_it_serves_swagger_ui_from_our_own_static_files(client, db):
    page = client.get("/api/docs/").content.decode()
    assert "SwaggerUIBundle" in page or "swagger-ui" in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower() and "https://" not in page


def test_it_links_the_docs_from_the_browsable_api(client, db):
    page = client.get("/api/", HTTP_ACCEPT="text/html").content.decode()
    assert 'href="/api/docs/"' in page


def test_it_renders_descriptions_without_raw_backticks(client, alice):
    client.force_login(alice)
    page = client.get("/api/scheduled-posts/", HTTP_ACCEPT="text/html").content.decode()
    description = page[page.index('<div class="pull-left">'):][:2000]
    assert "<code>" in description and "`" not in description
