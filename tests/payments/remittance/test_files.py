"""Remittance files made from the ledger: exact lines, reversals, what the next file carries, downloads, concurrent
generators, the imported channel, overdue acknowledgements, authorisation and bad input."""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DatabaseError

from collection.members import services as member_services
from collection.members.models import Holiday, Member, PaymentAllocation
from collection.sponsors.models import SponsorPayment
from core.extensions import db
from core.months import Month
from payments.ledger.models import Payment, Receipt
from payments.remittance.models import RemittanceFile, RemittanceLine
from payments.remittance.rules import check_file
from payments.remittance.services import make_file
from tests.factories import NOW, nik_for
from tests.two_branches import app_with_two_branches

LATER = NOW + timedelta(hours=12)


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


def _make(app: Any, branch_id: int, at: Any = NOW) -> RemittanceFile | None:
    with app.app_context():
        made = make_file(db.session, branch_id, at)
        if made is not None:
            db.session.expunge(made)
        return made


def _content(app: Any, file_id: int) -> bytes:
    with app.app_context():
        return db.session.scalar(select(RemittanceFile.content).where(RemittanceFile.id == file_id)) or b""


@pytest.fixture
def pay(client: Any, world: dict[str, Any]) -> Any:
    """Cash for ``months`` months through the API as the Pangkalpinang agent: the receipt."""

    def make(member_id: int, months: int = 1) -> dict[str, Any]:
        headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
        response = client.post(
            "/api/v1/contributions", json={"member_id": member_id, "months": months}, headers=headers
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


# --- a day of cash, auto-debit and a sponsor payment ------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_day_of_cash_auto_debit_and_a_sponsor_payment_makes_these_exact_lines(request, backend, tmp_path):
    with app_with_two_branches(request, backend, tmp_path) as (app, world):
        with app.app_context():
            record = db.session.get(RemittanceFile, world.ids["remittance_file"])
            content = record.content
            cash_kpj = db.session.scalar(select(Member.kpj).where(Member.id == world.ids["member"]))
            debit_kpj = db.session.scalar(select(Member.kpj).where(Member.id == world.ids["debit_member"]))
            debit_receipt = db.session.scalar(
                select(Receipt.number).join(Payment).where(Payment.member_id == world.ids["debit_member"])
            )
            sponsor_receipt = db.session.scalar(
                select(SponsorPayment.receipt_number).where(SponsorPayment.id == world.ids["sponsor_payment"])
            )
            sponsored = sorted(
                db.session.scalars(select(Member.kpj).where(Member.name.like("Matrixa Sponsored%"))).all()
            )
            assert (record.name, record.sequence) == ("PKP-000001-20261122.csv", 1)

    rows = _rows(content)
    cash = world.ids["receipt_number"]
    expected = [
        [cash_kpj, "2026-11", "cash", cash, "2026-11-19", "8400", "payment"],
        [cash_kpj, "2026-12", "cash", cash, "2026-11-19", "8400", "payment"],
        [cash_kpj, "2027-01", "cash", cash, "2026-11-19", "8400", "payment"],
        [debit_kpj, "2026-11", "auto_debit", debit_receipt, "2026-11-22", "8400", "payment"],
    ] + [
        [kpj, month, "sponsor", sponsor_receipt, "2026-11-22", amount, "payment"]  # a donor: discounted in 2026
        for kpj in sponsored
        for month, amount in (("2026-11", "8400"), ("2026-12", "8400"), ("2027-01", "16800"))
    ]
    assert rows[0] == ["kpj", "month", "channel", "receipt_number", "paid_on", "amount_idr", "type"]
    assert sorted(rows[1:-1]) == sorted(expected)
    total = 8 * 8_400 + 2 * 16_800
    body_digest = hashlib.sha256(content[: content.rindex(b"TRAILER")]).hexdigest()
    assert rows[-1] == ["TRAILER", "PKP", "000001", "2026-11-22", "10", str(total), body_digest]
    assert check_file(content).total_idr == total
    assert record.line_count == 10 and record.total_idr == total
    assert record.sha256 == hashlib.sha256(content).hexdigest()


# --- reversals, what the next file carries ---------------------------------------------------------------


def test_a_reversal_is_a_negative_line_in_the_next_file_and_never_twice(pinned_app, client, world, enrol, pay):
    member = enrol()
    receipt = pay(member["id"], 1)
    first = _make(pinned_app, world["pkp"])
    assert first is not None and first.line_count == 1

    undo = client.post(
        f"/api/v1/contributions/{receipt['payment_id']}/reversal",
        json={"reason": "salah catat"},
        headers=world["supervisor"].headers,
    )
    assert undo.status_code == 200, undo.get_json()
    second = _make(pinned_app, world["pkp"], LATER)

    assert second is not None and second.sequence == 2
    rows = _rows(_content(pinned_app, second.id))
    assert rows[1:-1] == [[member["kpj"], "2026-11", "cash", receipt["number"], "2026-11-22", "-8400", "reversal"]]
    assert rows[-1][4:6] == ["1", "-8400"]
    assert _make(pinned_app, world["pkp"], LATER + timedelta(days=3)) is None  # nothing new: no file


def test_a_payment_reversed_before_any_file_never_goes(pinned_app, client, world, enrol, pay):
    member = enrol()
    receipt = pay(member["id"], 1)
    client.post(
        f"/api/v1/contributions/{receipt['payment_id']}/reversal",
        json={"reason": "salah catat"},
        headers=world["supervisor"].headers,
    )

    assert _make(pinned_app, world["pkp"]) is None


def test_the_next_file_carries_only_what_came_after_and_no_line_twice(pinned_app, world, enrol, pay):
    siti = enrol(nik=nik_for(serial=1), name="siti aminah")
    budi = enrol(nik=nik_for(serial=2), name="budi santoso")
    pay(siti["id"], 3)
    first = _make(pinned_app, world["pkp"])
    pay(budi["id"], 1)
    pay(siti["id"], 1)
    second = _make(pinned_app, world["pkp"], LATER)
    third = _make(pinned_app, world["pkp"], LATER + timedelta(days=2))
    pay(budi["id"], 1)
    fourth = _make(pinned_app, world["pkp"], LATER + timedelta(days=3))

    assert first and second and fourth and third is None
    assert [r[:2] for r in _rows(_content(pinned_app, first.id))[1:-1]] == [
        [siti["kpj"], "2026-11"],
        [siti["kpj"], "2026-12"],
        [siti["kpj"], "2027-01"],
    ]
    assert sorted(r[:2] for r in _rows(_content(pinned_app, second.id))[1:-1]) == sorted(
        [[budi["kpj"], "2026-11"], [siti["kpj"], "2027-02"]]
    )
    assert [r[:2] for r in _rows(_content(pinned_app, fourth.id))[1:-1]] == [[budi["kpj"], "2026-12"]]
    with pinned_app.app_context():
        carried = db.session.scalar(select(func.count()).select_from(RemittanceLine))
        settled = db.session.scalar(select(func.count()).select_from(PaymentAllocation))
        assert carried == settled == 6
        assert [f.sequence for f in db.session.scalars(select(RemittanceFile).order_by(RemittanceFile.id))] == [1, 2, 3]


# --- imported history never goes back ---------------------------------------------------------------------


def test_payments_of_the_imported_channel_are_left_out(pinned_app, world, enrol, pay):
    member = enrol()
    pay(member["id"], 1)
    with pinned_app.app_context():  # as the national-history import will write them (its channel is not known here)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ALTER TABLE payments DROP CONSTRAINT ck_payments_channel_known"))
        else:
            db.session.execute(text("PRAGMA ignore_check_constraints = ON"))
        payment = Payment(member_id=member["id"], channel="imported", amount_idr=16_800, paid_on=date(2026, 9, 1))
        db.session.add(payment)
        db.session.flush()
        for month in (Month(2026, 9), Month(2026, 10)):
            db.session.execute(
                PaymentAllocation.__table__.insert().values(
                    payment_id=payment.id, member_id=member["id"], month=month, amount_idr=8_400, reversed=False
                )
            )
        db.session.commit()

    made = _make(pinned_app, world["pkp"])

    assert made is not None
    assert [r[1:3] for r in _rows(_content(pinned_app, made.id))[1:-1]] == [["2026-11", "cash"]]


# --- immutable, re-downloadable ---------------------------------------------------------------------------


def test_a_download_is_the_same_bytes_every_time_and_a_made_file_cannot_change(pinned_app, client, world, enrol, pay):
    pay(enrol()["id"], 3)
    made = _make(pinned_app, world["pkp"])
    assert made is not None
    url = f"/api/v1/remittance-files/{made.id}/csv"

    one = client.get(url, headers=world["finance"].headers)
    two = client.get(url, headers=world["finance"].headers)
    meta = client.get(f"/api/v1/remittance-files/{made.id}", headers=world["finance"].headers).get_json()

    assert one.status_code == 200 and one.mimetype == "text/csv"
    assert one.data == two.data == _content(pinned_app, made.id)
    assert hashlib.sha256(one.data).hexdigest() == meta["sha256"] == one.headers["X-Checksum-SHA256"]
    assert meta["body_sha256"] == _rows(one.data)[-1][6]
    assert f'filename="{made.name}"' in one.headers["Content-Disposition"]
    with pinned_app.app_context():
        for change in (
            update(RemittanceFile).where(RemittanceFile.id == made.id).values(content=b"x"),
            update(RemittanceFile).where(RemittanceFile.id == made.id).values(total_idr=1),
            update(RemittanceLine).values(amount_idr=1),
            text(f"DELETE FROM remittance_files WHERE id = {made.id}"),
        ):
            with pytest.raises(DatabaseError):
                db.session.execute(change)
            db.session.rollback()


# --- two generators at once -------------------------------------------------------------------------------


def test_two_generators_at_once_make_one_file(pinned_app, world, enrol, pay):
    for serial in range(1, 6):
        pay(enrol(nik=nik_for(serial=serial))["id"], 1)
    start = threading.Barrier(2)
    made: list[Any] = []
    errors: list[BaseException] = []

    def generate() -> None:
        with pinned_app.app_context():
            try:
                start.wait()
                record = make_file(db.session, world["pkp"], NOW)
                made.append(record and record.id)
            except BaseException as error:  # noqa: BLE001: reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=generate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sorted(made, key=lambda x: x is None)[1] is None and made.count(None) == 1
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RemittanceFile)) == 1
        assert db.session.scalar(select(func.count()).select_from(RemittanceLine)) == 5


