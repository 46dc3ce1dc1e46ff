"""Issue 12: an agent deactivated or terminated cannot log in to declare his setoran, so branch finance declares it
for him (``POST /api/v1/agents/<id>/deposits`` and /keuangan/agen-nonaktif). His deposit is matched with the bank
line that shows it, his cash on hand falls to nothing, his alert resolves and his batches can be approved."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.extensions import db
from payments.finance.models import StatementLine
from payments.ledger.models import BranchAlert, Deposit
from payments.ledger.services import alert_blocked_agents
from tests.factories import NOW, PASSWORD, nik_for

DAY = date(2026, 11, 19)  # a Thursday: cash taken then was due at the bank on Friday; the pinned now is Sunday 22nd
SLIP_DAY = date(2026, 11, 21)  # the day the terminated agent's cash reached the bank
REFERENCE = "SLIP-88412"


def pay(client: Any, agent: Any, member_id: int, months: int = 3) -> int:
    headers = agent.headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"member_id": member_id, "months": months, "paid_on": DAY.isoformat()}
    response = client.post("/api/v1/contributions", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["amount_idr"])


def declare(
    client: Any, staff: Any, agent_id: int, amount: int, key: str | None = None, on: date = SLIP_DAY, **extra: Any
) -> Any:
    headers = (staff.headers if staff else {}) | {"Idempotency-Key": key or str(uuid.uuid4())}
    body = {"amount_idr": amount, "bank_reference": REFERENCE, "deposited_on": on.isoformat()} | extra
    return client.post(f"/api/v1/agents/{agent_id}/deposits", json=body, headers=headers)


def upload(client: Any, staff: Any, branch_id: int, amount: int) -> dict[str, Any]:
    """A statement covering 18–22 November whose one credit is the departed agent's cash, booked on the slip day."""
    text = (
        "date,description,reference,amount\n"
        "2026-11-18,BIAYA ADMIN,,-5000\n"
        f"{SLIP_DAY},SETORAN TUNAI {REFERENCE},,{amount}\n"
        "2026-11-22,BIAYA ADMIN,,-5000\n"
    )
    data = {"bank": "generic", "file": (io.BytesIO(text.encode()), "mutasi.csv")}
    response = client.post(
        f"/api/v1/branches/{branch_id}/statements", data=data, headers=staff.headers, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


@pytest.fixture
def departed(pinned_app, client, world, enrol) -> dict[str, Any]:
    """The agent collected cash on Thursday, kept it past its deadline and was terminated for it; the morning scan
    alerted the branch; the bank statement shows a credit that nobody has declared."""
    member = enrol(nik=nik_for(serial=61))
    world["amount"] = pay(client, world["agent"], member["id"])
    world["agent_id"] = agent_id = world["agent"].agent_id
    reason = {"reason": "uang iuran ditahan"}
    terminated = client.post(f"/api/v1/agents/{agent_id}/terminate", json=reason, headers=world["supervisor"].headers)
    assert terminated.status_code == 200, terminated.get_json()
    with pinned_app.app_context():
        assert alert_blocked_agents(db.session, NOW) == 1
    report = upload(client, world["finance"], world["pkp"], world["amount"])
    assert report["unmatched"] == 1  # no deposit declared: the credit waits in finance's queue
    return world


def cash_on_hand(client: Any, world: dict[str, Any]) -> int:
    shown = client.get(f"/api/v1/agents/{world['agent_id']}", headers=world["finance"].headers)
    assert shown.status_code == 200, shown.get_json()
    return int(shown.get_json()["cash_on_hand_idr"])


def open_alerts(pinned_app: Any, agent_id: int) -> int:
    with pinned_app.app_context():
        return int(
            db.session.scalar(
                select(func.count()).where(BranchAlert.agent_id == agent_id, BranchAlert.resolved_at.is_(None))
            )
            or 0
        )


# --- the API ---------------------------------------------------------------------------------------------------


def test_finance_settles_a_terminated_agents_cash_and_his_batches_can_be_approved(pinned_app, client, departed):
    world, amount, agent_id = departed, departed["amount"], departed["agent_id"]
    assert cash_on_hand(client, world) == amount and open_alerts(pinned_app, agent_id) == 1

    response = declare(client, world["finance"], agent_id, amount)

    assert response.status_code == 201, response.get_json()
    recorded = response.get_json()
    assert (recorded["agent_id"], recorded["amount_idr"], recorded["deposited_on"]) == (agent_id, amount, "2026-11-21")
    assert recorded["recorded_by_user_id"] == world["finance"].id
    with pinned_app.app_context():
        line = db.session.scalar(select(StatementLine).where(StatementLine.amount_idr == amount))
        assert (line.status, line.deposit_id, line.match_kind) == ("matched", recorded["id"], "reference")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "deposit.recorded_for_agent"))
        assert (event.actor_user_id, event.entity_id) == (world["finance"].id, str(recorded["id"]))
        assert event.details["agent_status"] == "terminated"
        assert (event.details["cash_on_hand_before_idr"], event.details["cash_on_hand_after_idr"]) == (amount, 0)
        assert event.details["statement_line_id"] == line.id
    assert cash_on_hand(client, world) == 0
    assert open_alerts(pinned_app, agent_id) == 0
    lines = client.get(f"/api/v1/branches/{world['pkp']}/statement-lines", headers=world["finance"].headers)
    assert lines.get_json() == []  # finance's unmatched queue is empty

    finance = world["finance"].headers
    for day in (DAY, SLIP_DAY):
        closed = client.post(f"/api/v1/branches/{world['pkp']}/batches/close", json={"date": str(day)}, headers=finance)
        assert closed.status_code == 200, closed.get_json()
        (batch,) = client.get(f"/api/v1/branches/{world['pkp']}/batches?date={day}", headers=finance).get_json()
        assert batch["figures"]["agent_id"] == agent_id
        assert (batch["figures"]["variances"], batch["figures"]["pending"]) == ([], [])
        approved = client.post(f"/api/v1/batches/{batch['id']}/approve", json={}, headers=finance)
        assert approved.status_code == 200, approved.get_json()
        assert approved.get_json()["status"] == "approved"

    # The approved day is locked for him too: nothing more dated on it.
    locked = declare(client, world["finance"], agent_id, 1_000)
    assert locked.status_code == 409 and "deposited_on" in locked.get_json()["errors"]["json"]


