"""Regressions from the review of branch finance (each failed before its fix): races on a locked day and on
overlapping imports, references inside other words, late-declared deposits, one FIFO order everywhere,
back-dated cash, big credits, and incentives that must wait for the bank."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core.extensions import db
from payments.finance import bank, batches
from payments.finance.batches import close_day, close_due_days
from payments.finance.models import StatementLine
from payments.ledger.models import DailyBatch
from tests.agents.incentives.test_statements import (
    NOVEMBER_2,
    NOVEMBER_10,
    OCTOBER_28,
    agent_row,
    at,
    enrol_many,
    month_of,
    settle_the_day,
)
from tests.agents.incentives.test_statements import pay as pay_months
from tests.factories import NOW, nik_for
from tests.payments.finance.test_batches import DAY, deposit, pay, statement, upload


def batch_of(client, staff, branch_id, agent_id, on=DAY):
    response = client.get(f"/api/v1/branches/{branch_id}/batches?date={on}", headers=staff.headers)
    assert response.status_code == 200, response.get_json()
    return {b["figures"]["agent_id"]: b for b in response.get_json()}[agent_id]


def close(app, branch_id, day):
    with app.app_context():
        close_day(db.session, branch_id, day, NOW)
        return db.session.scalar(select(DailyBatch.id).where(DailyBatch.business_date == day))


@pytest.mark.postgresql_only
def test_cash_recorded_while_finance_approves_waits_and_is_refused(app, client, world, enrol, monkeypatch):
    m1, m2 = enrol(nik=nik_for(serial=1)), enrol(nik=nik_for(serial=2))
    amount = pay(client, world["agent"], m1["id"], months=3)["amount_idr"]
    assert deposit(client, world["agent"], amount, "SLIP-77").status_code == 201
    upload(client, world["finance"], world["pkp"], statement(("2026-11-19", "SETORAN", "SLIP-77", amount)))
    batch_id = close(app, world["pkp"], DAY)
    real = batches.figures_to_json
    late: dict[str, object] = {}

    def while_approving(figures):  # the agent's phone sends cash for that day in the middle of the approval
        def other():
            late["response"] = app.test_client().post(
                "/api/v1/contributions",
                json={"member_id": m2["id"], "months": 3, "paid_on": DAY.isoformat()},
                headers=world["agent"].headers | {"Idempotency-Key": "late-payment-0001"},
            )

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(2)
        late["waited"] = thread.is_alive()
        late["thread"] = thread
        return real(figures)

    monkeypatch.setattr(batches, "figures_to_json", while_approving)
    approved = client.post(f"/api/v1/batches/{batch_id}/approve", json={}, headers=world["finance"].headers)
    late["thread"].join(30)  # type: ignore[attr-defined]

    assert approved.status_code == 200
    assert late["waited"] is True  # blocked on the agent's lock until the approval committed
    assert late["response"].status_code == 409  # type: ignore[attr-defined]
    after = client.get(f"/api/v1/batches/{batch_id}", headers=world["finance"].headers).get_json()
    assert after["figures"]["collected_idr"] == amount


@pytest.mark.postgresql_only
def test_two_overlapping_statements_imported_at_once_add_each_credit_once(app, client, world, make_staff, monkeypatch):
    second_finance = make_staff("branch_finance", world["pkp"], "finance.two")
    first = statement(("2026-11-19", "TRF A", "X1", 100_000), ("2026-11-20", "TRF B", "X2", 200_000))
    second = first + "2026-11-21,TRF C,X3,300000\n"  # the next day's export overlaps the first
    real = bank.audit.record
    other: dict[str, object] = {}

    class Interleave:
        fired = False

        def record(self, *args, **kwargs):
            if not Interleave.fired:
                Interleave.fired = True
                thread = threading.Thread(
                    target=lambda: other.setdefault(
                        "response", upload(app.test_client(), second_finance, world["pkp"], second, name="b.csv")
                    )
                )
                thread.start()
                other["thread"] = thread
                time.sleep(1.0)
            return real(*args, **kwargs)

    monkeypatch.setattr(bank, "audit", Interleave())
    first_response = upload(client, world["finance"], world["pkp"], first, name="a.csv")
    other["thread"].join(30)  # type: ignore[attr-defined]

    assert first_response.status_code == 201
    assert other["response"].status_code == 201  # type: ignore[attr-defined]
    assert other["response"].get_json()["new_lines"] == 1  # type: ignore[attr-defined]
    with app.app_context():
        assert len(db.session.scalars(select(StatementLine.id)).all()) == 3


def test_a_short_reference_is_not_found_inside_a_date(client, world, enrol):
    member = enrol()
    amount = pay(client, world["agent"], member["id"], months=3)["amount_idr"]
    deposit(client, world["agent"], amount, "2026")

    report = upload(
        client, world["finance"], world["pkp"], statement(("2026-11-20", "TRF PEMDA 19/11/2026", "", 1_000_000))
    ).get_json()

    assert report["matched"] == {} and report["unmatched"] == 1


@pytest.mark.parametrize("written", ["SETORAN BRI 7781", "SETORAN BRI7781", "SETORAN/BRI-7781/BUDI"])
def test_a_reference_is_found_as_whole_words_however_the_bank_spaces_it(client, world, enrol, written):
    member = enrol()
    amount = pay(client, world["agent"], member["id"], months=3)["amount_idr"]
    deposit(client, world["agent"], amount, "BRI-7781")

    report = upload(client, world["finance"], world["pkp"], statement(("2026-11-19", written, "", amount))).get_json()

    assert report["matched"] == {"reference": 1}


def test_not_inside_a_longer_number(client, world, enrol):
    member = enrol()
    amount = pay(client, world["agent"], member["id"], months=3)["amount_idr"]
    deposit(client, world["agent"], amount, "BRI-7781")

    report = upload(
        client, world["finance"], world["pkp"], statement(("2026-11-19", "SETORAN BRI 77810", "", amount + 1))
    ).get_json()

    assert report["matched"] == {}


def test_of_two_credits_naming_one_deposit_the_one_of_its_amount_takes_it(client, world, enrol):
    member = enrol()
    amount = pay(client, world["agent"], member["id"], months=3)["amount_idr"]
    deposit(client, world["agent"], amount, "SLIP-42")

    upload(
        client,
        world["finance"],
        world["pkp"],
        statement(("2026-11-19", "SETORAN SLIP-42", "", 10_000), ("2026-11-19", "SETORAN SLIP 42", "", amount)),
    )
    figures = batch_of(client, world["finance"], world["pkp"], world["agent"].agent_id)["figures"]

    assert figures["banked_idr"] == amount and figures["variances"] == []


def test_a_deposit_declared_after_the_statement_was_imported_is_matched_then(client, world, enrol):
    member = enrol()
    amount = pay(client, world["agent"], member["id"], months=3)["amount_idr"]
    upload(client, world["finance"], world["pkp"], statement(("2026-11-19", "SETORAN SLIP-9", "", amount)))

    deposit(client, world["agent"], amount, "SLIP-9")
    figures = batch_of(client, world["finance"], world["pkp"], world["agent"].agent_id)["figures"]

    assert figures["banked_idr"] == amount and figures["variances"] == []


def test_batches_and_the_cash_rule_order_back_dated_cash_the_same_way(client, world, enrol):
    m1, m2 = enrol(nik=nik_for(serial=1)), enrol(nik=nik_for(serial=2))
    p1 = pay(client, world["agent"], m1["id"], months=3, paid_on=date(2026, 11, 21))
    p2 = pay(client, world["agent"], m2["id"], months=3, paid_on=date(2026, 11, 18))  # an offline form, late
    deposit(client, world["agent"], p1["amount_idr"], "SLIP-1", on=date(2026, 11, 21))

    cash = client.get("/api/v1/agents/me/cash", headers=world["agent"].headers).get_json()
    older = client.get(f"/api/v1/receipts/{p2['number']}", headers=world["supervisor"].headers).get_json()
    newer = client.get(f"/api/v1/receipts/{p1['number']}", headers=world["supervisor"].headers).get_json()
    b18 = batch_of(client, world["finance"], world["pkp"], world["agent"].agent_id, date(2026, 11, 18))["figures"]
    b21 = batch_of(client, world["finance"], world["pkp"], world["agent"].agent_id, date(2026, 11, 21))["figures"]

    assert cash["oldest_undeposited_on"] == "2026-11-21"
    assert (older["deposited"], newer["deposited"]) == (True, False)
    assert (b18["undeposited_idr"], b21["undeposited_idr"]) == (0, p1["amount_idr"])


def test_held_at_end_agrees_with_undeposited_after_a_reversal(client, world, enrol):
    m1, m2 = enrol(nik=nik_for(serial=1)), enrol(nik=nik_for(serial=2))
    first = pay(client, world["agent"], m1["id"], months=3, paid_on=date(2026, 11, 18))
    deposit(client, world["agent"], first["amount_idr"], "SLIP-18", on=date(2026, 11, 18))
    client.post(
        f"/api/v1/contributions/{first['payment_id']}/reversal",
        json={"reason": "wrong member"},
        headers=world["supervisor"].headers,
    )
    second = pay(client, world["agent"], m2["id"], months=3, paid_on=DAY)  # the right member, same cash

    figures = batch_of(client, world["finance"], world["pkp"], world["agent"].agent_id)["figures"]

    assert second["amount_idr"] == first["amount_idr"]
    assert figures["undeposited_idr"] == 0 and figures["held_at_end_idr"] == 0


def test_cash_back_dated_twelve_days_gets_its_batch(app, client, world, enrol):
    member = enrol()
    old = NOW.date() - timedelta(days=12)
    pay(client, world["agent"], member["id"], months=3, paid_on=old)
    with app.app_context():
        close_due_days(db.session, world["pkp"], NOW)
        days = db.session.scalars(select(DailyBatch.business_date)).all()

    assert old in days


def test_an_apbd_transfer_of_three_billion_is_a_line_not_a_500(client, world):
    response = upload(client, world["finance"], world["pkp"], statement(("2026-11-20", "SP2D APBD", "", 3_000_000_000)))

    assert response.status_code == 201
    assert response.get_json()["unmatched"] == 1


@pytest.mark.parametrize("query", ["to=1900-06", "from=2101-01&to=2101-02", "from=0001-01"])
def test_report_months_out_of_range_are_a_422(client, world, query):
    response = client.get(
        f"/api/v1/branches/{world['pkp']}/reports/collections-by-channel?{query}", headers=world["finance"].headers
    )

    assert response.status_code == 422


def test_no_incentive_on_a_deposit_the_bank_never_showed(pinned_app, client, world):
    at(pinned_app, NOW)
    (member,) = enrol_many(client, world["agent"], 1)
    headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"member_id": member, "months": 3, "paid_on": "2026-11-16"}
    amount = client.post("/api/v1/contributions", json=body, headers=headers).get_json()["amount_idr"]
    finance = world["finance"].headers
    client.post(f"/api/v1/branches/{world['pkp']}/batches/close", json={"date": "2026-11-16"}, headers=finance)
    (batch,) = client.get(f"/api/v1/branches/{world['pkp']}/batches?date=2026-11-16", headers=finance).get_json()
    client.post(f"/api/v1/batches/{batch['id']}/approve", json={"note": "he will deposit tomorrow"}, headers=finance)

    client.post(
        "/api/v1/deposits",
        json={"amount_idr": amount, "bank_reference": "NO-SUCH-SLIP"},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    statement_now = agent_row(month_of(client, world, "2026-11"), world)

    assert statement_now["collection_idr"] == 0
    assert statement_now["pending_idr"] == round(amount * 0.15)


def test_a_clawback_takes_back_exactly_what_the_line_earned(pinned_app, client, world):
    at(pinned_app, OCTOBER_28)
    (member,) = enrol_many(client, world["agent"], 1)
    payments = [pay_months(client, world["agent"], member, months=n) for n in (12, 12, 1)]
    settle_the_day(client, world, sum(p["amount_idr"] for p in payments), date(2026, 10, 28))
    at(pinned_app, NOVEMBER_2)
    client.post(f"/api/v1/branches/{world['pkp']}/incentives/2026-10/approve", headers=world["finance"].headers)
    url = f"/api/v1/branches/{world['pkp']}/incentives/%s/agents/{world['agent'].agent_id}"
    october = client.get(url % "2026-10", headers=world["finance"].headers).get_json()["lines"]
    earned = sum(line["amount_idr"] for line in october if line["payment_id"] == payments[2]["payment_id"])

    at(pinned_app, NOVEMBER_10)
    for payment in (payments[0], payments[2]):  # the first year was the wrong member; then month 25 too
        response = client.post(
            f"/api/v1/contributions/{payment['payment_id']}/reversal",
            json={"reason": "wrong member"},
            headers=world["supervisor"].headers,
        )
        assert response.status_code == 200
    november = client.get(url % "2026-11", headers=world["finance"].headers).get_json()["lines"]
    clawed = [
        line for line in november if line["kind"] == "clawback" and line["payment_id"] == payments[2]["payment_id"]
    ]

    assert earned == round(payments[2]["amount_idr"] * 0.05)  # month 25: 5%
    assert [line["amount_idr"] for line in clawed] == [-earned]
    assert clawed[0]["rate_label"] == "5% (month 25)"
