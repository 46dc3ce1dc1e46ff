"""Deactivating, terminating and reactivating an agent: his logins end at once (web, API, old cookie and token,
new logins), and his cash and batches stay in finance's view until settled."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from agents.roster.models import AgentStatusChange
from core.audit import AuditEvent
from core.extensions import db
from organisation.models import ApiToken, WebSession
from payments.ledger.models import BranchAlert
from payments.ledger.services import alert_blocked_agents
from tests.agents.field.test_pages import login
from tests.factories import NOW, PASSWORD, enrolment, nik_for

DAY = date(2026, 11, 19)  # a Thursday: cash taken then is overdue by the pinned Sunday


def _change(client, world, agent_id, action, caller="supervisor", reason="tidak bertransaksi tiga bulan"):
    return client.post(f"/api/v1/agents/{agent_id}/{action}", json={"reason": reason}, headers=world[caller].headers)


@pytest.mark.parametrize(("action", "status"), [("deactivate", "deactivated"), ("terminate", "terminated")])
def test_a_deactivated_or_terminated_agent_is_refused_everywhere_at_once(
    app, pinned_app, client, world, action, status
):
    web = app.test_client()
    assert login(web).status_code in (302, 303)
    assert web.get("/agen/").status_code == 200
    assert client.get("/api/v1/agents/me/cash", headers=world["agent"].headers).status_code == 200

    response = _change(client, world, world["agent"].agent_id, action)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == status
    old_cookie = web.get("/agen/")
    assert old_cookie.status_code in (302, 303) and "/agen/masuk" in old_cookie.headers["Location"]
    assert client.get("/api/v1/agents/me/cash", headers=world["agent"].headers).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": PASSWORD}).status_code == 401
    fresh = app.test_client()
    assert login(fresh).status_code not in (302, 303)
    assert fresh.get("/agen/").status_code in (302, 303)
    with pinned_app.app_context():  # the sessions and tokens were ended, not only refused while he is not active
        user_id = world["agent"].id
        assert db.session.scalar(select(WebSession.revoked_at).where(WebSession.user_id == user_id)) is not None
        assert db.session.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == user_id)) is not None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == f"agent.{status}"))
        assert event.actor_user_id == world["supervisor"].id
        assert event.details["before"] == {"status": "active"} and event.details["after"] == {"status": status}
        assert event.details["sessions_ended"] == 2


def test_a_terminated_agent_never_comes_back(client, world):
    agent_id = world["agent"].agent_id
    assert _change(client, world, agent_id, "terminate", reason="menggelapkan setoran").status_code == 200
    again = _change(client, world, agent_id, "reactivate", caller="admin", reason="salah orang")
    assert again.status_code == 409 and again.get_json()["reason"] == "illegal_move"
    assert _change(client, world, agent_id, "deactivate").status_code == 409


def test_a_deactivated_agent_comes_back_six_months_later_and_logs_in_again(pinned_app, client, world):
    agent_id = world["agent"].agent_id
    assert _change(client, world, agent_id, "deactivate").status_code == 200
    early = _change(client, world, agent_id, "reactivate", reason="kembali bekerja")
    assert early.status_code == 409 and early.get_json()["reason"] == "reactivation_too_early"
    assert "22 May 2027" in early.get_json()["message"]

    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(days=181)
    back = _change(client, world, agent_id, "reactivate", reason="kembali bekerja")

    assert back.status_code == 200 and back.get_json()["status"] == "active"
    assert client.get("/api/v1/agents/me/cash", headers=world["agent"].headers).status_code == 401  # ended for good
    token = client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": PASSWORD})
    assert token.status_code == 201
    with pinned_app.app_context():
        moves = db.session.execute(
            select(AgentStatusChange.from_status, AgentStatusChange.to_status).order_by(AgentStatusChange.id)
        ).all()
        assert [tuple(m) for m in moves] == [("active", "deactivated"), ("deactivated", "active")]


def test_an_agent_or_finance_cannot_change_an_agents_status(client, world):
    for caller in ("agent", "finance"):
        for action in ("deactivate", "terminate", "reactivate"):
            assert _change(client, world, world["agent"].agent_id, action, caller=caller).status_code == 403


def test_a_reason_is_required(client, world):
    response = client.post(
        f"/api/v1/agents/{world['agent'].agent_id}/deactivate", json={}, headers=world["supervisor"].headers
    )
    assert response.status_code == 422 and "reason" in response.get_json()["errors"]["json"]


def test_a_deactivated_agents_cash_and_batches_stay_in_finances_view(pinned_app, client, world, enrol):
    member = enrol()
    headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    paid = client.post(
        "/api/v1/contributions",
        json={"member_id": member["id"], "months": 3, "paid_on": DAY.isoformat()},
        headers=headers,
    )
    assert paid.status_code == 201, paid.get_json()
    amount = paid.get_json()["amount_idr"]
    agent_id = world["agent"].agent_id

    assert _change(client, world, agent_id, "deactivate").status_code == 200

    shown = client.get(f"/api/v1/agents/{agent_id}", headers=world["finance"].headers).get_json()
    assert (shown["status"], shown["cash_on_hand_idr"]) == ("deactivated", amount)
    assert shown["deposit_due_by"] is not None
    listed = client.get(f"/api/v1/branches/{world['pkp']}/agents", headers=world["finance"].headers).get_json()
    assert [a["cash_on_hand_idr"] for a in listed if a["id"] == agent_id] == [amount]
    closed = client.post(
        f"/api/v1/branches/{world['pkp']}/batches/close",
        json={"date": DAY.isoformat()},
        headers=world["finance"].headers,
    )
    assert closed.status_code == 200
    batches = client.get(
        f"/api/v1/branches/{world['pkp']}/batches?date={DAY}", headers=world["finance"].headers
    ).get_json()
    assert [b["figures"]["agent_id"] for b in batches] == [agent_id]
    assert (batches[0]["figures"]["collected_idr"], batches[0]["figures"]["undeposited_idr"]) == (amount, amount)
    with pinned_app.app_context():  # the morning scan still tells the branch he holds the cash
        assert alert_blocked_agents(db.session, NOW) == 1
        assert db.session.scalar(select(BranchAlert.agent_id).where(BranchAlert.kind == "cash_limit")) == agent_id


def test_a_supervisor_cannot_give_a_new_member_to_an_agent_who_is_not_active(client, world):
    """A deactivated agent serves no one new: enrolling a member for him is refused on the field, not stored."""
    agent_id = world["agent"].agent_id
    assert _change(client, world, agent_id, "deactivate").status_code == 200
    body = enrolment(nik=nik_for(serial=77), agent_id=agent_id)
    response = client.post("/api/v1/members", json=body, headers=world["supervisor"].headers)
    assert response.status_code == 422, response.get_json()
    assert "agent_id" in response.get_json()["errors"]["json"]
    assert client.get(f"/api/v1/members?nik={body['nik']}", headers=world["supervisor"].headers).get_json() == []


def test_a_new_agent_must_change_the_password_he_was_given(app, client, world, new_agent):
    """The first password is the supervisor's choice: the agent changes it before anything else, on the web
    and on the API."""
    made = new_agent()
    username, password = made["username"], made["initial_password"]
    token = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert token.status_code == 403, token.get_json()
    assert token.get_json()["reason"] == "password_change_required"
    web = app.test_client()
    page = web.get("/agen/masuk")
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    web.post("/agen/masuk", data={"csrf_token": csrf, "username": username, "password": password})
    home = web.get("/agen/")
    assert home.status_code in (302, 303) and "/akun/kata-sandi" in home.headers["Location"]


def test_a_refused_move_says_what_is_allowed_in_the_readers_language(client, world):
    agent_id = world["agent"].agent_id
    assert _change(client, world, agent_id, "deactivate").status_code == 200
    headers = world["supervisor"].headers | {"Accept-Language": "id"}

    again = client.post(f"/api/v1/agents/{agent_id}/deactivate", json={"reason": "lagi"}, headers=headers)

    assert again.status_code == 409 and again.get_json()["reason"] == "illegal_move"
    assert again.get_json()["message"] == (
        "Status agen Nonaktif; tidak dapat menjadi Nonaktif. Yang diperbolehkan: Aktif, Diberhentikan."
    )
