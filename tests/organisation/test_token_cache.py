"""A verified API token is kept a few seconds per process; revoking, disabling or expiry still stops it in time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from core.extensions import db
from organisation import token_cache
from organisation.models import Agent
from tests.factories import NOW
from tests.statements import captured

CASH = "/api/v1/agents/me/cash"


@pytest.fixture
def stepped_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The cache's clock, stepped by the test instead of waiting."""
    now = [1_000.0]
    monkeypatch.setattr(token_cache, "clock", lambda: now[0])
    return now


def revoke_elsewhere(app: Any, user_id: int) -> None:
    """Revoke a user's tokens as another process would: on a connection of its own, not through this process's
    sessions (which empty the cache at once)."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            text("UPDATE api_tokens SET revoked_at = :now WHERE user_id = :user_id"), {"now": NOW, "user_id": user_id}
        )


def token_queries(app: Any, send: Any) -> int:
    with app.app_context():
        engine = db.engine
    with captured(engine, lambda statement: "api_tokens" in statement) as seen:
        send()
    return len(seen)


def test_a_token_verified_a_moment_ago_is_not_looked_up_again(pinned_app, client, world, stepped_clock):
    agent = world["agent"]
    assert client.get(CASH, headers=agent.headers).status_code == 200

    responses: list[Any] = []
    lookups = token_queries(pinned_app, lambda: responses.append(client.get(CASH, headers=agent.headers)))

    assert responses[0].status_code == 200
    assert lookups == 0
    stepped_clock[0] += pinned_app.config["TOKEN_CACHE_SECONDS"]
    assert token_queries(pinned_app, lambda: client.get(CASH, headers=agent.headers)) == 1


def test_a_token_revoked_by_another_process_stops_within_the_cache_seconds(pinned_app, client, world, stepped_clock):
    agent = world["agent"]
    assert client.get(CASH, headers=agent.headers).status_code == 200

    revoke_elsewhere(pinned_app, agent.id)
    within = client.get(CASH, headers=agent.headers)
    stepped_clock[0] += pinned_app.config["TOKEN_CACHE_SECONDS"]
    after = client.get(CASH, headers=agent.headers)

    assert within.status_code == 200  # the documented window: at most TOKEN_CACHE_SECONDS
    assert after.status_code == 401


def test_without_the_cache_a_revoked_token_stops_at_once(pinned_app, client, world):
    pinned_app.config["TOKEN_CACHE_SECONDS"] = 0
    agent = world["agent"]
    assert client.get(CASH, headers=agent.headers).status_code == 200

    revoke_elsewhere(pinned_app, agent.id)

    assert client.get(CASH, headers=agent.headers).status_code == 401


def test_a_login_disabled_in_this_process_stops_at_once(pinned_app, client, world, stepped_clock):
    agent = world["agent"]
    assert client.get(CASH, headers=agent.headers).status_code == 200

    disabled = client.post(f"/api/v1/staff/{agent.id}/disable", headers=world["supervisor"].headers)

    assert disabled.status_code == 200, disabled.get_json()
    assert client.get(CASH, headers=agent.headers).status_code == 401


def test_an_agent_terminated_in_this_process_stops_at_once(pinned_app, client, world, stepped_clock):
    agent = world["agent"]
    assert client.get(CASH, headers=agent.headers).status_code == 200

    with pinned_app.app_context():  # a request's or a job's session: an ORM change of the agent's row
        db.session.get_one(Agent, agent.agent_id).status = "terminated"
        db.session.commit()

    assert client.get(CASH, headers=agent.headers).status_code == 401


def test_an_expired_token_is_refused_though_it_was_verified_a_moment_ago(pinned_app, client, world, stepped_clock):
    agent = world["agent"]
    assert client.get(CASH, headers=agent.headers).status_code == 200

    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(days=401)  # the factory's tokens live 400 days

    assert client.get(CASH, headers=agent.headers).status_code == 401
