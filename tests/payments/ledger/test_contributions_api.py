"""Agents' cash contributions over HTTP: never twice, never lost, receipts, cash limits, reversal."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.extensions import db
from core.outbox import OutboxMessage
from organisation.models import Branch
from payments.ledger.models import BranchAlert, Payment
from payments.ledger.services import alert_blocked_agents
from tests.factories import NOW, nik_for


def pay(client: Any, staff: Any, key: str | None = None, **body: Any) -> Any:
    headers = staff.headers | {"Idempotency-Key": key or str(uuid.uuid4())}
    return client.post("/api/v1/contributions", json=body, headers=headers)


def count(app: Any, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_cash_for_three_months_gets_a_receipt_and_moves_the_member_at_once(client, world, enrol):
    member = enrol()

    response = pay(client, world["agent"], member_id=member["id"], months=3)

    assert response.status_code == 201, response.get_json()
    receipt = response.get_json()
    assert receipt["months_covered"] == ["2026-11", "2026-12", "2027-01"]
    assert receipt["amount_idr"] == 3 * 8_400  # transport: PP 50/2025 runs to March 2027
    assert receipt["member_id"] == member["id"]
    assert receipt["agent_id"] == world["agent"].agent_id
    assert receipt["number"].startswith("PKP-202611-")
    assert len(receipt["verification_code"]) == 10
    assert receipt["deposited"] is False
    after = client.get(f"/api/v1/members/{member['id']}", headers=world["agent"].headers).get_json()
    assert after["paid_through"] == "2027-01"
    assert after["status"] == "active"


def test_the_same_key_returns_the_same_receipt_and_records_one_payment(pinned_app, client, world, enrol):
    member = enrol()
    key = str(uuid.uuid4())

    first = pay(client, world["agent"], key, member_id=member["id"], months=1)
    again = pay(client, world["agent"], key, member_id=member["id"], months=1)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert count(pinned_app, Payment) == 1


def test_the_same_key_with_other_content_is_a_409(client, world, enrol):
    member = enrol()
    key = str(uuid.uuid4())
    pay(client, world["agent"], key, member_id=member["id"], months=1)

    response = pay(client, world["agent"], key, member_id=member["id"], months=3)

    assert response.status_code == 409
    assert response.get_json()["reason"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("key", "body", "field"),
    [
        ("", {"months": 1}, "Idempotency-Key"),
        ("short", {"months": 1}, "Idempotency-Key"),
        (None, {"months": 2}, "months"),
        (None, {"amount_idr": 10_000}, "amount_idr"),
        (None, {"months": 1, "amount_idr": 8_400}, "months"),
        (None, {}, "months"),
        (None, {"months": 1, "paid_on": "2026-11-30"}, "paid_on"),
        (None, {"months": 1, "paid_on": "2026-01-01"}, "paid_on"),
        (None, {"months": "three"}, "months"),
    ],
)
def test_bad_contributions_are_4xx_naming_the_field_and_write_nothing(
    pinned_app, client, world, enrol, key, body, field
):

    member = enrol()
    headers = world["agent"].headers | (
        {"Idempotency-Key": key} if key is not None else {"Idempotency-Key": str(uuid.uuid4())}
    )

    response = client.post("/api/v1/contributions", json={"member_id": member["id"], **body}, headers=headers)

    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert field in errors.get("json", {}) or field in errors.get("headers", {})
    assert count(pinned_app, Payment) == 0


def test_an_exact_amount_is_taken_as_whole_months(client, world, enrol):
    member = enrol()

    response = pay(client, world["agent"], member_id=member["id"], amount_idr=3 * 8_400)

    assert response.status_code == 201
    assert len(response.get_json()["months_covered"]) == 3


def test_a_member_in_arrears_pays_the_arrears_first(pinned_app, client, world, enrol):
    member = enrol(sector="other")
    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(days=62)  # 2027-01-23: Nov, Dec, Jan overdue

    standing = client.get(f"/api/v1/members/{member['id']}", headers=world["agent"].headers).get_json()
    paid = pay(client, world["agent"], member_id=member["id"], months=4)

    assert paid.status_code == 201, paid.get_json()
    assert paid.get_json()["months_covered"] == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert paid.get_json()["amount_idr"] == 8_400 + 8_400 + 16_800 + 16_800
    assert standing["status"] in ("active", "in_arrears")


def test_a_payment_after_lapse_starts_a_new_protection_period(pinned_app, client, world, enrol):
    member = enrol(sector="other")
    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(days=150)  # 2027-04-21: Nov..Mar unpaid, lapsed

    paid = pay(client, world["agent"], member_id=member["id"], months=1)
    after = client.get(f"/api/v1/members/{member['id']}", headers=world["agent"].headers).get_json()

    assert paid.status_code == 201, paid.get_json()
    assert paid.get_json()["months_covered"] == ["2027-04"]
    assert after["status"] == "active"
    assert after["period_started_on"] == "2027-04-21"
    assert after["paid_through"] == "2027-04"


def test_cash_over_the_branch_limit_is_refused_until_a_deposit_and_the_branch_is_alerted(
    pinned_app, client, world, enrol
):

    with pinned_app.app_context():
        db.session.get(Branch, world["pkp"]).cash_limit_idr = 30_000
        db.session.commit()
    first, second = enrol(), enrol(nik=nik_for(serial=2), name="Siti Aminah")

    assert pay(client, world["agent"], member_id=first["id"], months=3).status_code == 201  # 25.200 held
    refused = pay(client, world["agent"], member_id=second["id"], months=1)  # 33.600 > 30.000

    assert refused.status_code == 409
    assert refused.get_json()["reason"] == "deposit_required"
    alerts = client.get("/api/v1/alerts", headers=world["supervisor"].headers).get_json()
    assert [a["kind"] for a in alerts] == ["cash_limit"]

    deposit = client.post(
        "/api/v1/deposits",
        json={"amount_idr": 25_200, "bank_reference": "BRI-778812"},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert deposit.status_code == 201
    assert pay(client, world["agent"], member_id=second["id"], months=1).status_code == 201
    assert client.get("/api/v1/alerts", headers=world["supervisor"].headers).get_json() == []


def test_cash_held_past_the_deposit_deadline_blocks_new_cash(pinned_app, client, world, enrol):
    first, second = enrol(), enrol(nik=nik_for(serial=2), name="Siti Aminah")
    assert pay(client, world["agent"], member_id=first["id"], months=1).status_code == 201  # Sunday 22 Nov

    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(days=1)  # Monday: the deadline day itself
    day = client.get("/api/v1/agents/me/cash", headers=world["agent"].headers).get_json()
    assert day["deposit_due_by"] == "2026-11-23" and day["blocked"] is False
    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(days=2)  # Tuesday: overdue

    refused = pay(client, world["agent"], member_id=second["id"], months=1)

    assert refused.status_code == 409
    assert "had to be deposited by 23 Nov 2026" in refused.get_json()["message"]


def test_a_deposit_cannot_exceed_the_cash_held_and_is_idempotent(client, world, enrol):
    member = enrol()
    pay(client, world["agent"], member_id=member["id"], months=1)
    headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}

    too_much = client.post("/api/v1/deposits", json={"amount_idr": 9_000, "bank_reference": "BRI-1"}, headers=headers)
    first = client.post("/api/v1/deposits", json={"amount_idr": 8_400, "bank_reference": "BRI-1"}, headers=headers)
    again = client.post("/api/v1/deposits", json={"amount_idr": 8_400, "bank_reference": "BRI-1"}, headers=headers)

    assert too_much.status_code == 422 and "amount_idr" in too_much.get_json()["errors"]["json"]
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"]
    day = client.get("/api/v1/agents/me/cash", headers=world["agent"].headers).get_json()
    assert (day["collected_today_idr"], day["on_hand_idr"], day["deposited_idr"]) == (8_400, 0, 8_400)


def test_a_supervisor_reverses_a_payment_and_its_months_reopen_but_an_agent_cannot(client, world, enrol):
    member = enrol()
    receipt = pay(client, world["agent"], member_id=member["id"], months=3).get_json()
    url = f"/api/v1/contributions/{receipt['payment_id']}/reversal"

    by_agent = client.post(url, json={"reason": "wrong member"}, headers=world["agent"].headers)
    by_supervisor = client.post(url, json={"reason": "wrong member"}, headers=world["supervisor"].headers)
    again = client.post(url, json={"reason": "wrong member"}, headers=world["supervisor"].headers)

    assert by_agent.status_code == 403
    assert by_supervisor.status_code == 200 and by_supervisor.get_json()["status"] == "reversed"
    assert again.status_code == 200 and again.get_json() == by_supervisor.get_json()
    months = client.get(
        f"/api/v1/members/{member['id']}/schedule?from=2026-11&to=2027-01", headers=world["agent"].headers
    ).get_json()["months"]
    assert [m["settled"] for m in months] == [False, False, False]
    assert (
        client.get(f"/api/v1/members/{member['id']}", headers=world["agent"].headers).get_json()["paid_through"] is None
    )
    repaid = pay(client, world["agent"], member_id=member["id"], months=1)
    assert repaid.get_json()["months_covered"] == ["2026-11"]


def test_an_agent_cannot_pay_for_another_branchs_member(client, world, enrol):
    member = enrol(as_="ptk_agent", nik=nik_for("6171"))

    assert pay(client, world["agent"], member_id=member["id"], months=1).status_code == 404


def test_only_agents_record_cash(client, world, enrol):
    member = enrol()

    assert pay(client, world["supervisor"], member_id=member["id"], months=1).status_code == 403
    assert pay(client, world["finance"], member_id=member["id"], months=1).status_code == 403


def test_every_contribution_is_audited_with_its_device(pinned_app, client, world, enrol):
    member = enrol()
    client.post(
        "/api/v1/contributions",
        json={"member_id": member["id"], "months": 1},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4()), "User-Agent": "Android 8 Go"},
    )

    with pinned_app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contribution.recorded")).one()
        assert event.device == "Android 8 Go"
        assert event.actor_user_id == world["agent"].id
        assert event.details["months"] == ["2026-11"]


def test_the_member_gets_a_text_and_a_real_worker_sends_it(pinned_app, client, world, enrol, rq_burst):
    member = enrol()
    receipt = pay(client, world["agent"], member_id=member["id"], months=1).get_json()

    rq_burst()

    with pinned_app.app_context():
        message = db.session.scalars(select(OutboxMessage)).one()
        assert message.recipient == "+6281234567890"
        assert receipt["verification_code"] in message.body
        assert message.sent_at is not None and message.sender == "log"


def test_the_text_links_the_receipt_at_the_public_address_with_its_host(pinned_app, client, world, enrol):
    pinned_app.config["PUBLIC_BASE_URL"] = "https://iuran.example.id"
    member = enrol()

    receipt = pay(client, world["agent"], member_id=member["id"], months=1).get_json()

    with pinned_app.app_context():
        body = db.session.scalars(select(OutboxMessage)).one().body
    assert body.endswith(f"Cek: https://iuran.example.id/r/{receipt['verification_code']}")
    assert client.get(f"/r/{receipt['verification_code']}").status_code == 200  # the path the link names


@pytest.mark.postgresql_only
def test_fifty_concurrent_requests_with_one_key_make_one_payment(pinned_app, world, enrol):
    member = enrol()
    key = str(uuid.uuid4())
    barrier = threading.Barrier(50)
    results: list[tuple[int, Any]] = []

    def submit() -> None:
        client = pinned_app.test_client()
        barrier.wait()
        response = pay(client, world["agent"], key, member_id=member["id"], months=3)
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=submit) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 49 + [201]
    assert len({body["number"] for _, body in results}) == 1
    assert count(pinned_app, Payment) == 1


def test_an_agent_who_keeps_the_cash_is_reported_without_trying_to_collect_more(
    pinned_app, client, world, enrol, rq_burst
):

    member = enrol()
    pay(client, world["agent"], member_id=member["id"], months=1)  # Sunday 22 Nov: due by Monday 23 Nov

    with pinned_app.app_context():
        assert alert_blocked_agents(db.session, NOW + timedelta(days=1)) == 0  # the deadline day itself
        assert alert_blocked_agents(db.session, NOW + timedelta(days=2)) == 1
        assert alert_blocked_agents(db.session, NOW + timedelta(days=2, hours=4)) == 0  # once a day

    alerts = client.get("/api/v1/alerts", headers=world["supervisor"].headers).get_json()
    assert len(alerts) == 1 and (alerts[0]["oldest_on"], alerts[0]["due_by"]) == ("2026-11-22", "2026-11-23")
    assert alerts[0]["held_idr"] > 0 and "(due by 23 Nov 2026): new cash is blocked" in alerts[0]["message"]
    in_indonesian = client.get("/api/v1/alerts?lang=id", headers=world["supervisor"].headers).get_json()
    assert "(batas setor 23 Nov 2026): uang tunai baru diblokir" in in_indonesian[0]["message"]


def test_a_deposit_on_a_reference_used_before_is_recorded_and_the_agent_is_shown_his_own_earlier_ones(
    client, world, enrol, make_staff
):
    """A reused bank reference is a warning, not a refusal (payments/finance/references.py): the agent is shown his
    own earlier deposits on it, not another agent's (finance sees those on the batch page)."""
    other = make_staff("agent", world["pkp"], "agent2.pkp")
    for n, agent in enumerate((world["agent"], other, world["agent"])):
        pay(client, agent, member_id=enrol(nik=nik_for(serial=10 + n))["id"], months=1)

    def deposit(agent: Any, reference: str) -> Any:
        headers = agent.headers | {"Idempotency-Key": str(uuid.uuid4())}
        return client.post("/api/v1/deposits", json={"amount_idr": 8_400, "bank_reference": reference}, headers=headers)

    first = deposit(world["agent"], "BRI-77")
    others = deposit(other, "bri-77 ")
    again = deposit(world["agent"], " Bri-77")

    assert (first.status_code, others.status_code, again.status_code) == (201, 201, 201)
    assert first.get_json()["same_reference_deposits"] == []
    assert [d["deposit_id"] for d in others.get_json()["same_reference_deposits"]] == []  # the other is not his
    assert [d["deposit_id"] for d in again.get_json()["same_reference_deposits"]] == [first.get_json()["id"]]
    assert again.get_json()["same_reference_deposits"][0]["amount_idr"] == 8_400