def test_the_same_key_again_is_the_same_deposit(pinned_app, client, departed):
    key = str(uuid.uuid4())
    first = declare(client, departed["finance"], departed["agent_id"], departed["amount"], key=key)
    again = declare(client, departed["finance"], departed["agent_id"], departed["amount"], key=key)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deposit)) == 1
    other = declare(client, departed["finance"], departed["agent_id"], departed["amount"] - 1, key=key)
    assert other.status_code == 409 and other.get_json()["reason"] == "idempotency_key_reused"


def test_more_than_his_cash_is_refused_naming_the_amount(pinned_app, client, departed):
    response = declare(client, departed["finance"], departed["agent_id"], departed["amount"] + 1)

    assert response.status_code == 422, response.get_json()
    message = response.get_json()["errors"]["json"]["amount_idr"][0]
    assert f"A-{departed['agent'].id} holds" in message
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deposit)) == 0
    assert cash_on_hand(client, departed) == departed["amount"]


@pytest.mark.parametrize(
    ("on", "field"),
    [(NOW.date() + timedelta(days=2), "deposited_on"), (DAY - timedelta(days=40), "deposited_on")],
    ids=["future", "too_old"],
)
def test_a_slip_date_in_the_future_or_too_long_ago_is_refused(client, departed, on, field):
    response = declare(client, departed["finance"], departed["agent_id"], 1_000, on=on)

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]["json"]


def test_the_slip_date_is_required(client, departed):
    headers = departed["finance"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"amount_idr": 1_000, "bank_reference": REFERENCE}
    response = client.post(f"/api/v1/agents/{departed['agent_id']}/deposits", json=body, headers=headers)

    assert response.status_code == 422 and "deposited_on" in response.get_json()["errors"]["json"]


def test_an_active_agent_declares_his_own(pinned_app, client, world, enrol):
    member = enrol(nik=nik_for(serial=62))
    amount = pay(client, world["agent"], member["id"])

    response = declare(client, world["finance"], world["agent"].agent_id, amount)

    assert response.status_code == 409, response.get_json()
    assert response.get_json()["reason"] == "agent_active"
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deposit)) == 0


def test_finance_of_another_branch_gets_a_404_and_an_admin_may(pinned_app, client, departed, make_staff):
    ptk_finance = make_staff("branch_finance", departed["ptk"], "finance.ptk")

    refused = declare(client, ptk_finance, departed["agent_id"], departed["amount"])
    assert refused.status_code == 404, refused.get_json()
    assert REFERENCE not in refused.get_data(as_text=True)

    allowed = declare(client, departed["admin"], departed["agent_id"], departed["amount"])
    assert allowed.status_code == 201, allowed.get_json()
    assert allowed.get_json()["recorded_by_user_id"] == departed["admin"].id


@pytest.mark.parametrize(("caller", "status"), [("agent", 401), ("supervisor", 403), (None, 401)])
def test_agents_supervisors_and_nobody_are_refused(pinned_app, client, departed, caller, status):
    # The terminated agent's own token ended with him (401); a supervisor sees, finance records (403).
    response = declare(client, departed[caller] if caller else None, departed["agent_id"], departed["amount"])

    assert response.status_code == status, response.get_json()
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deposit)) == 0


