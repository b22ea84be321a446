def test_it_serves_swagger_ui_from_our_own_static_files(client, db):
    page = client.get("/api/docs/").content.decode()
    assert "SwaggerUIBundle" in page or "swagger-ui" in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower() and "https://" not in page


def test_it_links_the_docs_from_the_browsable_api(client, db):
    page = client.get("/api/", HTTP_ACCEPT="text/html").content.decode()
    assert 'href="/api/docs/"' in page


def test_it_renders_descriptions_without_raw_backticks(client, db):
    page = client.get("/api/posts/", HTTP_ACCEPT="text/html").content.decode()
    assert "<code>?author=&lt;username&gt;</code>" in page and "`" not in page.split('class="description"')[-1][:2000]
