from django.db import OperationalError

from feed import api as feed_api


def test_it_answers_503_when_the_database_is_unreachable(client, db, monkeypatch):
    def unreachable(**kwargs):
        raise OperationalError(2003, "Can't connect to MySQL server on '10.0.0.1' (111)")

    monkeypatch.setattr(feed_api, "post_feed", unreachable)
    response = client.get("/api/posts/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "retry" in response.json()["detail"]
