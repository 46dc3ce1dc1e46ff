"""Monthly incentive statements from the ledger: only on deposited cash in approved batches, the 25-new-NIK
threshold, contribution month numbers, finance's approval in month order, and a clawback after payout."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from core.extensions import db
from payments.ledger.models import Payment
from tests.factories import nik_for

OCTOBER_28 = datetime(2026, 10, 28, 3, 0)  # 10:00 WIB, a Wednesday
OCTOBER_30 = datetime(2026, 10, 30, 3, 0)
NOVEMBER_2 = datetime(2026, 11, 2, 3, 0)
NOVEMBER_10 = datetime(2026, 11, 10, 3, 0)


def at(app: Any, when: datetime) -> None:
    app.config["CLOCK"] = lambda: when


def pay(client: Any, agent: Any, member_id: int, months: int = 1) -> dict[str, Any]:
    headers = agent.headers | {"Idempotency-Key": str(uuid.uuid4())}
    response = client.post("/api/v1/contributions", json={"member_id": member_id, "months": months}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def enrol_many(client: Any, agent: Any, count: int, package: str = "JKK+JKM", first_serial: int = 1) -> list[int]:
    from tests.factories import enrolment

    ids = []
    for serial in range(first_serial, first_serial + count):
        body = enrolment(nik=nik_for(serial=serial), package=package, sector="other")
        response = client.post("/api/v1/members", json=body, headers=agent.headers)
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
    return ids


def settle_the_day(client: Any, world: dict[str, Any], amount: int, day: date, approve: bool = True) -> None:
    """The agent deposits the day's cash, the bank shows it, finance closes and approves the batch."""
    agent, finance = world["agent"], world["finance"]
    reference = f"SETOR-{uuid.uuid4().hex[:6]}"
    headers = agent.headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"amount_idr": amount, "bank_reference": reference, "deposited_on": str(day)}
    assert client.post("/api/v1/deposits", json=body, headers=headers).status_code == 201
    next_day = day + timedelta(days=1)  # a fee booked the next day: the statement covers the deposit's day
    text = f"date,description,reference,amount\n{day},SETORAN,{reference},{amount}\n{next_day},ADM,,-1\n"
    client.post(
        f"/api/v1/branches/{world['pkp']}/statements",
        data={"bank": "generic", "file": (io.BytesIO(text.encode()), f"{reference}.csv")},
        headers=finance.headers,
        content_type="multipart/form-data",
    )
    client.post(f"/api/v1/branches/{world['pkp']}/batches/close", json={"date": str(day)}, headers=finance.headers)
    if approve:
        batches = client.get(f"/api/v1/branches/{world['pkp']}/batches?date={day}", headers=finance.headers).get_json()
        for batch in batches:
            response = client.post(f"/api/v1/batches/{batch['id']}/approve", json={}, headers=finance.headers)
            assert response.status_code == 200, response.get_json()


