def test_it_gives_a_token(api, alice):
    response = api().post("/api/auth/token/", {"username": "alice", "password": "alice-password-1"}, format="json")
    assert response.status_code == 200
    assert response.json()["token"]


def test_it_refuses_a_wrong_password(api, alice):
    response = api().post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 400
