"""Logins and tokens over HTTP."""

from __future__ import annotations

from datetime import timedelta

from core.audit import AuditEvent
from core.extensions import db
from tests.factories import NOW, PASSWORD


def test_a_token_from_a_username_and_password_opens_the_api(client, world):
    response = client.post("/api/v1/auth/token", json={"username": "Agent.PKP", "password": PASSWORD})

    assert response.status_code == 201
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["user"]["role"] == "agent"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/v1/branches", headers=headers).status_code == 200


def test_a_wrong_password_and_an_unknown_user_get_the_same_401(client, world):
    wrong = client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": "nope"})
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "nope"})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json()["message"] == unknown.get_json()["message"]
    assert "access_token" not in wrong.get_json()


def test_refused_and_issued_tokens_are_audited(pinned_app, client, world):
    from sqlalchemy import select

    client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": "nope"})
    client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": PASSWORD})

    with pinned_app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["auth.token_refused", "auth.token_issued"]


def test_an_expired_token_is_refused(pinned_app, client, world):
    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(days=401)

    response = client.get("/api/v1/branches", headers=world["agent"].headers)

    assert response.status_code == 401
    assert "expired" in response.get_json()["message"]


def test_a_token_request_without_a_password_names_the_field(client, world):
    response = client.post("/api/v1/auth/token", json={"username": "agent.pkp"})

    assert response.status_code == 422
    assert "password" in response.get_json()["errors"]["json"]


def test_the_openapi_description_and_its_ui_are_served_without_a_cdn(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/members",
        "/api/v1/members/{member_id}",
        "/api/v1/members/{member_id}/schedule",
        "/api/v1/rates",
        "/api/v1/auth/token",
    ):
        assert path in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"/static/swagger-ui/swagger-ui-bundle.js" in docs.data
    with client.get("/static/swagger-ui/swagger-ui-bundle.js") as script:
        assert script.status_code == 200


def test_errors_use_one_envelope_and_405_keeps_its_allow_header(client):
    missing = client.get("/api/v1/nothing-here")
    wrong_method = client.delete("/api/v1/rates")

    assert missing.status_code == 404
    assert missing.get_json()["code"] == 404
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["Allow"]
    assert set(wrong_method.get_json()) >= {"code", "status", "message"}
