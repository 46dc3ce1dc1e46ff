"""Attacks on the agent's deposit and returned-day forms: amounts and references no column holds are 4xx, not 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.extensions import db
from payments.ledger.models import Deposit
from tests.agents.field.test_pages import csrf, login


@pytest.mark.parametrize(
    ("amount", "reference"),
    [
        ("9" * 30, "BRI-HUGE-1"),  # beyond any integer column
        ("1" * 5000, "BRI-HUGE-2"),  # beyond Python's int() of a string (4300 digits)
        ("8.400", "R" * 5000),  # beyond the reference's column
        ("\u0668\u0664\u0660\u0660", "BRI-ARABIC-1"),  # digits that are not ASCII
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_a_deposit_no_column_holds_is_a_4xx(client, world, amount, reference, as_json):
    login(client, "agent.pkp")
    form = {"csrf_token": csrf(client, "/agen/"), "idempotency_key": "deposit-key-0001"}
    headers = {"Accept": "application/json"} if as_json else {}

    answer = client.post(
        "/agen/setoran", data=form | {"amount_idr": amount, "bank_reference": reference}, headers=headers
    )

    assert 400 <= answer.status_code < 500, answer.status_code
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deposit)) == 0


def test_an_enrolment_with_an_income_of_five_thousand_digits_is_a_422(client, world):
    login(client, "agent.pkp")

    answer = client.post(
        "/agen/daftar",
        data={"csrf_token": csrf(client, "/agen/"), "full_name": "Budi", "declared_income_idr": "1" * 5000},
    )

    assert answer.status_code == 422, answer.status_code