def test_a_refused_number_of_months_lists_the_choices_in_the_readers_words(client, world, enrol):
    member = enrol()

    english = pay(client, world["agent"], member_id=member["id"], months=2)
    indonesian = client.post(
        "/api/v1/contributions?lang=id",
        json={"member_id": member["id"], "months": 2},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )

    assert english.status_code == indonesian.status_code == 422
    said = english.get_json()["errors"]["json"]["months"][0]
    assert "1 month = Rp" in said and "3 months = Rp" in said and "1 months" not in said
    assert "1 bulan = Rp" in indonesian.get_json()["errors"]["json"]["months"][0]


def test_an_alert_raised_before_its_figures_were_stored_is_worded_in_the_readers_language(pinned_app, client, world):
    """Such an alert kept its sentence, in English: it is found back in the catalog and shown in Indonesian."""
    sentence = "Agent A-7 holds Rp84.000 undeposited: new cash is blocked until a deposit is recorded."
    with pinned_app.app_context():
        db.session.add(
            BranchAlert(
                branch_id=world["pkp"], kind="cash_limit", message=sentence, raised_on=NOW.date(), raised_at=NOW
            )
        )
        db.session.commit()

    english = client.get("/api/v1/alerts", headers=world["supervisor"].headers).get_json()
    indonesian = client.get("/api/v1/alerts?lang=id", headers=world["supervisor"].headers).get_json()

    assert english[0]["message"] == sentence
    assert indonesian[0]["message"].startswith("Agen A-7 ") and "Rp84.000" in indonesian[0]["message"]