# --- acknowledgement and the overdue flag -----------------------------------------------------------------


def test_a_file_not_acknowledged_after_two_working_days_is_flagged_until_acknowledged(
    pinned_app, client, world, enrol, pay
):
    pay(enrol()["id"], 1)
    made = _make(pinned_app, world["pkp"])  # Sunday 22 November: due by Tuesday the 24th
    assert made is not None
    url = f"/api/v1/branches/{world['pkp']}/remittance-files"

    def listed(at: Any) -> dict[str, Any]:
        pinned_app.config["CLOCK"] = lambda: at
        response = client.get(url, headers=world["finance"].headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()[0]

    assert listed(NOW + timedelta(days=2))["overdue"] is False  # Tuesday
    wednesday = listed(NOW + timedelta(days=3))
    assert wednesday["overdue"] is True and wednesday["acknowledgement_due_on"] == "2026-11-24"
    with pinned_app.app_context():  # a regional holiday on the Tuesday moves the deadline a day
        db.session.add(Holiday(on=date(2026, 11, 24), name="Hari jadi provinsi", region_code="19"))
        db.session.commit()
    member_services._reference_cache.clear()  # the calendar is cached per process for a while
    assert listed(NOW + timedelta(days=3))["overdue"] is False

    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(days=5)
    page = client.get("/keuangan/remitansi")  # (not logged in: to the login)
    assert page.status_code == 302
    ack = client.post(
        f"/api/v1/remittance-files/{made.id}/acknowledgement",
        json={"reference": "BPJSTK-ACK-0001"},
        headers=world["finance"].headers,
    )
    assert ack.status_code == 200, ack.get_json()
    body = ack.get_json()
    assert body["overdue"] is False and body["acknowledgement_reference"] == "BPJSTK-ACK-0001"
    assert body["acknowledged_by"] == "Test branch_finance"
    again = client.post(
        f"/api/v1/remittance-files/{made.id}/acknowledgement",
        json={"reference": "BPJSTK-ACK-0001"},
        headers=world["finance"].headers,
    )
    other = client.post(
        f"/api/v1/remittance-files/{made.id}/acknowledgement",
        json={"reference": "BPJSTK-ACK-0002"},
        headers=world["admin"].headers,
    )
    assert again.status_code == 200 and other.status_code == 409
    with pinned_app.app_context():
        actions = db.session.execute(
            text("SELECT action, actor_user_id FROM audit_events WHERE entity_type = 'remittance_file' ORDER BY id")
        ).all()
        assert [tuple(a) for a in actions] == [
            ("remittance_file.made", None),
            ("remittance_file.acknowledged", world["finance"].id),
        ]


# --- who may, and bad input -------------------------------------------------------------------------------


def test_an_agent_is_refused_and_another_branchs_finance_sees_nothing(
    pinned_app, client, world, enrol, pay, make_staff
):
    pay(enrol()["id"], 1)
    made = _make(pinned_app, world["pkp"])
    assert made is not None
    ptk_finance = make_staff("branch_finance", world["ptk"], "finance.ptk")

    agent = client.get(f"/api/v1/branches/{world['pkp']}/remittance-files", headers=world["agent"].headers)
    for path in (
        f"/branches/{world['pkp']}/remittance-files",
        f"/remittance-files/{made.id}",
        f"/remittance-files/{made.id}/csv",
    ):
        other = client.get(f"/api/v1{path}", headers=ptk_finance.headers)
        assert other.status_code == 404, (path, other.get_json())
    ack = client.post(
        f"/api/v1/remittance-files/{made.id}/acknowledgement", json={"reference": "X1"}, headers=ptk_finance.headers
    )
    supervisor = client.post(
        f"/api/v1/remittance-files/{made.id}/acknowledgement",
        json={"reference": "X1"},
        headers=world["supervisor"].headers,
    )

    assert agent.status_code == 403
    assert ack.status_code == 404 and supervisor.status_code == 403
    assert client.get(f"/api/v1/branches/{world['ptk']}/remittance-files", headers=ptk_finance.headers).get_json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reference"),
        ({"reference": ""}, "reference"),
        ({"reference": "x" * 65}, "reference"),
        ({"reference": 7}, "reference"),
        ({"reference": "   "}, "reference"),
    ],
)
def test_a_bad_acknowledgement_is_a_422_naming_the_field_and_changes_nothing(
    pinned_app, client, world, enrol, pay, body, field
):
    pay(enrol()["id"], 1)
    made = _make(pinned_app, world["pkp"])
    assert made is not None

    response = client.post(
        f"/api/v1/remittance-files/{made.id}/acknowledgement", json=body, headers=world["finance"].headers
    )

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]["json"]
    with pinned_app.app_context():
        assert db.session.get(RemittanceFile, made.id).acknowledged_at is None


