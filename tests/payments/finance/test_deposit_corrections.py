"""Finance corrects a short deposit to what the bank credited (payments/finance/corrections.py): the agent then
holds the difference, deposits it, and the day judges clean (issue 15)."""

from __future__ import annotations

import json
import re
import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.audit import AuditEvent
from core.extensions import db
from core.outbox import OutboxMessage
from organisation.models import Agent, StaffUser
from payments.ledger.models import AgentCashTotal, Deposit
from tests.agents.field.test_pages import csrf, login
from tests.payments.finance.test_batches import batches_of, close, code, day, deposit  # noqa: F401 (the fixture)
from tests.payments.finance.test_desk import login as desk_login
from tests.payments.ledger.test_cash_totals import summed

TODAY = date(2026, 11, 22)  # the pinned now


def short_deposit(client: Any, world: dict[str, Any]) -> dict[str, Any]:
    """Agent B's deposit of the day, declared in full and 5,000 short in the bank."""
    batch = batches_of(client, world["finance"], world["pkp"])[code(world, "agent_b")]
    return batch["figures"]["deposits"][0]


def totals_of(agent: Any) -> tuple[int, int]:
    """The agent's kept totals (collected, deposited), as the database's triggers wrote them."""
    row = db.session.execute(
        select(AgentCashTotal.collected_idr, AgentCashTotal.deposited_idr)
        .join(Agent, Agent.id == AgentCashTotal.agent_id)
        .where(Agent.user_id == agent.id)
    ).one()
    return int(row[0]), int(row[1])


def correct(client: Any, staff: Any, deposit_id: int, amount: int, reason: str = "Bank mengkredit kurang") -> Any:
    return client.post(
        f"/api/v1/deposits/{deposit_id}/correction",
        json={"amount_idr": amount, "reason": reason},
        headers=staff.headers,
    )


def test_after_finance_corrects_a_short_deposit_the_agent_deposits_the_difference_and_the_day_is_clean(
    client,
    day,  # noqa: F811
):
    short = short_deposit(client, day)
    declared, banked = day["amounts"]["agent_b"], day["amounts"]["agent_b"] - 5_000
    refused = deposit(client, day["agent_b"], 5_000, "BRI-SUSULAN-1", on=TODAY)
    assert refused.status_code == 422  # the short deposit still counts at what he declared: he holds nothing

    corrected = correct(client, day["finance"], short["id"], banked)
    assert corrected.status_code == 200, corrected.get_json()
    assert (corrected.get_json()["amount_idr"], corrected.get_json()["declared_idr"]) == (banked, declared)
    difference = deposit(client, day["agent_b"], 5_000, "BRI-SUSULAN-1", on=TODAY)

    assert difference.status_code == 201, difference.get_json()
    batch = batches_of(client, day["finance"], day["pkp"])[code(day, "agent_b")]
    assert batch["figures"]["variances"] == [] and batch["figures"]["pending"] == []
    assert (batch["figures"]["deposited_idr"], batch["figures"]["banked_idr"]) == (banked, banked)
    with client.application.app_context():
        assert totals_of(day["agent_b"]) == (declared, declared)  # he collected it all, and the bank holds it all


def test_the_same_correction_twice_is_one_audit_logged_with_before_and_after_and_one_text(client, day):  # noqa: F811
    with client.application.app_context():
        db.session.get(StaffUser, day["agent_b"].id).phone = "+6281234500002"
        db.session.commit()
    short = short_deposit(client, day)
    declared, banked = day["amounts"]["agent_b"], day["amounts"]["agent_b"] - 5_000

    first = correct(client, day["finance"], short["id"], banked)
    again = correct(client, day["finance"], short["id"], banked, reason="dikirim lagi")

    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert first.get_json()["correction_reason"] == "Bank mengkredit kurang"
    with client.application.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "deposit.corrected")).all()
        assert len(events) == 1 and events[0].actor_user_id == day["finance"].id
        details = events[0].details if isinstance(events[0].details, dict) else json.loads(events[0].details)
        assert details["before"] == {"amount_idr": declared, "declared_idr": None}
        assert details["after"] == {"amount_idr": banked, "declared_idr": declared}
        assert (details["cash_on_hand_before_idr"], details["cash_on_hand_after_idr"]) == (0, 5_000)
        assert totals_of(day["agent_b"]) == (declared, banked)
        texts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "deposit_corrected")).all()
        assert [t.recipient for t in texts] == ["+6281234500002"]
        assert texts[0].body == (
            f"Keuangan cabang mengoreksi setoran BRI-7781 tanggal 19-11-2026: dinyatakan Rp{declared:,}, "
            f"diterima bank Rp{banked:,}. Setorkan selisihnya Rp5,000."
        ).replace(",", ".")


