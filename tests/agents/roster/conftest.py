"""Fixtures of the roster's tests: the world of tests/factories.py, its Wadah, and agents enrolled through the API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from core.extensions import db
from organisation.models import Agent
from tests.factories import nik_for


def agent_body(wadah_id: int, serial: int = 501, **overrides: Any) -> dict[str, Any]:
    """A valid new agent of Pangkalpinang: born 1990, a mobile number, two areas."""
    body: dict[str, Any] = {
        "nik": nik_for(born=date(1990, 3, 4), serial=serial),
        "name": "rahmat hidayat",
        "phone": f"0813-1111-{serial:04d}",
        "wadah_id": wadah_id,
        "areas": ["Gerunggang", "197102"],
    }
    body.update(overrides)
    return body


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return headers | {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture
def wadah_id(pinned_app: Any, world: dict[str, Any]) -> int:
    """The Wadah of the Pangkalpinang agent."""
    with pinned_app.app_context():
        return int(db.session.scalar(select(Agent.wadah_id).where(Agent.id == world["agent"].agent_id)))


@pytest.fixture
def new_agent(client: Any, world: dict[str, Any], wadah_id: int) -> Callable[..., dict[str, Any]]:
    """Enrol an agent of Pangkalpinang through the API as its supervisor; returns the answer's body."""
    serials = iter(range(600, 700))

    def make(**overrides: Any) -> dict[str, Any]:
        body = agent_body(wadah_id, next(serials), **overrides)
        response = client.post(
            f"/api/v1/branches/{world['pkp']}/agents", json=body, headers=keyed(world["supervisor"].headers)
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()  # type: ignore[no-any-return]

    return make
