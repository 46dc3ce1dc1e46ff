"""Issue 16 part 5: what agents and finance see of a member's own payment. Settled, it takes him off his agent's
visit list (while a member who still owes stays on it), and the collections-by-channel report counts it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from agents.incentives import statements
from agents.incentives.rules import IncentiveRules
from collection.members.models import Member
from core.audit import AuditEvent
from core.extensions import db
from core.months import Month
from organisation.models import Branch
from payments.finance.reports import collections_by_channel
from payments.ledger.services import add_visit
from payments.selfpay.charges import owes_nothing_to_date
from payments.selfpay.models import SelfCharge
from tests.agents.field.test_pages import login
from tests.agents.incentives.test_statements import agent_row, month_of
from tests.payments.selfpay.conftest import deliver, process, queued_bodies
from tests.payments.selfpay.test_paying import open_charge

NOV, DEC, JAN = Month(2026, 11), Month(2026, 12), Month(2027, 1)


@pytest.mark.parametrize(
    ("open_months", "paid", "expected"),
    [
        ((NOV,), (NOV,), True),  # this month paid: nothing to collect
        ((Month(2026, 10), NOV), (Month(2026, 10), NOV), True),  # arrears and this month
        ((Month(2026, 10), NOV), (Month(2026, 10),), False),  # the arrears, but this month still open
        ((NOV, DEC), (NOV,), True),  # next month still open: not yet owed
        ((), (), True),
    ],
)
def test_a_member_owes_nothing_to_date_when_every_month_up_to_this_one_is_paid(open_months, paid, expected):
    assert owes_nothing_to_date(open_months, paid, NOV) is expected


def _visit(app: Any, member_id: int, source_id: int) -> None:
    with app.app_context():
        member = db.session.get(Member, member_id)
        assert member is not None
        add_visit(db.session, member, "debit_failed", source_id, "auto-debit failed: insufficient funds")
        db.session.commit()


def _visited(client: Any, headers: dict[str, str]) -> list[int]:
    answer = client.get("/api/v1/visits", headers=headers)
    assert answer.status_code == 200
    return [v["member_id"] for v in answer.get_json()]


def test_a_self_payment_takes_the_member_off_his_agents_visit_list(pinned_app, client, world, enrol, sign_in, sandbox):
    payer = enrol()
    waiting = enrol(nik=payer["nik"][:-4] + "0002", phone="0812-3456-7891")
    _visit(pinned_app, payer["id"], 1)
    _visit(pinned_app, waiting["id"], 2)
    agent = world["agent"].headers
    assert sorted(_visited(client, agent)) == sorted([payer["id"], waiting["id"]])

    sign_in(client, payer["kpj"])
    open_charge(client, months=1)
    with pinned_app.app_context():
        order_id = db.session.scalars(select(SelfCharge.order_id)).one()
    sandbox.pay(order_id)
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)

    assert _visited(client, agent) == [waiting["id"]]
    assert _visited(client, world["supervisor"].headers) == [waiting["id"]]  # the branch's list too
    with pinned_app.app_context():
        audited = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.resolved")).one()
    assert audited.details["member_id"] == payer["id"] and order_id in audited.details["why"]


def test_an_expired_self_payment_leaves_the_member_on_the_visit_list(
    pinned_app, client, world, enrol, sign_in, sandbox
):
    member = enrol()
    _visit(pinned_app, member["id"], 1)
    sign_in(client, member["kpj"])
    open_charge(client, months=1)
    with pinned_app.app_context():
        order_id = db.session.scalars(select(SelfCharge.order_id)).one()
    sandbox.expire(order_id)
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)

    assert _visited(client, world["agent"].headers) == [member["id"]]


def test_the_collections_by_channel_report_counts_virtual_accounts(pinned_app, client, world, enrol, sign_in, sandbox):
    member = enrol()
    sign_in(client, member["kpj"])
    open_charge(client, months=3)
    with pinned_app.app_context():
        charge = db.session.scalars(select(SelfCharge)).one()
        order_id, amount = charge.order_id, charge.amount_idr
    sandbox.pay(order_id)
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)

    with pinned_app.app_context():
        branch = db.session.get(Branch, member["branch_id"])
        [month] = collections_by_channel(db.session, branch, NOV, NOV)
    assert (month.virtual_account_idr, month.qris_idr, month.cash_idr) == (amount, 0, 0)
    assert (month.total_idr, month.payments) == (amount, 1)


def test_the_agent_sees_the_self_paid_months_on_the_members_page(pinned_app, client, enrol, sign_in, sandbox):
    member = enrol()
    sign_in(client, member["kpj"])
    open_charge(client, months=3, method="qris")
    with pinned_app.app_context():
        order_id = db.session.scalars(select(SelfCharge.order_id)).one()
    sandbox.pay(order_id)
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)

    agent = pinned_app.test_client()
    assert login(agent).status_code in (302, 303)
    page = agent.get(f"/agen/anggota/{member['id']}").get_data(as_text=True)
    english = agent.get(f"/agen/anggota/{member['id']}?lang=en").get_data(as_text=True)

    payments = re.search(r'<ul class="list" id="member-payments">(.*?)</ul>', page, re.S)
    assert payments is not None, "the member's page lists his payments"
    [line] = re.findall(r"<li[^>]*>.*?</li>", payments.group(1), re.S)
    assert "Bayar sendiri (QRIS)" in line and "Nov 2026 – Jan 2027" in line
    assert "Self-paid (QRIS)" in english and "Bayar sendiri" not in english


@pytest.mark.parametrize(("fee_on", "rate"), [(False, 0), (True, 1_500)])
def test_a_self_paid_month_earns_the_agent_a_collection_fee_only_when_the_setting_says_so(
    pinned_app, client, world, enrol, sign_in, sandbox, monkeypatch, fee_on, rate
):
    monkeypatch.setattr(statements, "RULES", IncentiveRules(self_paid_collection_fee=fee_on))
    member = enrol()
    sign_in(client, member["kpj"])
    open_charge(client, months=3)
    with pinned_app.app_context():
        charge = db.session.scalars(select(SelfCharge)).one()
        order_id, amount = charge.order_id, charge.amount_idr
    sandbox.pay(order_id)
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)

    body = month_of(client, world, "2026-11")
    mine = agent_row(body, world)

    assert amount == 3 * 8_400
    assert (mine["collection_idr"], mine["pending_idr"]) == (3 * 8_400 * rate // 10_000, 0)
    assert mine["acquisition_idr"] == 0  # one enrolment: under the new-NIK threshold either way
