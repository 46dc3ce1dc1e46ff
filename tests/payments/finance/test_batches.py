"""Branch finance's day: statement import and matching, the unmatched queue with maker-checker, daily batches
with their variances, approval that locks the day, and return to the agent."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from collection.members.reconciliation import branches_at_local_hour
from core.errors import DomainError, Forbidden
from core.extensions import db
from core.months import Month
from core.outbox import OutboxMessage
from organisation.models import StaffUser
from payments.autodebit.models import DebitAttempt, DebitRequest, Mandate, SettlementLine
from payments.finance.batches import DAY_END_HOUR, approve_batch, close_due_days, return_batch
from payments.finance.models import MatchProposal, StatementImport, StatementLine
from payments.finance.proposals import propose_match
from payments.ledger.models import DailyBatch, Payment
from tests.factories import nik_for

DAY = date(2026, 11, 19)  # a Thursday; the pinned now is Sunday 22 November, past the deposit deadline (Friday)


def pay(client: Any, agent: Any, member_id: int, months: int = 1, paid_on: date = DAY) -> dict[str, Any]:
    headers = agent.headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"member_id": member_id, "months": months, "paid_on": paid_on.isoformat()}
    response = client.post("/api/v1/contributions", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deposit(client: Any, agent: Any, amount: int, reference: str, on: date = DAY) -> Any:
    headers = agent.headers | {"Idempotency-Key": str(uuid.uuid4())}
    body = {"amount_idr": amount, "bank_reference": reference, "deposited_on": on.isoformat()}
    return client.post("/api/v1/deposits", json=body, headers=headers)


def upload(client: Any, staff: Any, branch_id: int, text: str, bank: str = "generic", name: str = "mutasi.csv") -> Any:
    data = {"bank": bank, "file": (io.BytesIO(text.encode()), name)}
    return client.post(
        f"/api/v1/branches/{branch_id}/statements", data=data, headers=staff.headers, content_type="multipart/form-data"
    )


def statement(*lines: tuple[str, str, str, int]) -> str:
    """A generic-format statement that covers 18–21 November (a balance line on each end)."""
    rows = ["date,description,reference,amount", "2026-11-18,BIAYA ADMIN,,-5000"]
    rows += [f"{day},{text},{ref},{amount}" for day, text, ref, amount in lines]
    rows.append("2026-11-21,BIAYA ADMIN,,-5000")
    return "\n".join(rows) + "\n"


@pytest.fixture
def day(client, world, make_staff, enrol):
    """The branch day of the issue: agent A kept his cash, B's deposit came short to the bank, C is clean,
    and a credit nobody declared sits in the statement."""
    world["agent_b"] = make_staff("agent", world["pkp"], "agent.b")
    world["agent_c"] = make_staff("agent", world["pkp"], "agent.c")
    world["finance_2"] = make_staff("branch_finance", world["pkp"], "finance.two")
    amounts = {}
    for serial, who in enumerate(("agent", "agent_b", "agent_c"), start=1):
        member = enrol(as_=who, nik=nik_for(serial=serial))
        amounts[who] = pay(client, world[who], member["id"], months=3)["amount_idr"]
    assert deposit(client, world["agent_b"], amounts["agent_b"], "BRI-7781").status_code == 201
    assert deposit(client, world["agent_c"], amounts["agent_c"], "SETOR-C-1").status_code == 201
    text = statement(
        ("2026-11-19", "SETORAN TUNAI BRI-7781", "", amounts["agent_b"] - 5_000),
        ("2026-11-19", "SETORAN TUNAI", "SETOR-C-1", amounts["agent_c"]),
        ("2026-11-20", "TRF DARI PEMDA BANGKA", "", 1_000_000),
    )
    response = upload(client, world["finance"], world["pkp"], text)
    assert response.status_code == 201, response.get_json()
    world["import"] = response.get_json()
    world["amounts"] = amounts
    world["statement"] = text
    return world


def batches_of(client: Any, staff: Any, branch_id: int, on: date = DAY) -> dict[str, Any]:
    response = client.get(f"/api/v1/branches/{branch_id}/batches?date={on}", headers=staff.headers)
    assert response.status_code == 200, response.get_json()
    return {b["figures"]["agent_code"]: b for b in response.get_json()}


def code(world: dict[str, Any], who: str) -> str:
    return f"A-{world[who].id}"


def test_import_matches_by_reference_and_queues_the_stranger(day):
    report = day["import"]

    assert report["credit_lines"] == 3 and report["new_lines"] == 3 and report["debit_lines"] == 2
    assert report["matched"] == {"reference": 2}
    assert report["unmatched"] == 1
    assert (report["first_booked_on"], report["last_booked_on"]) == ("2026-11-18", "2026-11-21")


def test_the_branch_day_shows_a_missing_deposit_a_short_deposit_and_a_clean_batch(client, day):
    batches = batches_of(client, day["finance"], day["pkp"])
    a, b, c = (batches[code(day, who)] for who in ("agent", "agent_b", "agent_c"))
    amounts = day["amounts"]

    assert {x["status"] for x in (a, b, c)} == {"open"}  # the day-end job has not closed them yet
    assert a["figures"]["collected_idr"] == amounts["agent"]
    assert a["figures"]["deposited_idr"] == 0
    assert a["figures"]["undeposited_idr"] == amounts["agent"]
    assert a["figures"]["deposit_due_by"] == "2026-11-20"
    assert [(v["kind"], v["amount_idr"]) for v in a["figures"]["variances"]] == [("missing_deposit", amounts["agent"])]
    missing = a["figures"]["variances"][0]
    assert (missing["collected_on"], missing["due_by"]) == ("2026-11-19", "2026-11-20")
    assert "not deposited by 20 Nov 2026" in missing["cause"]

    assert b["figures"]["banked_idr"] == amounts["agent_b"] - 5_000
    assert [(v["kind"], v["amount_idr"]) for v in b["figures"]["variances"]] == [("short_in_bank", 5_000)]
    short = b["figures"]["variances"][0]
    assert (short["reference"], short["declared_idr"], short["banked_idr"]) == (
        "BRI-7781",
        amounts["agent_b"],
        amounts["agent_b"] - 5_000,
    )
    assert "BRI-7781" in short["cause"] and "Rp5,000 short" in short["cause"]
    assert b["figures"]["deposits"][0]["match_kind"] == "reference"

    assert c["figures"]["variances"] == [] and c["figures"]["pending"] == []
    assert c["figures"]["collected_idr"] == c["figures"]["deposited_idr"] == c["figures"]["banked_idr"]
    assert c["figures"]["held_at_end_idr"] == 0


def test_the_unmatched_queue_holds_the_credit_nobody_declared(client, day):
    queue = client.get(f"/api/v1/branches/{day['pkp']}/statement-lines", headers=day["finance"].headers).get_json()

    assert [(q["amount_idr"], q["description"]) for q in queue] == [(1_000_000, "TRF DARI PEMDA BANGKA")]
    assert queue[0]["note"] == "no deposit or provider payout with this reference or amount"
    assert (queue[0]["note_code"], queue[0]["note_count"]) == ("no_match", None)
    assert queue[0]["open_proposal"] is None


def test_importing_the_same_file_again_changes_nothing(client, day):
    again = upload(client, day["finance"], day["pkp"], day["statement"], name="again.csv")

    assert again.status_code == 200
    assert again.get_json()["already_imported"] is True
    assert again.get_json()["import_id"] == day["import"]["import_id"]
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatementLine)) == 3


def test_an_overlapping_statement_adds_only_its_new_credits(client, day):
    longer = day["statement"] + "2026-11-21,SETORAN TUNAI,ZZZ-1,42000\n"

    response = upload(client, day["finance"], day["pkp"], longer, name="longer.csv")

    assert response.status_code == 201
    assert response.get_json()["credit_lines"] == 4
    assert response.get_json()["new_lines"] == 1
    assert response.get_json()["unmatched"] == 1


def test_a_manual_match_needs_a_second_person(client, day):
    line = client.get(f"/api/v1/branches/{day['pkp']}/statement-lines", headers=day["finance"].headers).get_json()[0]
    url = f"/api/v1/statement-lines/{line['id']}/proposals"
    body = {"action": "ignore", "reason": "APBD transfer for the sponsor programme, not agents' cash"}

    proposed = client.post(url, json=body, headers=day["finance"].headers)
    second = client.post(url, json=body, headers=day["finance_2"].headers)
    proposal = proposed.get_json()
    by_maker = client.post(f"/api/v1/match-proposals/{proposal['id']}/approve", json={}, headers=day["finance"].headers)
    still = client.get(f"/api/v1/branches/{day['pkp']}/statement-lines", headers=day["finance"].headers).get_json()
    by_checker = client.post(
        f"/api/v1/match-proposals/{proposal['id']}/approve", json={"note": "checked"}, headers=day["finance_2"].headers
    )

    assert proposed.status_code == 201
    assert second.status_code == 409  # one open proposal per line
    assert by_maker.status_code == 403
    assert "second person" in by_maker.get_json()["message"]
    assert [s["open_proposal"]["id"] for s in still] == [proposal["id"]]
    assert by_checker.status_code == 200 and by_checker.get_json()["decision"] == "approved"
    assert client.get(f"/api/v1/branches/{day['pkp']}/statement-lines", headers=day["finance"].headers).get_json() == []
    ignored = client.get(
        f"/api/v1/branches/{day['pkp']}/statement-lines?status=ignored", headers=day["finance"].headers
    ).get_json()
    assert [i["note"] for i in ignored] == [body["reason"]]


def test_a_manual_match_to_a_deposit_clears_its_variance(client, world, make_staff, enrol):
    world["finance_2"] = make_staff("branch_finance", world["pkp"], "finance.two")
    member = enrol()
    amount = pay(client, world["agent"], member["id"], months=3)["amount_idr"]
    made = deposit(client, world["agent"], amount, "SLIP 12").get_json()
    # The bank's line carries no reference we know, and an amount that differs: nothing matches by itself.
    text = statement(("2026-11-19", "SETORAN TUNAI ANDI", "", amount + 100))
    assert upload(client, world["finance"], world["pkp"], text).get_json()["unmatched"] == 1
    line = client.get(f"/api/v1/branches/{world['pkp']}/statement-lines", headers=world["finance"].headers).get_json()
    before = batches_of(client, world["finance"], world["pkp"])[code(world, "agent")]["figures"]["variances"]

    proposal = client.post(
        f"/api/v1/statement-lines/{line[0]['id']}/proposals",
        json={"action": "deposit", "deposit_id": made["id"], "reason": "the slip shows this credit"},
        headers=world["finance"].headers,
    ).get_json()
    approved = client.post(
        f"/api/v1/match-proposals/{proposal['id']}/approve", json={}, headers=world["finance_2"].headers
    )
    after = batches_of(client, world["finance"], world["pkp"])[code(world, "agent")]["figures"]

    assert [v["kind"] for v in before] == ["not_in_bank"]
    assert approved.status_code == 200
    assert [(v["kind"], v["amount_idr"]) for v in after["variances"]] == [("over_in_bank", 100)]
    assert after["deposits"][0]["match_kind"] == "manual"


def test_a_proposal_for_a_deposit_of_another_branch_is_refused(client, day, make_staff, enrol):
    ptk_member = enrol(as_="ptk_agent", nik=nik_for("6171"))
    paid = pay(client, day["ptk_agent"], ptk_member["id"])
    ptk_deposit = deposit(client, day["ptk_agent"], paid["amount_idr"], "PTK-1").get_json()
    line = client.get(f"/api/v1/branches/{day['pkp']}/statement-lines", headers=day["finance"].headers).get_json()[0]

    response = client.post(
        f"/api/v1/statement-lines/{line['id']}/proposals",
        json={"action": "deposit", "deposit_id": ptk_deposit["id"], "reason": "guess"},
        headers=day["finance"].headers,
    )

    assert response.status_code == 422
    assert "deposit_id" in response.get_json()["errors"]["json"]


def test_closing_the_day_makes_one_batch_per_active_agent_and_is_safe_to_repeat(client, day):
    url = f"/api/v1/branches/{day['pkp']}/batches/close"

    first = client.post(url, json={"date": str(DAY)}, headers=day["finance"].headers)
    again = client.post(url, json={"date": str(DAY)}, headers=day["finance"].headers)
    future = client.post(url, json={"date": "2026-11-23"}, headers=day["finance"].headers)

    assert first.get_json() == {"created": 3}
    assert again.get_json() == {"created": 0}
    assert future.status_code == 422
    assert {b["status"] for b in batches_of(client, day["finance"], day["pkp"]).values()} == {"closed"}


def close(client: Any, world: dict[str, Any]) -> dict[str, Any]:
    client.post(
        f"/api/v1/branches/{world['pkp']}/batches/close", json={"date": str(DAY)}, headers=world["finance"].headers
    )
    return batches_of(client, world["finance"], world["pkp"])


def test_approving_with_variances_needs_a_note_and_locks_the_figures(client, day, enrol):
    batch = close(client, day)[code(day, "agent_b")]
    url = f"/api/v1/batches/{batch['id']}/approve"

    without = client.post(url, json={}, headers=day["finance"].headers)
    by_agent = client.post(url, json={"note": "x"}, headers=day["agent_b"].headers)
    approved = client.post(url, json={"note": "bank fee taken from the deposit"}, headers=day["finance"].headers)
    again = client.post(url, json={"note": "twice"}, headers=day["finance"].headers)
    returned = client.post(
        f"/api/v1/batches/{batch['id']}/return", json={"reason": "late"}, headers=day["finance"].headers
    )

    assert without.status_code == 422 and "note" in without.get_json()["errors"]["json"]
    assert by_agent.status_code == 403
    assert approved.status_code == 200
    body = approved.get_json()
    assert body["status"] == "approved"
    assert body["decision_note"] == "bank fee taken from the deposit"
    assert body["figures"] == batch["figures"]
    assert again.status_code == 200 and again.get_json()["decision_note"] == "bank fee taken from the deposit"
    assert returned.status_code == 409


def test_an_approved_day_is_locked_for_the_agent(client, day, enrol):
    batch = close(client, day)[code(day, "agent_c")]
    assert (
        client.post(f"/api/v1/batches/{batch['id']}/approve", json={}, headers=day["finance"].headers).status_code
        == 200
    )
    member = enrol(as_="agent_c", nik=nik_for(serial=9))

    late_cash = client.post(
        "/api/v1/contributions",
        json={"member_id": member["id"], "months": 1, "paid_on": str(DAY)},
        headers=day["agent_c"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    late_deposit = deposit(client, day["agent_c"], 1_000, "LATE-1")
    today_cash = client.post(
        "/api/v1/contributions",
        json={"member_id": member["id"], "months": 1},
        headers=day["agent_c"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )

    assert late_cash.status_code == 409
    assert "locked" in late_cash.get_json()["message"]
    assert late_deposit.status_code == 409
    assert today_cash.status_code == 201


def test_approved_figures_do_not_move_when_the_ledger_does(client, day):
    batch = close(client, day)[code(day, "agent_c")]
    client.post(f"/api/v1/batches/{batch['id']}/approve", json={}, headers=day["finance"].headers)
    receipts = client.get(f"/api/v1/batches/{batch['id']}", headers=day["finance"].headers).get_json()
    payment_id = _payment_of(client, day["agent_c"].agent_id)

    reversed_ = client.post(
        f"/api/v1/contributions/{payment_id}/reversal",
        json={"reason": "wrong member"},
        headers=day["supervisor"].headers,
    )
    after = client.get(f"/api/v1/batches/{batch['id']}", headers=day["finance"].headers).get_json()

    assert reversed_.status_code == 200
    assert after["figures"]["collected_idr"] == receipts["figures"]["collected_idr"] == day["amounts"]["agent_c"]
    assert after["figures"]["reversed_idr"] == 0


def _payment_of(client: Any, agent_id: int) -> int:
    with client.application.app_context():
        return int(db.session.scalar(select(Payment.id).where(Payment.agent_id == agent_id)))


def test_a_batch_with_pending_items_cannot_be_approved(client, world, enrol):
    member = enrol()
    pay(client, world["agent"], member["id"], paid_on=date(2026, 11, 21))  # Saturday: due Monday the 23rd
    client.post(
        f"/api/v1/branches/{world['pkp']}/batches/close", json={"date": "2026-11-21"}, headers=world["finance"].headers
    )
    batch = batches_of(client, world["finance"], world["pkp"], date(2026, 11, 21))[code(world, "agent")]

    response = client.post(
        f"/api/v1/batches/{batch['id']}/approve", json={"note": "x"}, headers=world["finance"].headers
    )

    assert batch["figures"]["variances"] == []
    assert batch["figures"]["deposit_due_by"] == "2026-11-23"
    assert "due at the bank by 23 Nov 2026" in batch["figures"]["pending"][0]
    assert [(p["code"], p["due_by"]) for p in batch["figures"]["pending_items"]] == [("cash_due", "2026-11-23")]
    assert response.status_code == 409


def test_a_deposit_on_a_day_no_statement_covers_is_pending_not_missing(client, world, enrol):
    member = enrol()
    amount = pay(client, world["agent"], member["id"])["amount_idr"]
    deposit(client, world["agent"], amount, "NOSTMT-1")

    figures = batches_of(client, world["finance"], world["pkp"])[code(world, "agent")]["figures"]

    assert figures["variances"] == []
    assert figures["pending"] == ["Deposit NOSTMT-1: no imported bank statement covers 19 Nov 2026 yet."]
    assert figures["pending_items"] == [
        {
            "code": "no_statement",
            "amount_idr": amount,
            "reference": "NOSTMT-1",
            "day": "2026-11-19",
            "due_by": None,
            "message": "Deposit NOSTMT-1: no imported bank statement covers 19 Nov 2026 yet.",
        }
    ]


def test_returning_a_batch_texts_the_agent_with_the_reason(client, day):
    with client.application.app_context():
        db.session.get(StaffUser, day["agent"].id).phone = "+6281234500001"
        db.session.commit()
    batch = close(client, day)[code(day, "agent")]
    empty = client.post(f"/api/v1/batches/{batch['id']}/return", json={"reason": " "}, headers=day["finance"].headers)
    response = client.post(
        f"/api/v1/batches/{batch['id']}/return",
        json={"reason": "Setoran tanggal 19 belum ada di bank"},
        headers=day["finance"].headers,
    )

    assert empty.status_code == 422
    assert response.status_code == 200 and response.get_json()["status"] == "returned"
    with client.application.app_context():
        texts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "batch_returned")).all()
        assert [t.recipient for t in texts] == ["+6281234500001"]
        assert [t.body for t in texts] == [
            "Keuangan cabang mengembalikan setoran tanggal 19-11-2026: Setoran tanggal 19 belum ada di bank"
        ]


def test_another_branchs_finance_sees_nothing_of_this_branch(client, day, make_staff):
    ptk_finance = make_staff("branch_finance", day["ptk"], "finance.ptk")

    batches = client.get(f"/api/v1/branches/{day['pkp']}/batches", headers=ptk_finance.headers)
    lines = client.get(f"/api/v1/branches/{day['pkp']}/statement-lines", headers=ptk_finance.headers)
    agent = client.get(f"/api/v1/branches/{day['pkp']}/batches", headers=day["agent"].headers)

    assert batches.status_code == 404 and lines.status_code == 404
    assert agent.status_code == 403


@pytest.mark.parametrize(
    ("bank", "text", "where"),
    [
        ("generic", "date,description,reference,amount\n2026-11-19,X,,12x5\n", "row 2"),
        ("bri", "date,description,reference,amount\n2026-11-19,X,,1\n", "Tanggal Transaksi"),
        ("nosuchbank", "date,description,reference,amount\n", "bank"),
    ],
)
def test_a_bad_statement_is_a_422_that_names_the_problem_and_imports_nothing(client, world, bank, text, where):
    response = upload(client, world["finance"], world["pkp"], text, bank=bank)

    assert response.status_code == 422
    assert where in str(response.get_json())
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(StatementImport)) == 0


def test_a_statement_without_a_file_is_a_422_naming_the_file(client, world):
    response = client.post(
        f"/api/v1/branches/{world['pkp']}/statements",
        data={"bank": "generic"},
        headers=world["finance"].headers,
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]["files"]


def test_arrears_ageing_and_collections_per_day(client, day):
    ageing = client.get(f"/api/v1/branches/{day['pkp']}/reports/arrears-ageing", headers=day["finance"].headers)
    collections = client.get(
        f"/api/v1/branches/{day['pkp']}/reports/collections?from=2026-11-18&to=2026-11-20",
        headers=day["finance"].headers,
    )
    backwards = client.get(
        f"/api/v1/branches/{day['pkp']}/reports/collections?from=2026-11-20&to=2026-11-18",
        headers=day["finance"].headers,
    )

    assert ageing.status_code == 200
    assert ageing.get_json()["active"] == 3
    assert [r["bucket"] for r in ageing.get_json()["rows"]] == ["1 month", "2 months", "3 months", "lapsed"]
    days = collections.get_json()
    assert [d["day"] for d in days] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert days[1]["cash_idr"] == sum(day["amounts"].values()) and days[1]["payments"] == 3
    assert days[0]["total_idr"] == 0
    assert backwards.status_code == 422


def test_a_deposit_without_a_known_reference_matches_by_amount_and_date_but_never_by_guess(
    client, world, make_staff, enrol
):
    world["agent_b"] = make_staff("agent", world["pkp"], "agent.b")
    amounts = []
    for serial, who in enumerate(("agent", "agent_b"), start=1):
        member = enrol(as_=who, nik=nik_for(serial=serial))
        amounts.append(pay(client, world[who], member["id"], months=3)["amount_idr"])
    # Both agents deposit the same amount; a third credit of another amount is the only one of its kind.
    deposit(client, world["agent"], amounts[0], "SLIP-A")
    deposit(client, world["agent_b"], amounts[1], "SLIP-B")
    member = enrol(nik=nik_for(serial=3))
    odd = pay(client, world["agent"], member["id"], months=1)["amount_idr"]
    deposit(client, world["agent"], odd, "SLIP-C")
    text = statement(("2026-11-19", "SETORAN TUNAI", "", amounts[0]), ("2026-11-20", "SETORAN TUNAI", "", odd))

    report = upload(client, world["finance"], world["pkp"], text).get_json()
    queue = client.get(f"/api/v1/branches/{world['pkp']}/statement-lines", headers=world["finance"].headers).get_json()

    assert amounts[0] == amounts[1]
    assert report["matched"] == {"amount_date": 1}
    assert [(q["amount_idr"], q["note"]) for q in queue] == [
        (amounts[0], "2 deposits of this amount in the days before: match it by hand")
    ]
    assert [(q["note_code"], q["note_count"]) for q in queue] == [("many_by_amount", 2)]


def test_a_provider_payout_matches_the_days_settlement_lines_of_the_branch(client, world, enrol):
    members = [enrol(nik=nik_for(serial=s)) for s in (1, 2)]
    with client.application.app_context():
        for n, member in enumerate(members, start=1):
            mandate = Mandate(
                member_id=member["id"], provider="midtrans", account_label="BRI ****1234", status="active"
            )
            db.session.add(mandate)
            db.session.flush()
            request = DebitRequest(
                mandate_id=mandate.id,
                member_id=member["id"],
                first_month=Month(2026, 11),
                months=1,
                amount_idr=8_400,
                due_on=date(2026, 11, 16),
                status="settled",
            )
            db.session.add(request)
            db.session.flush()
            db.session.add(
                DebitAttempt(debit_request_id=request.id, order_id=f"ORD-{n}", attempt_no=1, amount_idr=8_400)
            )
            db.session.add(
                SettlementLine(
                    provider="midtrans",
                    branch_id=world["pkp"],
                    order_id=f"ORD-{n}",
                    amount_idr=8_400,
                    settled_on=date(2026, 11, 19),
                )
            )
        db.session.commit()
    text = statement(("2026-11-20", "MIDTRANS PAYOUT 19NOV", "", 16_800))

    report = upload(client, world["finance"], world["pkp"], text).get_json()

    assert report["matched"] == {"settlement": 1}
    with client.application.app_context():
        line_id = db.session.scalar(select(StatementLine.id))
        banked = db.session.scalars(select(SettlementLine.statement_line_id)).all()
        assert banked == [line_id, line_id]


def test_the_operators_cli_imports_a_statement_with_progress_and_closes_a_day(client, day, tmp_path):
    runner = client.application.test_cli_runner()
    path = tmp_path / "mutasi-bri.csv"
    credit = f"{day['amounts']['agent']:,}".replace(",", ".")
    path.write_text(
        f'Tanggal Transaksi,Uraian Transaksi,Teller,Debet,Kredit,Saldo\n20/11/2026,SETORAN TUNAI,0001,,"{credit},00",\n'
    )
    other = tmp_path / "mutasi-lain.csv"
    other.write_text("Tanggal,Keterangan,Jumlah\n20/11/2026,SETORAN,1000\n")

    imported = runner.invoke(args=["import-statement", str(path), "--bank", "bri", "--branch", "pkp"])
    again = runner.invoke(args=["import-statement", str(path), "--bank", "bri", "--branch", "pkp"])
    wrong = runner.invoke(args=["import-statement", str(other), "--bank", "generic", "--branch", "pkp"])
    closed = runner.invoke(args=["close-day", "--branch", "PKP", "--on", str(DAY)])

    assert imported.exit_code == 0, imported.output
    assert "reading rows" in imported.output and "matching credits" in imported.output
    assert "1 credits (1 new), 0 debits and 0 credits with sen skipped; matched none; 1 to review" in imported.output
    assert again.exit_code == 0 and "was imported before" in again.output
    assert wrong.exit_code == 1 and "No header row with a 'date' column" in wrong.output
    assert closed.exit_code == 0 and "PKP: 3 batch(es) closed" in closed.output


def test_the_day_end_job_closes_each_branch_at_its_own_evening(client, day):
    from datetime import datetime

    with client.application.app_context():
        wib_evening = datetime(2026, 11, 19, DAY_END_HOUR - 7)  # 21:00 WIB in UTC
        assert branches_at_local_hour(db.session, wib_evening, DAY_END_HOUR) == [day["pkp"], day["ptk"]]
        created = close_due_days(db.session, day["pkp"], wib_evening)
        rerun = close_due_days(db.session, day["pkp"], wib_evening)
        days = set(db.session.scalars(select(DailyBatch.business_date)))

    assert (created, rerun) == (3, 0)
    assert days == {DAY}


def test_the_agent_sees_a_returned_batch_in_his_day_until_finance_approves_it(client, day):
    batch = close(client, day)[code(day, "agent_b")]
    reason = "Bukti setor BRI-7781 kurang Rp5.000"
    client.post(f"/api/v1/batches/{batch['id']}/return", json={"reason": reason}, headers=day["finance"].headers)

    returned = client.get("/api/v1/agents/me/cash", headers=day["agent_b"].headers).get_json()["returned_batches"]
    others = client.get("/api/v1/agents/me/cash", headers=day["agent"].headers).get_json()["returned_batches"]
    client.post(f"/api/v1/batches/{batch['id']}/approve", json={"note": "fee"}, headers=day["finance"].headers)
    after = client.get("/api/v1/agents/me/cash", headers=day["agent_b"].headers).get_json()["returned_batches"]

    assert [(r["business_date"], r["reason"]) for r in returned] == [("2026-11-19", reason)]
    assert others == [] and after == []


def test_the_agents_home_page_says_which_day_came_back_and_why(client, day):
    from tests.agents.field.test_pages import login

    batch = close(client, day)[code(day, "agent")]
    client.post(f"/api/v1/batches/{batch['id']}/return", json={"reason": "Slip hilang"}, headers=day["finance"].headers)
    login(client, "agent.pkp")

    page = client.get("/agen/").get_data(as_text=True)

    assert "Keuangan mengembalikan setoran tanggal 19 Nov 2026: Slip hilang" in page


def test_coverage_by_regency_against_the_targets_the_branch_entered(client, day):
    url = f"/api/v1/branches/{day['pkp']}/coverage-targets/2026"
    body = {
        "targets": [
            {"regency_code": "1971", "target_population": 40, "source": "BPS 2025"},
            {"regency_code": "1903", "target_population": 1768},
        ]
    }

    saved = client.put(url, json=body, headers=day["finance"].headers)
    zero = client.put(
        url, json={"targets": [{"regency_code": "1971", "target_population": 0}]}, headers=day["finance"].headers
    )
    unknown = client.put(
        url,
        json={
            "targets": [
                {"regency_code": "1971", "target_population": 5},
                {"regency_code": "9999", "target_population": 5},
            ]
        },
        headers=day["finance"].headers,
    )
    report = client.get(f"/api/v1/branches/{day['pkp']}/reports/coverage?year=2026", headers=day["finance"].headers)

    assert saved.status_code == 200
    rows = {r["regency_code"]: r for r in report.get_json()}
    assert rows["1971"]["active_members"] == 3 and rows["1971"]["coverage_percent"] == 7.5
    assert "PANGKAL" in rows["1971"]["regency_name"].upper()
    assert rows["1903"]["active_members"] == 0 and rows["1903"]["coverage_percent"] == 0.0
    assert zero.status_code == 422 and "target_population" in zero.get_json()["errors"]["json"]["targets"]["0"]
    assert unknown.status_code == 422
    assert list(unknown.get_json()["errors"]["json"]["targets"]) == ["1"]
    assert "9999" in unknown.get_json()["errors"]["json"]["targets"]["1"]["regency_code"][0]


def test_collections_by_channel_per_month_and_the_agent_scorecard(client, day):
    by_month = client.get(
        f"/api/v1/branches/{day['pkp']}/reports/collections-by-channel?from=2026-10&to=2026-11",
        headers=day["finance"].headers,
    ).get_json()
    scorecard = client.get(
        f"/api/v1/branches/{day['pkp']}/reports/agent-scorecard?from=2026-11&to=2026-11", headers=day["finance"].headers
    ).get_json()
    too_long = client.get(
        f"/api/v1/branches/{day['pkp']}/reports/collections-by-channel?from=2020-01&to=2026-11",
        headers=day["finance"].headers,
    )

    assert [(m["month"], m["cash_idr"]) for m in by_month] == [
        ("2026-10", 0),
        ("2026-11", sum(day["amounts"].values())),
    ]
    rows = {r["agent_code"]: r for r in scorecard}
    a, b = rows[code(day, "agent")], rows[code(day, "agent_b")]
    assert (a["members_enrolled"], a["collected_idr"], a["payments"]) == (1, day["amounts"]["agent"], 1)
    assert a["undeposited_idr"] == day["amounts"]["agent"] and a["average_deposit_delay_days"] is None
    assert b["undeposited_idr"] == 0 and b["average_deposit_delay_days"] == 0.0
    assert too_long.status_code == 422


def test_only_finance_decides_a_batch_even_through_the_services(client, day):
    from tests.factories import NOW

    batch = close(client, day)[code(day, "agent_c")]
    with client.application.app_context():
        supervisor = db.session.get(StaffUser, day["supervisor"].id)
        with pytest.raises(Forbidden):
            approve_batch(db.session, supervisor, batch["id"], None, NOW)
        with pytest.raises(Forbidden):
            return_batch(db.session, supervisor, batch["id"], "because", NOW)


@pytest.mark.parametrize("reason", ["", "  ", "x" * 201])
def test_a_proposal_needs_a_reason_of_3_to_200_characters_even_through_the_services(client, day, reason):
    from tests.factories import NOW

    line = client.get(f"/api/v1/branches/{day['pkp']}/statement-lines", headers=day["finance"].headers).get_json()[0]
    with client.application.app_context():
        finance = db.session.get(StaffUser, day["finance"].id)
        with pytest.raises(DomainError, match="3 sampai 200"):  # outside a request: Indonesian
            propose_match(
                db.session,
                finance,
                line["id"],
                action="ignore",
                deposit_id=None,
                provider=None,
                settled_on=None,
                reason=reason,
                now=NOW,
            )
        assert db.session.scalar(select(func.count()).select_from(MatchProposal)) == 0


def test_approving_a_proposal_whose_deposit_was_matched_meanwhile_changes_nothing(client, day, make_staff, enrol):
    """Two proposals name one deposit; the second approval is refused and leaves its proposal undecided."""
    text = statement(("2026-11-20", "SETORAN X", "", 77_000), ("2026-11-20", "SETORAN Y", "", 78_000))
    upload(client, day["finance"], day["pkp"], text)
    lines = client.get(f"/api/v1/branches/{day['pkp']}/statement-lines", headers=day["finance"].headers).get_json()
    strangers = [line for line in lines if line["amount_idr"] in (77_000, 78_000)]
    member = enrol(as_="agent_c", nik=nik_for(serial=7))
    amount = pay(client, day["agent_c"], member["id"])["amount_idr"]
    made = deposit(client, day["agent_c"], amount, "ZZ-SLIP").get_json()
    proposals = [
        client.post(
            f"/api/v1/statement-lines/{line['id']}/proposals",
            json={"action": "deposit", "deposit_id": made["id"], "reason": "slip"},
            headers=day["finance"].headers,
        ).get_json()
        for line in strangers
    ]
    first = client.post(
        f"/api/v1/match-proposals/{proposals[0]['id']}/approve", json={}, headers=day["finance_2"].headers
    )
    second = client.post(
        f"/api/v1/match-proposals/{proposals[1]['id']}/approve", json={}, headers=day["finance_2"].headers
    )

    assert first.status_code == 200
    assert second.status_code == 422 and "already matched" in second.get_json()["message"]
    still = client.get(f"/api/v1/branches/{day['pkp']}/statement-lines", headers=day["finance"].headers).get_json()
    waiting = [line["open_proposal"] for line in still if line["id"] == strangers[1]["id"]]
    assert waiting[0]["id"] == proposals[1]["id"] and waiting[0]["decision"] is None


def test_targets_are_for_the_branchs_own_province(client, world):
    response = client.put(
        f"/api/v1/branches/{world['pkp']}/coverage-targets/2026",
        json={"targets": [{"regency_code": "6171", "target_population": 1000}]},
        headers=world["finance"].headers,
    )

    assert response.status_code == 422
    assert (
        "outside the branch's province 19" in response.get_json()["errors"]["json"]["targets"]["0"]["regency_code"][0]
    )


def test_a_deposit_is_pending_while_a_worker_is_still_importing_the_statement_that_covers_its_day(client, world, enrol):
    member = enrol()
    amount = pay(client, world["agent"], member["id"])["amount_idr"]
    deposit(client, world["agent"], amount, "STILL-IMPORTING-1")
    with client.application.app_context():  # a large statement whose worker has stored its dates, not its lines
        db.session.add(
            StatementImport(
                branch_id=world["pkp"],
                bank="generic",
                filename="mutasi-besar.csv",
                file_sha256="b" * 64,
                first_booked_on=date(2026, 11, 1),
                last_booked_on=date(2026, 11, 21),
                status="storing",
            )
        )
        db.session.commit()

    figures = batches_of(client, world["finance"], world["pkp"])[code(world, "agent")]["figures"]

    assert figures["variances"] == []
    assert figures["pending"] == ["Deposit STILL-IMPORTING-1: no imported bank statement covers 19 Nov 2026 yet."]
