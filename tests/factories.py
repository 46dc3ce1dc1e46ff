"""Factories: fixtures that return callables building branches, staff, agents and members, with API tokens."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from core.extensions import db
from core.months import Month
from core.regions import districts_of
from organisation.models import Agent, ApiToken, Branch, Role, StaffUser, Wadah
from organisation.services import hash_password, sha256_hex
from payments.autodebit.models import DebitAttempt, DebitRequest, Mandate

# Tests run on a pinned "now": 2026-11-22 09:00 WIB, a Sunday in the PP 50/2025 discount period for most sectors.
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC).replace(tzinfo=None)
PASSWORD = "correct horse battery"


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # one scrypt per session: it is deliberately slow


@dataclass
class Staff:
    id: int
    username: str
    branch_id: int | None
    token: str
    agent_id: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def pinned_app(app: Any) -> Any:
    """The app with its clock pinned to :data:`NOW`."""
    app.config["CLOCK"] = lambda: NOW
    return app


@pytest.fixture
def make_branch(pinned_app: Any) -> Callable[..., int]:
    def make(code: str = "PKP", regency_code: str = "1971", timezone: str = "Asia/Jakarta") -> int:
        with pinned_app.app_context():
            branch = Branch(
                code=code,
                name=f"Kantor Cabang {code}",
                province_code=regency_code[:2],
                regency_code=regency_code,
                timezone=timezone,
            )
            db.session.add(branch)
            db.session.commit()
            return branch.id

    return make


def create_staff(app: Any, role: str, branch_id: int | None, username: str | None = None) -> Staff:
    """A staff account with a live API token (an agent also gets its Wadah and Perisai rows)."""
    with app.app_context():
        user = StaffUser(
            username=username or f"{role}-{secrets.token_hex(3)}",
            password_hash=_password_hash(),
            full_name=f"Test {role}",
            role=Role(role),
            branch_id=branch_id,
        )
        db.session.add(user)
        db.session.flush()
        agent_id = None
        if role == Role.AGENT:
            assert branch_id is not None
            wadah = Wadah(branch_id=branch_id, name="Wadah Test")
            db.session.add(wadah)
            db.session.flush()
            agent = Agent(user_id=user.id, branch_id=branch_id, wadah_id=wadah.id, code=f"A-{user.id}")
            db.session.add(agent)
            db.session.flush()
            agent_id = agent.id
        token = secrets.token_urlsafe(16)
        db.session.add(
            ApiToken(
                user_id=user.id,
                token_sha256=sha256_hex(token),
                created_at=NOW,
                expires_at=NOW + timedelta(days=400),
            )
        )
        db.session.commit()
        return Staff(user.id, user.username, branch_id, token, agent_id)


def sent_debit(
    app: Any,
    member_id: int,
    provider_ref: str,
    first_month: tuple[int, int] = (2026, 11),
    mandate_id: int | None = None,
    order_id: str | None = None,
) -> tuple[int, int, str]:
    """A Midtrans debit of Rp8.400 sent for a month, its attempt pending, on an active mandate (a new one unless
    ``mandate_id`` names it): ``(mandate_id, request_id, order_id)``; the order is ``IUR-<request>-1`` by default."""
    with app.app_context():
        if mandate_id is None:
            mandate = Mandate(
                member_id=member_id, provider="midtrans", provider_ref=provider_ref, account_label="****1234"
            )
            mandate.status = "active"
            db.session.add(mandate)
            db.session.flush()
            mandate_id = mandate.id
        request = DebitRequest(
            mandate_id=mandate_id,
            member_id=member_id,
            first_month=Month(*first_month),
            months=1,
            amount_idr=8_400,
            due_on=NOW.date(),
            status="sent",
            attempts=1,
        )
        db.session.add(request)
        db.session.flush()
        order_id = order_id or f"IUR-{request.id}-1"
        attempt = DebitAttempt(
            debit_request_id=request.id, order_id=order_id, attempt_no=1, amount_idr=8_400, status="pending"
        )
        db.session.add(attempt)
        db.session.commit()
        return mandate_id, request.id, order_id


@pytest.fixture
def make_staff(pinned_app: Any) -> Callable[..., Staff]:
    """Build a staff account (an agent also gets its Wadah and Perisai rows) and a live API token."""
    def make(role: str, branch_id: int | None, username: str | None = None) -> Staff:
        return create_staff(pinned_app, role, branch_id, username)

    return make


@pytest.fixture
def world(make_branch: Callable[..., int], make_staff: Callable[..., Staff]) -> dict[str, Any]:
    """Two branches (Pangkalpinang, Pontianak) with an agent, a supervisor and finance each, and an admin."""
    pkp = make_branch("PKP", "1971")
    ptk = make_branch("PTK", "6171", "Asia/Pontianak")
    return {
        "pkp": pkp,
        "ptk": ptk,
        "admin": make_staff("admin", None, "admin"),
        "agent": make_staff("agent", pkp, "agent.pkp"),
        "supervisor": make_staff("supervisor", pkp, "supervisor.pkp"),
        "finance": make_staff("branch_finance", pkp, "finance.pkp"),
        "ptk_agent": make_staff("agent", ptk, "agent.ptk"),
    }


def nik_for(regency: str = "1971", born: date = date(1990, 1, 12), female: bool = False, serial: int = 1) -> str:
    """A valid NIK in the first district of a regency."""
    district = districts_of(regency)[0][0]
    day = born.day + (40 if female else 0)
    return f"{district}{day:02d}{born:%m%y}{serial:04d}"


def enrolment(**overrides: Any) -> dict[str, Any]:
    """A valid enrolment body for a Pangkalpinang ojek driver."""
    body: dict[str, Any] = {
        "nik": nik_for(),
        "name": "budi santoso",
        "phone": "0812-3456-7890",
        "occupation": "ojek online",
        "sector": "transport",
        "declared_income_idr": 1_000_000,
        "package": "JKK+JKM",
    }
    body.update(overrides)
    return body


@pytest.fixture
def enrol(client: Any, world: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """Enrol through the API (as the Pangkalpinang agent unless told otherwise); returns the member body."""
    def make(as_: str = "agent", **overrides: Any) -> dict[str, Any]:
        response = client.post("/api/v1/members", json=enrolment(**overrides), headers=world[as_].headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make
