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


def schema(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_it_documents_every_error_answer_with_its_one_shape(client, db):
    found = schema(client)
    errors = {"ErrorDetail", "ValidationError"}
    assert errors <= set(found["components"]["schemas"])
    for path, operations in found["paths"].items():
        for method, operation in operations.items():
            answers = operation["responses"]
            assert "401" in answers, (method, path)  # a wrong token, on every operation
            for code, answer in answers.items():
                if code >= "400":
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref.rsplit("/", 1)[1] == ("ValidationError" if code == "400" else "ErrorDetail"), (method, path, code)


def test_it_names_the_errors_each_kind_of_operation_can_answer(client, db):
    paths = schema(client)["paths"]

    def codes(method, path):
        return {code for code in paths[path][method]["responses"] if code >= "400"}

    # 503 on every operation: the database restarting, failing over or out of connections.
    assert codes("get", "/api/posts/{id}/") == {"401", "404", "503"}  # anyone may read it
    assert codes("get", "/api/dispatchers/") == {"401", "403", "503"}  # staff only
    assert codes("post", "/api/scheduled-posts/") == {"400", "401", "403", "413", "415", "429", "503"}  # throttled
    assert codes("patch", "/api/scheduled-posts/{id}/") == {"400", "401", "403", "404", "409", "413", "415", "503"}
    assert codes("delete", "/api/series/{id}/") == {"401", "403", "404", "409", "503"}
    assert "Retry-After" in paths["/api/auth/token/"]["post"]["responses"]["429"]["headers"]
    assert "Retry-After" in paths["/api/posts/"]["get"]["responses"]["503"]["headers"]
