"""Attacks on the agent's answer to a returned day from his phone: an answer refused writes nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.extensions import db
from payments.ledger.models import DailyBatch, Deposit
from tests.agents.field.test_pages import csrf, login
from tests.payments.finance.test_batches import close, code, day  # noqa: F401 (the fixture)


def test_an_answer_with_a_deposit_to_a_day_finance_has_records_no_deposit(client, day):  # noqa: F811
    """The page's form sent for a day that is not (or no longer) returned: the answer is refused, and the corrected
    deposit that came with it is not recorded either (nothing half-written)."""
    batch = close(client, day)[code(day, "agent")]  # closed, never returned: finance has it
    login(client, "agent.pkp")
    form = {
        "csrf_token": csrf(client, "/agen/"),
        "idempotency_key": "answer-key-0001",
        "note": "Sudah saya setor hari ini",
        "amount_idr": "8.400",
        "bank_reference": "BRI-SUSULAN-9",
    }

    answer = client.post(f"/agen/dikembalikan/{batch['id']}", data=form)

    assert answer.status_code in (409, 422)
    with client.application.app_context():
        recorded = db.session.scalar(
            select(func.count()).select_from(Deposit).where(Deposit.bank_reference == "BRI-SUSULAN-9")
        )
        assert recorded == 0
        assert db.session.get(DailyBatch, batch["id"]).status == "closed"


def test_another_agents_returned_day_is_a_404_on_the_phone(client, day):  # noqa: F811
    batch = close(client, day)[code(day, "agent_b")]
    returned = client.post(
        f"/api/v1/batches/{batch['id']}/return", json={"reason": "Slip hilang"}, headers=day["finance"].headers
    )
    assert returned.status_code == 200
    login(client, "agent.pkp")
    token = csrf(client, "/agen/")
    form = {"csrf_token": token, "idempotency_key": "answer-key-0002", "note": "bukan hari saya"}

    seen = client.get(f"/agen/dikembalikan/{batch['id']}")
    sent = client.post(f"/agen/dikembalikan/{batch['id']}", data=form | {"amount_idr": "1000", "bank_reference": "X-1"})

    assert seen.status_code == sent.status_code == 404
    assert "Slip hilang" not in seen.get_data(as_text=True) and not re.search("bukan hari saya", sent.get_data(True))
    with client.application.app_context():
        assert db.session.get(DailyBatch, batch["id"]).status == "returned"
        assert db.session.scalar(select(func.count()).select_from(Deposit).where(Deposit.bank_reference == "X-1")) == 0


def test_an_answer_with_a_deposit_of_five_thousand_digits_is_a_422(client, day):  # noqa: F811
    batch = close(client, day)[code(day, "agent")]
    back = client.post(
        f"/api/v1/batches/{batch['id']}/return", json={"reason": "Slip hilang"}, headers=day["finance"].headers
    )
    assert back.status_code == 200
    login(client, "agent.pkp")
    form = {"csrf_token": csrf(client, "/agen/"), "idempotency_key": "answer-key-0003", "note": "Sudah saya setor"}

    answer = client.post(
        f"/agen/dikembalikan/{batch['id']}", data=form | {"amount_idr": "1" * 5000, "bank_reference": "B-1"}
    )

    assert answer.status_code == 422, answer.status_code
    with client.application.app_context():
        assert db.session.get(DailyBatch, batch["id"]).status == "returned"