def test_another_active_agent_is_refused_with_a_403(client, departed, make_staff):
    other = make_staff("agent", departed["pkp"], "agent.two")

    response = declare(client, other, departed["agent_id"], departed["amount"])

    assert response.status_code == 403, response.get_json()


# --- the finance desk -----------------------------------------------------------------------------------------


def token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def form_of(page: str, agent_id: int) -> dict[str, str]:
    """The hidden fields of the agent's row: the CSRF token and the form's idempotency key."""
    row = page[page.index(f'id="agent-{agent_id}"') :]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', row)
    assert key, row[:500]
    return {"csrf_token": token(row), "idempotency_key": key.group(1)}


def login(client: Any, username: str) -> None:
    page = client.get("/keuangan/masuk").get_data(as_text=True)
    response = client.post(
        "/keuangan/masuk", data={"csrf_token": token(page), "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303


def test_the_page_lists_him_and_records_his_deposit(pinned_app, client, departed):
    login(client, "finance.pkp")
    page = client.get("/keuangan/agen-nonaktif").get_data(as_text=True)
    code = f"A-{departed['agent'].id}"
    assert code in page and "diberhentikan" in page and "Rp{:,}".format(departed["amount"]).replace(",", ".") in page

    form = form_of(page, departed["agent_id"]) | {
        "amount_idr": f"{departed['amount']:,}".replace(",", "."),  # as people type it: 25.200
        "bank_reference": REFERENCE,
        "deposited_on": SLIP_DAY.isoformat(),
    }
    response = client.post(f"/keuangan/agen-nonaktif/{departed['agent_id']}/setoran", data=form)

    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    after = client.get("/keuangan/agen-nonaktif").get_data(as_text=True)
    assert "cocok dengan mutasi bank #" in after  # the flash: matched
    assert f'id="agent-{departed["agent_id"]}"' not in after  # he holds nothing now
    assert 'id="departed-deposits"' in after and REFERENCE in after
    assert cash_on_hand(client, departed) == 0 and open_alerts(pinned_app, departed["agent_id"]) == 0

    # The same form sent again (a double click, a reload) is the same deposit.
    assert client.post(f"/keuangan/agen-nonaktif/{departed['agent_id']}/setoran", data=form).status_code == 303
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deposit)) == 1


def test_the_page_refuses_without_the_csrf_token(pinned_app, client, departed):
    login(client, "finance.pkp")
    page = client.get("/keuangan/agen-nonaktif").get_data(as_text=True)
    form = form_of(page, departed["agent_id"]) | {
        "amount_idr": str(departed["amount"]),
        "bank_reference": REFERENCE,
        "deposited_on": SLIP_DAY.isoformat(),
    }

    for sent in ({k: v for k, v in form.items() if k != "csrf_token"}, form | {"csrf_token": "not-the-sessions"}):
        response = client.post(f"/keuangan/agen-nonaktif/{departed['agent_id']}/setoran", data=sent)
        assert response.status_code == 400

    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deposit)) == 0


def test_the_page_shows_a_refusal_on_the_agents_row(pinned_app, client, departed):
    login(client, "finance.pkp")
    page = client.get("/keuangan/agen-nonaktif").get_data(as_text=True)
    form = form_of(page, departed["agent_id"]) | {
        "amount_idr": str(departed["amount"] + 1),
        "bank_reference": REFERENCE,
        "deposited_on": SLIP_DAY.isoformat(),
    }

    response = client.post(f"/keuangan/agen-nonaktif/{departed['agent_id']}/setoran", data=form)

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="departed-error"' in body and "yang belum disetor; setoran tidak boleh melebihi" in body
    assert (
        'name="amount_idr" inputmode="numeric" required value="{}" aria-invalid="true"'.format(departed["amount"] + 1)
        in body
    )
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deposit)) == 0


def test_a_supervisor_sees_the_page_but_cannot_record(pinned_app, client, departed):
    login(client, "supervisor.pkp")
    page = client.get("/keuangan/agen-nonaktif").get_data(as_text=True)
    assert f"A-{departed['agent'].id}" in page and 'class="row-form departed-form"' not in page

    form = {
        "csrf_token": token(page),
        "idempotency_key": str(uuid.uuid4()),
        "amount_idr": str(departed["amount"]),
        "bank_reference": REFERENCE,
        "deposited_on": SLIP_DAY.isoformat(),
    }
    response = client.post(f"/keuangan/agen-nonaktif/{departed['agent_id']}/setoran", data=form)

    assert response.status_code == 403
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Deposit)) == 0