def test_a_correction_only_lowers_to_the_credit_matched_to_the_deposit(client, day):  # noqa: F811
    short = short_deposit(client, day)
    declared, banked = day["amounts"]["agent_b"], day["amounts"]["agent_b"] - 5_000
    clean = batches_of(client, day["finance"], day["pkp"])[code(day, "agent_c")]["figures"]["deposits"][0]

    typo = correct(client, day["finance"], short["id"], banked - 1)
    raised = correct(client, day["finance"], short["id"], declared + 1)
    nothing = client.post(
        f"/api/v1/deposits/{short['id']}/correction",
        json={"amount_idr": 0, "reason": "x y z"},
        headers=day["finance"].headers,
    )
    no_reason = correct(client, day["finance"], short["id"], banked, reason="  ")
    not_short = correct(client, day["finance"], clean["id"], clean["amount_idr"] - 1)

    assert typo.status_code == raised.status_code == 422
    assert "amount_idr" in typo.get_json()["errors"]["json"]
    assert "Rp" in typo.get_json()["message"]
    assert nothing.status_code == 422 and "amount_idr" in nothing.get_json()["errors"]["json"]
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]["json"]
    assert not_short.status_code == 409 and not_short.get_json()["reason"] == "deposit_not_short"
    with client.application.app_context():
        assert db.session.get(Deposit, short["id"]).amount_idr == declared
        assert db.session.get(Deposit, short["id"]).declared_idr is None


def test_a_deposit_the_bank_never_credited_is_not_corrected(client, day):  # noqa: F811
    member_paid = day["amounts"]["agent"]
    assert deposit(client, day["agent"], member_paid, "BRI-HILANG-9", on=TODAY).status_code == 201
    with client.application.app_context():
        lost = db.session.scalar(select(Deposit).where(Deposit.bank_reference == "BRI-HILANG-9"))
        lost_id = lost.id

    refused = correct(client, day["finance"], lost_id, 1_000)

    assert refused.status_code == 409 and refused.get_json()["reason"] == "deposit_not_in_bank"
    assert "return the day" in refused.get_json()["message"]


def test_only_finance_of_the_deposits_branch_or_an_admin_corrects_it(client, day, make_staff):  # noqa: F811
    short = short_deposit(client, day)
    banked = day["amounts"]["agent_b"] - 5_000
    ptk_finance = make_staff("branch_finance", day["ptk"], "finance.ptk")

    assert correct(client, day["agent_b"], short["id"], banked).status_code == 403
    assert correct(client, day["supervisor"], short["id"], banked).status_code == 403
    assert correct(client, ptk_finance, short["id"], banked).status_code == 404
    assert correct(client, day["finance"], 999_999, banked).status_code == 404
    assert correct(client, day["admin"], short["id"], banked).status_code == 200


def test_a_deposit_of_an_approved_day_is_not_corrected(client, day):  # noqa: F811
    batch = close(client, day)[code(day, "agent_b")]
    approved = client.post(
        f"/api/v1/batches/{batch['id']}/approve",
        json={"note": "selisih ditanggung agen"},
        headers=day["finance"].headers,
    )
    assert approved.status_code == 200, approved.get_json()
    short = batch["figures"]["deposits"][0]

    refused = correct(client, day["finance"], short["id"], day["amounts"]["agent_b"] - 5_000)

    assert refused.status_code == 409 and refused.get_json()["reason"] == "batch_approved"


