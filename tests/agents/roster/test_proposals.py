"""The daily job that proposes idle agents for deactivation, run by a real rq worker, and the supervisor's
decision on each proposal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from agents.roster.models import DeactivationProposal
from agents.roster.proposals import propose_idle_deactivations
from collection.members.models import Member
from core.clock import utcnow
from core.extensions import db
from core.outbox import OutboxMessage
from organisation.models import Agent, StaffUser
from tests.factories import NOW, nik_for
from workers.queues import LOW, queue

JOB = "workers.jobs.propose_idle_agent_deactivations"


@pytest.fixture
def idle_and_busy(pinned_app, world, enrol, new_agent):
    """Two agents of Pangkalpinang created 200 days ago: ``idle`` did nothing since, ``busy`` enrolled a member
    (just now, on the real clock the job reads). The supervisor has a phone."""
    idle, busy = new_agent(), new_agent()
    enrol(nik=nik_for(serial=901))
    long_ago = utcnow() - timedelta(days=200)
    with pinned_app.app_context():
        db.session.execute(update(Agent).values(created_at=long_ago))
        db.session.execute(update(Member).values(enrolled_by_agent_id=busy["id"]))
        db.session.get(StaffUser, world["supervisor"].id).phone = "+6281200000001"
        db.session.commit()
    return idle, busy


def _proposals(app):
    with app.app_context():
        return [
            (p.agent_id, p.status)
            for p in db.session.scalars(select(DeactivationProposal).order_by(DeactivationProposal.id))
        ]


def test_a_real_worker_proposes_the_idle_agents_once_and_tells_the_supervisor(
    pinned_app, world, idle_and_busy, rq_burst
):
    idle, busy = idle_and_busy
    with pinned_app.app_context():
        queue(LOW).enqueue(JOB)
        queue(LOW).enqueue(JOB)  # a second run proposes nobody twice
    rq_burst(LOW)

    proposals = _proposals(pinned_app)
    everyone_idle = [idle["id"], world["agent"].agent_id, world["ptk_agent"].agent_id]
    assert sorted(proposals) == sorted((agent_id, "open") for agent_id in everyone_idle)
    assert busy["id"] not in [agent_id for agent_id, _ in proposals]
    with pinned_app.app_context():
        texts = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "agent_idle")))
    assert {t.recipient for t in texts} == {"+6281200000001"} and len(texts) == 2
    assert any(idle["code"] in t.body for t in texts)


def test_the_supervisor_accepts_a_proposal_and_the_agent_is_deactivated(pinned_app, client, world, idle_and_busy):
    idle, _ = idle_and_busy
    with pinned_app.app_context():
        propose_idle_deactivations(db.session, utcnow())
    listed = client.get(
        f"/api/v1/branches/{world['pkp']}/agent-proposals", headers=world["supervisor"].headers
    ).get_json()
    mine = next(p for p in listed if p["agent_id"] == idle["id"])

    accepted = client.post(
        f"/api/v1/agent-proposals/{mine['id']}/accept", json={"note": "setuju"}, headers=world["supervisor"].headers
    )

    assert accepted.status_code == 200, accepted.get_json()
    assert (accepted.get_json()["status"], accepted.get_json()["agent_status"]) == ("accepted", "deactivated")
    again = client.post(f"/api/v1/agent-proposals/{mine['id']}/dismiss", json={}, headers=world["supervisor"].headers)
    assert again.status_code == 409
    remaining = client.get(
        f"/api/v1/branches/{world['pkp']}/agent-proposals", headers=world["supervisor"].headers
    ).get_json()
    assert idle["id"] not in [p["agent_id"] for p in remaining]


def test_a_dismissed_proposal_restarts_the_three_months(pinned_app, client, world, idle_and_busy):
    idle, _ = idle_and_busy
    with pinned_app.app_context():
        propose_idle_deactivations(db.session, utcnow())
    proposal_id = next(
        p["id"]
        for p in client.get(
            f"/api/v1/branches/{world['pkp']}/agent-proposals", headers=world["supervisor"].headers
        ).get_json()
        if p["agent_id"] == idle["id"]
    )
    dismissed = client.post(
        f"/api/v1/agent-proposals/{proposal_id}/dismiss",
        json={"note": "sedang sakit"},
        headers=world["supervisor"].headers,
    )
    assert dismissed.status_code == 200 and dismissed.get_json()["agent_status"] == "active"

    with pinned_app.app_context():
        propose_idle_deactivations(db.session, utcnow())
    assert [s for a, s in _proposals(pinned_app) if a == idle["id"]] == ["dismissed"]
    with pinned_app.app_context():
        propose_idle_deactivations(db.session, utcnow() + timedelta(days=95))
    assert [s for a, s in _proposals(pinned_app) if a == idle["id"]] == ["dismissed", "open"]


def test_a_proposal_of_an_agent_who_transacted_since_cannot_be_accepted_and_the_job_closes_it(
    pinned_app, client, world, idle_and_busy, enrol
):
    idle, _ = idle_and_busy
    with pinned_app.app_context():
        propose_idle_deactivations(db.session, utcnow())
        proposal_id = db.session.scalar(
            select(DeactivationProposal.id).where(DeactivationProposal.agent_id == idle["id"])
        )
    member = enrol(nik=nik_for(serial=902))
    with pinned_app.app_context():
        db.session.execute(update(Member).where(Member.id == member["id"]).values(enrolled_by_agent_id=idle["id"]))
        db.session.commit()

    refused = client.post(f"/api/v1/agent-proposals/{proposal_id}/accept", json={}, headers=world["supervisor"].headers)

    assert refused.status_code == 409 and refused.get_json()["reason"] == "agent_busy_again"
    with pinned_app.app_context():
        assert propose_idle_deactivations(db.session, utcnow())["superseded"] == 1
    assert (idle["id"], "superseded") in _proposals(pinned_app)


def test_only_supervisors_and_admins_see_and_decide_proposals(pinned_app, client, world, idle_and_busy, make_staff):
    with pinned_app.app_context():
        propose_idle_deactivations(db.session, utcnow())
        proposal_id = db.session.scalar(select(func.min(DeactivationProposal.id)))
    url = f"/api/v1/branches/{world['pkp']}/agent-proposals"
    ptk = make_staff("supervisor", world["ptk"])
    assert client.get(url, headers=world["agent"].headers).status_code == 403
    assert client.get(url, headers=world["finance"].headers).status_code == 403
    assert client.get(url, headers=ptk.headers).status_code == 404
    assert client.post(f"/api/v1/agent-proposals/{proposal_id}/accept", json={}, headers=ptk.headers).status_code == 404
    assert (
        client.post(
            f"/api/v1/agent-proposals/{proposal_id}/accept", json={}, headers=world["finance"].headers
        ).status_code
        == 403
    )
    assert len(client.get(url + "?status=all", headers=world["admin"].headers).get_json()) == 2  # PKP's: idle, agent
    assert NOW  # the API's clock is pinned; the job reads the real one