def month_of(client: Any, world: dict[str, Any], month: str = "2026-10") -> dict[str, Any]:
    response = client.get(f"/api/v1/branches/{world['pkp']}/incentives/{month}", headers=world["finance"].headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def agent_row(body: dict[str, Any], world: dict[str, Any]) -> dict[str, Any]:
    (row,) = [a for a in body["agents"] if a["agent_id"] == world["agent"].agent_id]
    return row["statement"]


@pytest.mark.parametrize(("enrolled", "fee"), [(24, 0), (25, 25 * 10_000)])
def test_the_acquisition_fee_needs_25_new_niks_in_the_month(pinned_app, client, world, enrolled, fee):
    at(pinned_app, OCTOBER_28)
    enrol_many(client, world["agent"], enrolled)

    statement = agent_row(month_of(client, world), world)

    assert statement["new_nik_count"] == enrolled
    assert statement["threshold_met"] is (enrolled >= 25)
    assert statement["acquisition_idr"] == fee


def test_collection_earns_only_on_deposited_cash_in_an_approved_batch(pinned_app, client, world):
    at(pinned_app, OCTOBER_28)
    (member,) = enrol_many(client, world["agent"], 1)
    amount = pay(client, world["agent"], member, months=3)["amount_idr"]
    held = agent_row(month_of(client, world), world)

    settle_the_day(client, world, amount, date(2026, 10, 28), approve=False)
    deposited_not_approved = agent_row(month_of(client, world), world)
    at(pinned_app, OCTOBER_30)
    batches = client.get(
        f"/api/v1/branches/{world['pkp']}/batches?date=2026-10-28", headers=world["finance"].headers
    ).get_json()
    client.post(f"/api/v1/batches/{batches[0]['id']}/approve", json={}, headers=world["finance"].headers)
    approved = agent_row(month_of(client, world), world)

    assert amount == 3 * 8_400  # the PP 50/2025 discount for all sectors runs to December 2026
    assert (held["collection_idr"], held["pending_idr"]) == (0, round(amount * 0.15))
    assert deposited_not_approved["collection_idr"] == 0
    assert approved["collection_idr"] == 3 * 1_260  # 15% of Rp8.400 per month, months 1–3
    assert approved["pending_idr"] == 0


def test_month_25_of_a_member_earns_5_percent(pinned_app, client, world):
    at(pinned_app, OCTOBER_28)
    (member,) = enrol_many(client, world["agent"], 1)
    first = pay(client, world["agent"], member, months=12)["amount_idr"]
    second = pay(client, world["agent"], member, months=12)["amount_idr"]
    third = pay(client, world["agent"], member, months=1)["amount_idr"]
    settle_the_day(client, world, first + second + third, date(2026, 10, 28))

    response = client.get(
        f"/api/v1/branches/{world['pkp']}/incentives/2026-10/agents/{world['agent'].agent_id}",
        headers=world["finance"].headers,
    ).get_json()
    lines = [line for line in response["lines"] if line["kind"] == "collection"]
    by_month = {line["contribution_month"]: line for line in lines}

    assert len(lines) == 25
    assert by_month["2028-08"]["rate_label"] == "15% (month 23)"
    assert by_month["2028-09"]["rate_label"] == "15% (month 24)"
    assert by_month["2028-10"]["rate_label"] == "5% (month 25)"
    assert by_month["2028-10"]["amount_idr"] == round(by_month["2028-10"]["base_idr"] * 0.05)


def test_finance_approves_months_in_order_and_a_reversal_after_payout_is_clawed_back(pinned_app, client, world):
    at(pinned_app, OCTOBER_28)
    members = enrol_many(client, world["agent"], 25, package="JKK+JKM+JHT")
    amounts = [pay(client, world["agent"], m)["amount_idr"] for m in members[:2]]
    settle_the_day(client, world, sum(amounts), date(2026, 10, 28))
    url = f"/api/v1/branches/{world['pkp']}/incentives"

    too_early = client.post(f"{url}/2026-10/approve", headers=world["finance"].headers)
    at(pinned_app, NOVEMBER_2)
    first_ever = client.post(f"{url}/2026-08/approve", headers=world["finance"].headers)  # any month may be first
    skipping = client.post(f"{url}/2026-10/approve", headers=world["finance"].headers)
    by_supervisor = client.post(f"{url}/2026-09/approve", headers=world["supervisor"].headers)
    september = client.post(f"{url}/2026-09/approve", headers=world["finance"].headers)
    approved = client.post(f"{url}/2026-10/approve", headers=world["finance"].headers)
    again = client.post(f"{url}/2026-10/approve", headers=world["finance"].headers)
    october = agent_row(approved.get_json(), world)

    at(pinned_app, NOVEMBER_10)
    payment_id = _payment_of(client, members[0])
    reversal = client.post(
        f"/api/v1/contributions/{payment_id}/reversal",
        json={"reason": "wrong member"},
        headers=world["supervisor"].headers,
    )
    november = agent_row(month_of(client, world, "2026-11"), world)
    october_after = agent_row(month_of(client, world, "2026-10"), world)

    assert too_early.status_code == 409 and "has not ended" in too_early.get_json()["message"]
    assert first_ever.status_code == 200
    assert skipping.status_code == 409 and "Approve Sep 2026 first" in skipping.get_json()["message"]
    assert by_supervisor.status_code == 403
    assert september.status_code == 200 and agent_row(september.get_json(), world)["total_idr"] == 0
    assert approved.status_code == 200 and approved.get_json()["approved"] is True
    assert again.status_code == 200 and again.get_json() == approved.get_json()
    earned = round(amounts[0] * 0.15)
    assert october["acquisition_idr"] == 25 * 15_000
    assert october["collection_idr"] == sum(round(a * 0.15) for a in amounts)
    wadah = approved.get_json()["wadahs"][0]
    assert wadah["share_idr"] == round(october["payable_idr"] * 0.10)
    assert reversal.status_code == 200
    assert november["clawback_idr"] == -earned
    assert october_after == october  # approved: never recomputed


def test_a_negative_month_is_carried_into_the_next(pinned_app, client, world):
    at(pinned_app, OCTOBER_28)
    (member,) = enrol_many(client, world["agent"], 1)
    amount = pay(client, world["agent"], member, months=12)["amount_idr"]
    settle_the_day(client, world, amount, date(2026, 10, 28))
    at(pinned_app, NOVEMBER_2)
    assert (
        client.post(
            f"/api/v1/branches/{world['pkp']}/incentives/2026-10/approve", headers=world["finance"].headers
        ).status_code
        == 200
    )
    at(pinned_app, NOVEMBER_10)
    client.post(
        f"/api/v1/contributions/{_payment_of(client, member)}/reversal",
        json={"reason": "counterfeit notes"},
        headers=world["supervisor"].headers,
    )
    at(pinned_app, datetime(2026, 12, 2, 3, 0))
    november = client.post(
        f"/api/v1/branches/{world['pkp']}/incentives/2026-11/approve", headers=world["finance"].headers
    ).get_json()
    december = agent_row(month_of(client, world, "2026-12"), world)

    clawed = agent_row(november, world)
    assert clawed["total_idr"] == -round(amount * 0.15) and clawed["payable_idr"] == 0
    assert clawed["carried_out_idr"] == clawed["total_idr"]
    assert december["carried_in_idr"] == clawed["total_idr"]


def test_an_agent_sees_his_own_statement_and_nobody_elses(pinned_app, client, world):
    at(pinned_app, OCTOBER_28)
    (member,) = enrol_many(client, world["agent"], 1)
    pay(client, world["agent"], member)

    own = client.get("/api/v1/agents/me/incentives/2026-10", headers=world["agent"].headers)
    branch = client.get(f"/api/v1/branches/{world['pkp']}/incentives/2026-10", headers=world["agent"].headers)
    other = client.get(f"/api/v1/branches/{world['ptk']}/incentives/2026-10", headers=world["finance"].headers)
    bad = client.get("/api/v1/agents/me/incentives/2026-13", headers=world["agent"].headers)

    assert own.status_code == 200 and own.get_json()["pending_idr"] == 1_260
    assert [line["kind"] for line in own.get_json()["pending_lines"]] == ["pending"]
    assert branch.status_code == 403 and other.status_code == 404
    assert bad.status_code == 422 and "month" in bad.get_json()["errors"]["path"]


def _payment_of(client: Any, member_id: int) -> int:
    from sqlalchemy import select

    with client.application.app_context():
        return int(db.session.scalar(select(Payment.id).where(Payment.member_id == member_id).limit(1)))