def test_finance_corrects_the_short_deposit_from_the_batch_page_and_the_agent_is_told(client, day):  # noqa: F811
    batch = close(client, day)[code(day, "agent_b")]
    returned = client.post(
        f"/api/v1/batches/{batch['id']}/return",
        json={"reason": "Setoran kurang Rp5.000"},
        headers=day["finance"].headers,
    )
    assert returned.status_code == 200
    short = batch["figures"]["deposits"][0]
    declared, banked = day["amounts"]["agent_b"], day["amounts"]["agent_b"] - 5_000
    desk_login(client)
    page = client.get(f"/keuangan/batch/{batch['id']}").get_data(as_text=True)
    action = f"/keuangan/batch/{batch['id']}/setoran/{short['id']}/koreksi"
    assert f'action="{action}"' in page
    assert re.search(rf'name="amount_idr" inputmode="numeric" required value="{banked}"', page)  # prefilled
    token = csrf(client, f"/keuangan/batch/{batch['id']}")

    typo = client.post(action, data={"csrf_token": token, "amount_idr": "1.000", "reason": "Bank kurang"})
    done = client.post(
        action, data={"csrf_token": token, "amount_idr": f"{banked:,}".replace(",", "."), "reason": "Bank kurang"}
    )

    assert typo.status_code == 422 and "aria-invalid" in typo.get_data(as_text=True)
    assert done.status_code == 303
    after = client.get(f"/keuangan/batch/{batch['id']}").get_data(as_text=True)
    assert f'action="{action}"' not in after  # nothing short any more
    assert "dikoreksi: dinyatakan" in after

    phone = client.application.test_client()
    login(phone, "agent.b")
    answer = phone.get(f"/agen/dikembalikan/{batch['id']}").get_data(as_text=True)
    deposit_page = phone.get("/agen/setoran").get_data(as_text=True)
    for text in (answer, deposit_page):
        assert 'id="corrected-deposits"' in text
        assert f"dinyatakan {rupiah_id(declared)}, bank menerima {rupiah_id(banked)}" in text
    assert 'value="5000"' in deposit_page  # his cash on hand, prefilled: the difference

    key = re.search(r'name="idempotency_key" value="([^"]+)"', answer).group(1)
    form = {"csrf_token": csrf(phone, "/agen/"), "idempotency_key": key, "note": "Selisih sudah saya setor"}
    answered = phone.post(
        f"/agen/dikembalikan/{batch['id']}", data=form | {"amount_idr": "5.000", "bank_reference": "BRI-SUSULAN-2"}
    )

    assert answered.status_code == 303  # the deposit of the difference accepted, and the answer sent
    judged = batches_of(client, day["finance"], day["pkp"])[code(day, "agent_b")]
    assert judged["status"] == "closed" and judged["answer_note"] == "Selisih sudah saya setor"
    assert judged["figures"]["variances"] == [] and judged["figures"]["pending"] == []


def rupiah_id(amount: int) -> str:
    return f"Rp{amount:,}".replace(",", ".")


def test_a_correction_racing_the_agents_deposits_of_the_difference_lets_exactly_one_through(client, day):  # noqa: F811
    """Finance's correction and three of the agent's deposits of the difference at once, each in its own session:
    the agent's lock orders them, so at most one deposit finds the difference (none if all ran first), the totals
    equal the rows summed, and he never deposits more than he collected."""
    app = client.application
    short = short_deposit(client, day)
    declared, banked = day["amounts"]["agent_b"], day["amounts"]["agent_b"] - 5_000
    barrier = threading.Barrier(4)
    answers: list[tuple[str, int]] = []

    def correction() -> None:
        barrier.wait()
        answers.append(("correction", correct(app.test_client(), day["finance"], short["id"], banked).status_code))

    def difference(n: int) -> None:
        barrier.wait()
        answers.append(
            ("deposit", deposit(app.test_client(), day["agent_b"], 5_000, f"BRI-RACE-{n}", on=TODAY).status_code)
        )

    threads = [threading.Thread(target=correction)] + [threading.Thread(target=difference, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert ("correction", 200) in answers and len(answers) == 4
    deposits = sorted(status for kind, status in answers if kind == "deposit")
    assert deposits in ([201, 422, 422], [422, 422, 422]), answers
    with app.app_context():
        agent_id = db.session.scalar(select(Agent.id).where(Agent.user_id == day["agent_b"].id))
        assert totals_of(day["agent_b"]) == summed(agent_id)
        collected, deposited = summed(agent_id)
        assert collected == declared and deposited == banked + 5_000 * deposits.count(201)


def test_the_database_refuses_a_correction_that_raises_a_deposit(client, day):  # noqa: F811
    short = short_deposit(client, day)
    with client.application.app_context():
        row = db.session.get(Deposit, short["id"])
        row.declared_idr = row.amount_idr - 1  # "declared" less than it now counts: a raise, not a correction
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