def test_an_unknown_file_is_a_404(client, world):
    for path in ("/remittance-files/999999", "/remittance-files/999999/csv", "/remittance-files/99999999999"):
        assert client.get(f"/api/v1{path}", headers=world["finance"].headers).status_code == 404


# --- the command ------------------------------------------------------------------------------------------


def test_the_command_makes_the_file_and_puts_it_in_the_pickup_folder(pinned_app, world, enrol, pay, instance_path):
    pay(enrol()["id"], 1)
    runner = pinned_app.test_cli_runner()

    made = runner.invoke(args=["remittance", "make", "--branch", "pkp"])
    again = runner.invoke(args=["remittance", "make", "--branch", "PKP"])
    unknown = runner.invoke(args=["remittance", "make", "--branch", "XXX"])

    assert made.exit_code == 0, made.output
    with pinned_app.app_context():
        record = db.session.scalars(select(RemittanceFile)).one()
        assert record.name in made.output and "1 lines" in made.output
        assert (instance_path / "remittance" / "PKP" / record.name).read_bytes() == record.content
    assert again.exit_code == 0 and "nothing new" in again.output
    assert unknown.exit_code == 2 and "XXX" in unknown.output


def test_a_page_past_every_file_is_empty_not_an_overflow(client, world):
    """Found by schemathesis: a page number past 2^63 made an OFFSET the database cannot hold (a 500)."""
    url = f"/api/v1/branches/{world['pkp']}/remittance-files?page={10**33}&page_size=7"
    response = client.get(url, headers=world["finance"].headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == []
