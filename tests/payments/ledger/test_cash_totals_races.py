"""Outsider's attack on the kept cash totals (migration 0027) on PostgreSQL: an agent's contributions, deposits and
a supervisor's reversals all at once, in separate sessions; afterwards the kept totals equal his history summed and
the cash limit still blocks as the sums say."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from core.extensions import db
from organisation.models import Agent, Branch
from payments.ledger.models import AgentCashTotal
from payments.ledger.services import agent_cash, cash_totals
from tests.factories import NOW, nik_for
from tests.payments.ledger.test_cash_totals import oldest_first_in_python, summed


def _post(app: Any, url: str, staff: Any, body: dict[str, Any]) -> Any:
    headers = staff.headers | {"Idempotency-Key": str(uuid.uuid4())}
    return app.test_client().post(url, json=body, headers=headers)


@pytest.mark.postgresql_only
def test_contributions_deposits_and_reversals_at_once_keep_the_totals_equal_to_the_sums(
    pinned_app: Any, client: Any, world: dict[str, Any], enrol: Any
) -> None:
    agent, supervisor = world["agent"], world["supervisor"]
    members = [enrol(nik=nik_for(serial=100 + n))["id"] for n in range(16)]
    early = []  # payments made before the race, reversed during it
    for member_id in members[:6]:
        response = _post(pinned_app, "/api/v1/contributions", agent, {"member_id": member_id, "months": 1})
        assert response.status_code == 201, response.get_json()
        early.append(response.get_json()["payment_id"])

    barrier = threading.Barrier(20)
    statuses: list[tuple[str, int]] = []

    def contribute(member_id: int) -> None:
        barrier.wait()
        response = _post(pinned_app, "/api/v1/contributions", agent, {"member_id": member_id, "months": 1})
        statuses.append(("pay", response.status_code))

    def reverse(payment_id: int) -> None:
        barrier.wait()
        response = _post(pinned_app, f"/api/v1/contributions/{payment_id}/reversal", supervisor, {"reason": "wrong"})
        statuses.append(("reverse", response.status_code))

    def deposit(n: int) -> None:
        barrier.wait()
        body = {"amount_idr": 8_400, "bank_reference": f"BRI-RACE-{n}"}
        response = _post(pinned_app, "/api/v1/deposits", agent, body)
        statuses.append(("deposit", response.status_code))

    threads = [threading.Thread(target=contribute, args=(m,)) for m in members[6:16]]
    threads += [threading.Thread(target=reverse, args=(p,)) for p in early]
    threads += [threading.Thread(target=deposit, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert all(status < 500 for _, status in statuses), statuses
    assert sorted(s for kind, s in statuses if kind == "reverse") == [200] * 6
    assert sorted(s for kind, s in statuses if kind == "pay") == [201] * 10
    with pinned_app.app_context():
        assert cash_totals(db.session, agent.agent_id) == summed(agent.agent_id)
        row = db.session.get(AgentCashTotal, agent.agent_id)
        assert row is not None
        agent_row = db.session.get(Agent, agent.agent_id)
        position = agent_cash(db.session, agent_row, NOW.date())
        collected, deposited = summed(agent.agent_id)
        assert position.on_hand_idr == collected - deposited
        assert position.oldest_undeposited_on == oldest_first_in_python(agent.agent_id)


@pytest.mark.postgresql_only
def test_at_the_cash_limit_only_one_of_two_racing_contributions_goes_through(
    pinned_app: Any, world: dict[str, Any], enrol: Any
) -> None:
    """The limit is read from the kept totals: two contributions at once that each fit alone but not together."""
    agent = world["agent"]
    with pinned_app.app_context():
        branch = db.session.get(Branch, world["pkp"])
        branch.cash_limit_idr = 8_400 * 3
        db.session.commit()
    members = [enrol(nik=nik_for(serial=200 + n))["id"] for n in range(4)]
    for member_id in members[:2]:
        assert (
            _post(pinned_app, "/api/v1/contributions", agent, {"member_id": member_id, "months": 1}).status_code == 201
        )
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def contribute(member_id: int) -> None:
        barrier.wait()
        statuses.append(
            _post(pinned_app, "/api/v1/contributions", agent, {"member_id": member_id, "months": 1}).status_code
        )

    threads = [threading.Thread(target=contribute, args=(m,)) for m in members[2:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with pinned_app.app_context():
        collected, deposited = summed(agent.agent_id)
        assert cash_totals(db.session, agent.agent_id) == (collected, deposited)
    assert sorted(statuses) == [201, 409] or sorted(statuses) == [201, 422], statuses
    assert collected - deposited == 8_400 * 3  # exactly at the limit, never over


def test_back_dated_cash_still_blocks_as_overdue_until_deposited_and_a_deposit_frees_it(
    pinned_app: Any, client: Any, world: dict[str, Any], enrol: Any
) -> None:
    """Cash back-dated 10 days (within the 30 allowed) is the oldest cash held: its deadline is long past, so new
    cash is refused (deposit_required) as the summed history says, until a deposit covers it."""
    agent = world["agent"]
    members = [enrol(nik=nik_for(serial=300 + n))["id"] for n in range(3)]
    back = (NOW.date() - timedelta(days=10)).isoformat()

    first = _post(pinned_app, "/api/v1/contributions", agent, {"member_id": members[0], "months": 1, "paid_on": back})
    refused = _post(pinned_app, "/api/v1/contributions", agent, {"member_id": members[1], "months": 1})
    cash = client.get("/api/v1/agents/me/cash", headers=agent.headers).get_json()

    assert first.status_code == 201, first.get_json()
    assert refused.status_code == 409 and refused.get_json()["reason"] == "deposit_required", refused.get_json()
    with pinned_app.app_context():
        assert oldest_first_in_python(agent.agent_id) == date.fromisoformat(back)
        assert cash_totals(db.session, agent.agent_id) == summed(agent.agent_id)
    assert (cash["on_hand_idr"], cash["oldest_undeposited_on"]) == (first.get_json()["amount_idr"], back)

    deposit = {"amount_idr": first.get_json()["amount_idr"], "bank_reference": "BRI-BACK-1"}
    assert _post(pinned_app, "/api/v1/deposits", agent, deposit).status_code == 201
    again = _post(pinned_app, "/api/v1/contributions", agent, {"member_id": members[1], "months": 1})
    assert again.status_code == 201, again.get_json()
    with pinned_app.app_context():
        assert cash_totals(db.session, agent.agent_id) == summed(agent.agent_id)
        assert oldest_first_in_python(agent.agent_id) == NOW.date()


def test_finance_declaring_a_departed_agents_deposit_sees_only_its_branchs_deposits_on_the_reference(
    pinned_app: Any, world: dict[str, Any], enrol: Any, make_staff: Any
) -> None:
    """same_reference_deposits on POST /agents/<id>/deposits: the branch's deposits on that bank reference (any of
    its agents), never another branch's."""
    pkp_other = make_staff("agent", world["pkp"], "agent2.pkp")
    ptk_agent = world["ptk_agent"]
    ptk_finance = make_staff("branch_finance", world["ptk"], "finance.ptk")
    departed = make_staff("agent", world["pkp"], "agent3.pkp")
    for n, (staff, regency, as_) in enumerate(
        [(pkp_other, "1971", "agent"), (ptk_agent, "6171", "ptk_agent"), (departed, "1971", "agent")]
    ):
        member = enrol(as_=as_, nik=nik_for(regency, serial=400 + n))["id"]
        assert _post(pinned_app, "/api/v1/contributions", staff, {"member_id": member, "months": 1}).status_code == 201
    ours = _post(pinned_app, "/api/v1/deposits", pkp_other, {"amount_idr": 8_400, "bank_reference": "BRI-SHARED"})
    theirs = _post(pinned_app, "/api/v1/deposits", ptk_agent, {"amount_idr": 8_400, "bank_reference": "bri-shared"})
    assert (ours.status_code, theirs.status_code) == (201, 201)
    with pinned_app.app_context():
        db.session.get(Agent, departed.agent_id).status = "deactivated"
        db.session.commit()

    body = {"amount_idr": 8_400, "bank_reference": " BRI-Shared", "deposited_on": NOW.date().isoformat()}
    declared = _post(pinned_app, f"/api/v1/agents/{departed.agent_id}/deposits", world["finance"], body)
    by_other_branch = _post(pinned_app, f"/api/v1/agents/{departed.agent_id}/deposits", ptk_finance, body)

    assert declared.status_code == 201, declared.get_json()
    assert [d["deposit_id"] for d in declared.get_json()["same_reference_deposits"]] == [ours.get_json()["id"]]
    assert by_other_branch.status_code == 404
