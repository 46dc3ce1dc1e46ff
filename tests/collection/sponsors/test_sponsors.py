"""Sponsor programmes (issue #6): the Bangka Selatan programme from import to retention, bad rows, re-imports,
the budget, mid-year additions, a late sponsor's branch arrangement, and the 4xx answers."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from collection.members.models import Member, MembershipPeriod, MemberStatusChange, PaymentAllocation, VisitItem
from collection.members.paylinks import read_token, signer_of
from collection.members.reconciliation import reconcile_branch
from collection.sponsors.models import ProgrammeMember, SponsorImport
from collection.sponsors.programmes import end_finished_programmes
from core.extensions import db, redis_connection
from core.months import Month
from core.outbox import OutboxMessage
from payments.ledger.models import Payment
from tests.factories import nik_for

BASEL_MEMBERS = 1768
RATE = 16_800  # JKK+JKM, bracket 1, undiscounted: what a budget sponsor pays (domain.md §2)


def at(app: Any, year: int, month: int, day: int) -> datetime:
    """Move the app's clock to 10:00 WIB on that day; returns the instant (naive UTC)."""
    instant = datetime(year, month, day, 3, 0, tzinfo=UTC).replace(tzinfo=None)
    app.config["CLOCK"] = lambda: instant
    return instant


def post(client: Any, staff: Any, path: str, body: dict[str, Any] | None = None, key: str | None = None) -> Any:
    headers = dict(staff.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(f"/api/v1{path}", json=body or {}, headers=headers)


def get(client: Any, staff: Any, path: str) -> Any:
    response = client.get(f"/api/v1{path}", headers=staff.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def upload(client: Any, staff: Any, programme_id: int, text: str, name: str = "peserta.csv") -> Any:
    data = {"file": (io.BytesIO(text.encode()), name)}
    return client.post(
        f"/api/v1/sponsor-programmes/{programme_id}/imports",
        data=data,
        headers=staff.headers,
        content_type="multipart/form-data",
    )


def sponsor(client: Any, staff: Any, kind: str, name: str, region: str | None) -> int:
    response = post(client, staff, "/sponsors", {"kind": kind, "name": name, "region_code": region})
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def programme(
    client: Any, world: dict[str, Any], sponsor_id: int, code: str, first: str, months: int, budget: int
) -> int:
    body = {
        "code": code,
        "name": f"Programme {code}",
        "sponsor_id": sponsor_id,
        "package": "JKK+JKM",
        "first_month": first,
        "months": months,
        "budget_idr": budget,
    }
    response = post(client, world["finance"], "/sponsor-programmes", body)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def basel_csv(count: int) -> str:
    """The Bangka Selatan list: every fourth worker an ojek driver, the rest fishers and farmers."""
    lines = ["NIK,Nama,Tanggal_Lahir,Telepon,Pekerjaan,Desa"]
    for n in range(1, count + 1):
        born = date(1970 + n % 30, 1 + n % 12, 1 + n % 28)
        nik = nik_for("1903", born, female=n % 2 == 0, serial=n)
        job = "ojek pangkalan" if n % 4 == 0 else ("nelayan" if n % 2 else "petani lada")
        lines.append(f"{nik},warga basel {n},{born:%d-%m-%Y},0812{n:08d},{job},Toboali")
    return "\n".join(lines) + "\n"


def count(app: Any, model: Any, *where: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def member_by_nik(app: Any, nik: str) -> Any:
    with app.app_context():
        member = db.session.scalar(select(Member).where(Member.nik == nik))
        db.session.expunge_all()
        return member


def reconcile(app: Any, branch_id: int, now: datetime) -> None:
    with app.app_context():
        reconcile_branch(db.session, branch_id, now)


def status_of(app: Any, nik: str) -> str:
    return str(member_by_nik(app, nik).status)


@pytest.fixture
def basel(client, world, pinned_app):
    """Kabupaten Bangka Selatan's APBD programme: 1,768 workers, JKK+JKM, 6 months from September 2025."""
    at(pinned_app, 2025, 8, 25)
    sponsor_id = sponsor(client, world["finance"], "regency", "Pemerintah Kabupaten Bangka Selatan", "1903")
    programme_id = programme(client, world, sponsor_id, "BASEL-APBD-2025", "2025-09", 6, BASEL_MEMBERS * 6 * RATE)
    response = upload(client, world["finance"], programme_id, basel_csv(BASEL_MEMBERS))
    assert response.status_code == 201, response.get_json()
    world["basel"] = programme_id
    world["basel_import"] = response.get_json()
    return world


def test_the_bangka_selatan_programme_from_import_to_lapse(client, basel, pinned_app):
    world, programme_id = basel, basel["basel"]
    report = world["basel_import"]
    assert report["status"] == "done"
    assert (report["rows_total"], report["created"], report["rejected"]) == (BASEL_MEMBERS, BASEL_MEMBERS, 0)
    assert count(pinned_app, Member, Member.package == "JKK+JKM", Member.bracket == 1) == BASEL_MEMBERS
    driver = member_by_nik(pinned_app, nik_for("1903", date(1974, 5, 5), female=True, serial=4))
    assert (driver.sector, driver.first_month.month, driver.village) == ("transport", 9, "Toboali")

    at(pinned_app, 2025, 9, 5)
    key = str(uuid.uuid4())
    paid = post(client, world["finance"], f"/sponsor-programmes/{programme_id}/payments", {}, key)
    assert paid.status_code == 201, paid.get_json()
    receipt = paid.get_json()
    assert receipt["amount_idr"] == 178_214_400 == BASEL_MEMBERS * 6 * RATE
    assert (receipt["members"], receipt["member_months"]) == (BASEL_MEMBERS, BASEL_MEMBERS * 6)
    assert (receipt["first_month"], receipt["last_month"]) == ("2025-09", "2026-02")
    assert receipt["receipt_number"] == f"PKP-SP202509-{receipt['id']:06d}"
    assert len(receipt["verification_code"]) == 10
    again = post(client, world["finance"], f"/sponsor-programmes/{programme_id}/payments", {}, key)
    assert again.status_code == 200 and again.get_json()["id"] == receipt["id"]
    assert count(pinned_app, Payment, Payment.sponsor_payment_id == receipt["id"]) == BASEL_MEMBERS

    # The breakdown, page by page: every member pays Rp16.800 a month, January and February 2026 too (no PP 50/2025
    # discount for a budget-sponsored member, even an ojek driver in the transport sector's discount period).
    page = client.get(
        f"/api/v1/sponsor-payments/{receipt['id']}/members?page=2&page_size=50", headers=world["finance"].headers
    )
    assert page.status_code == 200
    assert '"total": 1768' in page.headers["X-Pagination"].replace("'", '"')
    for line in page.get_json():
        assert line["amount_idr"] == 6 * RATE
        assert [m["month"] for m in line["months"]] == [
            "2025-09",
            "2025-10",
            "2025-11",
            "2025-12",
            "2026-01",
            "2026-02",
        ]
        assert {m["amount_idr"] for m in line["months"]} == {RATE}
    assert count(pinned_app, PaymentAllocation, PaymentAllocation.month >= Month(2026, 1)) == BASEL_MEMBERS * 2
    figures = get(client, world["finance"], f"/sponsor-programmes/{programme_id}")
    assert (figures["members"], figures["budget_used_idr"], figures["budget_left_idr"]) == (
        BASEL_MEMBERS,
        178_214_400,
        0,
    )

    too_early = post(client, world["supervisor"], f"/sponsor-programmes/{programme_id}/end")
    assert too_early.status_code == 409 and "runs through 2026-02" in too_early.get_json()["message"]

    # March 2026: the programme has ended; the daily job makes the members self-paying, once.

    march = at(pinned_app, 2026, 3, 2)
    with pinned_app.app_context():
        assert end_finished_programmes(db.session, march, links=signer_of(pinned_app.config)) == [programme_id]
        assert end_finished_programmes(db.session, march) == []
    ended = post(client, world["supervisor"], f"/sponsor-programmes/{programme_id}/end")
    assert ended.status_code == 200 and ended.get_json()["already_ended"] is True
    assert count(pinned_app, OutboxMessage, OutboxMessage.kind == "sponsorship_ended") == BASEL_MEMBERS
    assert count(pinned_app, VisitItem, VisitItem.reason == "sponsorship_ended") == BASEL_MEMBERS
    with pinned_app.app_context():
        ended = select(OutboxMessage.body, OutboxMessage.recipient).where(OutboxMessage.kind == "sponsorship_ended")
        text, phone = db.session.execute(ended.limit(1)).one()
    assert "Pemerintah Kabupaten Bangka Selatan" in text and "2026-03" in text
    token = text.rsplit("/peserta/b/", 1)[1]  # his pay link, for his first month of his own
    link = read_token(str(pinned_app.config["SECRET_KEY"]), token, phone)
    assert link is not None and (str(link.first_month), link.months) == ("2026-03", 1)
    assert client.get(f"/peserta/b/{token}").status_code == 200

    # One fisher pays March to May himself; another pays nothing.
    payer_nik = nik_for("1903", date(1971, 2, 2), female=False, serial=1)
    idle_nik = nik_for("1903", date(1973, 4, 4), female=False, serial=3)
    payer = member_by_nik(pinned_app, payer_nik)
    at(pinned_app, 2026, 3, 10)
    body = {"member_id": payer.id, "months": 3}
    cash = post(client, world["agent"], "/contributions", body, str(uuid.uuid4()))
    assert cash.status_code == 201, cash.get_json()
    assert cash.get_json()["months_covered"] == ["2026-03", "2026-04", "2026-05"]

    reconcile(pinned_app, world["pkp"], at(pinned_app, 2026, 3, 20))
    assert (status_of(pinned_app, payer_nik), status_of(pinned_app, idle_nik)) == ("active", "in_arrears")
    reconcile(pinned_app, world["pkp"], at(pinned_app, 2026, 5, 20))
    assert (status_of(pinned_app, payer_nik), status_of(pinned_app, idle_nik)) == ("active", "in_arrears")
    reconcile(pinned_app, world["pkp"], at(pinned_app, 2026, 7, 1))
    assert status_of(pinned_app, idle_nik) == "lapsed"
    assert status_of(pinned_app, payer_nik) == "in_arrears"  # June is his own, and unpaid

    # Retention, asked in November 2026: March and May measured, August measured (nobody), February 2027 not yet.
    retention = get(client, world["finance"], f"/sponsor-programmes/{programme_id}/retention?on=2026-11-22")
    points = {p["months_after"]: p for p in retention["points"]}
    assert retention["members"] == BASEL_MEMBERS and retention["last_month"] == "2026-02"
    assert (points[1]["month"], points[1]["paying"], points[1]["share"]) == ("2026-03", 1, round(1 / BASEL_MEMBERS, 4))
    assert (points[3]["paying"], points[6]["paying"]) == (1, 0)
    assert (points[12]["month"], points[12]["measured"], points[12]["share"]) == ("2027-02", False, None)


def test_a_file_with_bad_rows_imports_its_good_rows_and_again_changes_nothing(client, world, pinned_app, enrol):
    at(pinned_app, 2026, 1, 5)
    sponsor_id = sponsor(client, world["finance"], "province", "Pemerintah Provinsi Kepulauan Bangka Belitung", "19")
    programme_id = programme(client, world, sponsor_id, "BABEL-2026", "2026-01", 12, 50_000_000)
    known = enrol(nik=nik_for("1971", date(1988, 3, 3), serial=77), name="sudah peserta")  # a member of PKP
    elsewhere = enrol(as_="ptk_agent", nik=nik_for("1971", date(1989, 4, 4), serial=78))  # a member of PTK
    good_a = nik_for("1903", date(1980, 1, 12), serial=1)
    good_b = nik_for("1971", date(1985, 6, 20), female=True, serial=2)
    kalbar = nik_for("6171", date(1982, 2, 2), serial=3)
    text = "\n".join(
        [
            "nama;nik;tanggal lahir;no hp;pekerjaan;desa",
            f"Ahmad;{good_a};12-01-1980;0812-1111-2222;nelayan;Toboali",
            f"Siti;{good_b};1985-06-20;;kurir paket;Gerunggang",
            "Bad Nik;19031201800;12-01-1980;;petani;Toboali",
            f"Ahmad Lagi;{good_a};12-01-1980;;nelayan;Toboali",
            f"Masa Depan;{nik_for('1903', date(1990, 5, 5), serial=4)};05-05-2030;;petani;Toboali",
            f"Dari Kalbar;{kalbar};02-02-1982;;petani;Pontianak",
            f"Sudah Peserta;{known['nik']};03-03-1988;;ojek;Bukit Intan",
            f"Cabang Lain;{elsewhere['nik']};04-04-1989;;ojek;Pontianak",
            f"Telepon Salah;{nik_for('1903', date(1991, 7, 7), serial=5)};07-07-1991;021-555-1234;petani;Toboali",
        ]
    )
    response = upload(client, world["finance"], programme_id, text)
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert (report["created"], report["sponsored"], report["unchanged"], report["rejected"]) == (2, 1, 0, 6)
    rejected = {row["row"]: row for row in report["rows"]}
    assert rejected[4]["field"] == "nik" and "16 digits" in rejected[4]["reason"]
    assert rejected[5]["field"] == "nik" and "row 2" in rejected[5]["reason"]
    assert rejected[6]["field"] == "birth_date" and "in the future" in rejected[6]["reason"]
    assert rejected[7]["field"] == "nik" and "Kalimantan Barat" in rejected[7]["reason"]
    assert rejected[9]["field"] == "nik" and "branch" in rejected[9]["reason"]
    assert rejected[10]["field"] == "phone"
    siti = member_by_nik(pinned_app, good_b)
    assert (siti.sex, siti.sector, siti.phone, siti.declared_income_idr) == ("F", "transport", None, 0)
    assert member_by_nik(pinned_app, good_a).phone == "+6281211112222"
    members_before = count(pinned_app, Member)

    again = upload(client, world["finance"], programme_id, text)
    assert again.status_code == 200 and again.get_json()["already_imported"] is True
    assert again.get_json()["id"] == report["id"]
    assert count(pinned_app, Member) == members_before
    assert count(pinned_app, ProgrammeMember, ProgrammeMember.programme_id == programme_id) == 3

    # The same people in another file: unchanged, row by row; only the new one is created.
    newcomer = nik_for("1903", date(1992, 8, 8), serial=6)
    second = "\n".join(
        [
            "NIK,NAME,BIRTH_DATE",
            f"{good_a},Ahmad,12-01-1980",
            f"{newcomer},Baru,1992-08-08",
            f"{known['nik']},X,03-03-1988",
        ]
    )
    report2 = upload(client, world["finance"], programme_id, second, "tambahan.csv").get_json()
    assert (report2["created"], report2["unchanged"], report2["rejected"]) == (1, 2, 0)
    status = get(client, world["finance"], f"/sponsor-imports/{report2['id']}?outcome=unchanged")
    assert [row["row"] for row in status["rows"]] == [2, 4] and status["rows_matching"] == 2


def test_the_budget_stops_a_payment_and_a_mid_year_addition_is_covered_from_its_month(client, world, pinned_app):
    at(pinned_app, 2026, 1, 5)
    sponsor_id = sponsor(client, world["finance"], "donor", "Yayasan Peduli Nelayan", None)
    programme_id = programme(client, world, sponsor_id, "DONOR-2026", "2026-01", 6, 2 * (3 * RATE + 3 * RATE // 2))
    lines = ["nik,name,birth_date,occupation"]
    lines += [
        f"{nik_for('1903', date(1980, 1, 1 + n), serial=n)},Nelayan {n},{1 + n:02d}-01-1980,nelayan" for n in (1, 2)
    ]
    assert upload(client, world["finance"], programme_id, "\n".join(lines)).status_code == 201
    first = post(client, world["finance"], f"/sponsor-programmes/{programme_id}/payments", {}, str(uuid.uuid4()))
    assert first.status_code == 201
    # A donor is not a government budget: the 'other' sector's PP 50/2025 discount applies from April 2026.
    assert first.get_json()["amount_idr"] == 2 * (3 * RATE + 3 * RATE // 2)

    at(pinned_app, 2026, 4, 10)  # the APBD Perubahan (here: the donor's second thoughts) adds a member in April
    added = post(
        client,
        world["finance"],
        f"/sponsor-programmes/{programme_id}/members",
        {"nik": nik_for("1903", date(1981, 9, 9), serial=9), "name": "Tambahan", "birth_date": "1981-09-09"},
    )
    assert added.status_code == 201 and added.get_json()["outcome"] == "created"
    listing = get(client, world["finance"], f"/sponsor-programmes/{programme_id}/members")
    assert {m["name"]: m["covered_from"] for m in listing}["Tambahan"] == "2026-04"

    key = str(uuid.uuid4())
    refused = post(client, world["finance"], f"/sponsor-programmes/{programme_id}/payments", {}, key)
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["reason"] == "over_budget" and body["payment_idr"] == 3 * (RATE // 2)
    assert "Rp25.200" in body["message"] and "left" in body["message"]

    raised = client.patch(
        f"/api/v1/sponsor-programmes/{programme_id}", json={"budget_idr": 300_000}, headers=world["finance"].headers
    )
    assert raised.status_code == 200 and raised.get_json()["budget_left_idr"] == 300_000 - 2 * (
        3 * RATE + 3 * RATE // 2
    )
    paid = post(client, world["finance"], f"/sponsor-programmes/{programme_id}/payments", {}, key)
    assert paid.status_code == 201, paid.get_json()
    assert (paid.get_json()["members"], paid.get_json()["member_months"]) == (1, 3)  # April to June, never before
    nothing = post(client, world["finance"], f"/sponsor-programmes/{programme_id}/payments", {}, str(uuid.uuid4()))
    assert nothing.status_code == 409 and nothing.get_json()["reason"] == "nothing_due"


def test_a_late_sponsor_payment_is_settled_by_a_branch_arrangement_that_restores_the_period(client, world, pinned_app):
    at(pinned_app, 2025, 8, 20)
    sponsor_id = sponsor(client, world["finance"], "regency", "Pemerintah Kabupaten Bangka Selatan", "1903")
    programme_id = programme(client, world, sponsor_id, "BASEL-LATE", "2025-09", 6, 10_000_000)
    niks = [nik_for("1903", date(1979, 3, 3), serial=n) for n in (1, 2)]
    csv_text = "nik,name,birth_date\n" + "\n".join(f"{nik},Pekerja {i},03-03-1979" for i, nik in enumerate(niks))
    assert upload(client, world["finance"], programme_id, csv_text).status_code == 201

    # The APBD money only arrives in late January: September to December went unpaid and the members lapsed.
    reconcile(pinned_app, world["pkp"], at(pinned_app, 2026, 1, 20))
    assert [status_of(pinned_app, nik) for nik in niks] == ["lapsed", "lapsed"]

    path = f"/sponsor-programmes/{programme_id}/payments"
    normal = post(client, world["finance"], path, {}, str(uuid.uuid4()))
    assert normal.status_code == 409 and normal.get_json()["awaiting_arrangement"] == 2
    not_finance = post(client, world["finance"], path, {"branch_arrangement": True}, str(uuid.uuid4()))
    assert not_finance.status_code == 403
    arranged = post(client, world["supervisor"], path, {"branch_arrangement": True}, str(uuid.uuid4()))
    assert arranged.status_code == 201, arranged.get_json()
    body = arranged.get_json()
    assert (body["branch_arrangement"], body["restored"], body["member_months"]) == (True, 2, 12)
    assert body["amount_idr"] == 12 * RATE
    assert [status_of(pinned_app, nik) for nik in niks] == ["active", "active"]
    member = member_by_nik(pinned_app, niks[0])
    assert count(pinned_app, MembershipPeriod, MembershipPeriod.member_id == member.id) == 1
    assert (
        count(
            pinned_app, MembershipPeriod, MembershipPeriod.member_id == member.id, MembershipPeriod.ended_on.is_(None)
        )
        == 1
    )
    assert (
        count(
            pinned_app,
            MemberStatusChange,
            MemberStatusChange.member_id == member.id,
            MemberStatusChange.cause.like("branch arrangement%"),
            MemberStatusChange.to_status == "active",
        )
        == 1
    )
    reconcile(pinned_app, world["pkp"], at(pinned_app, 2026, 1, 21))  # the nightly run agrees
    assert [status_of(pinned_app, nik) for nik in niks] == ["active", "active"]


def test_bad_input_is_a_4xx_naming_the_field(client, world, pinned_app):
    finance = world["finance"]
    no_region = post(client, finance, "/sponsors", {"kind": "regency", "name": "Pemkab Tanpa Kode"})
    assert no_region.status_code == 422 and "region_code" in no_region.get_json()["errors"]["json"]
    wrong_region = post(client, finance, "/sponsors", {"kind": "city", "name": "Pemkot X", "region_code": "9999"})
    assert wrong_region.status_code == 422 and "region_code" in wrong_region.get_json()["errors"]["json"]
    sponsor_id = sponsor(client, finance, "city", "Pemerintah Kota Pangkalpinang", "1971")
    body = {"code": "PKP-1", "name": "Kota", "sponsor_id": sponsor_id, "package": "JKK+JKM", "first_month": "2026-13"}
    bad = post(client, finance, "/sponsor-programmes", body | {"months": 30, "budget_idr": 0})
    fields = bad.get_json()["errors"]["json"]
    assert bad.status_code == 422 and {"first_month", "months", "budget_idr"} <= set(fields)
    assert post(client, world["agent"], "/sponsors", {"kind": "donor", "name": "Agen"}).status_code == 403
    programme_id = programme(client, world, sponsor_id, "PKP-2026", "2026-11", 3, 1_000_000)

    headerless = upload(client, finance, programme_id, "a,b,c\n1,2,3\n")
    assert headerless.status_code == 422
    assert "birth_date" in headerless.get_json()["errors"]["files"]["file"][0]
    no_key = post(client, finance, f"/sponsor-programmes/{programme_id}/payments", {})
    assert no_key.status_code == 422 and "Idempotency-Key" in no_key.get_json()["errors"]["headers"]
    outside = post(
        client, finance, f"/sponsor-programmes/{programme_id}/payments", {"first_month": "2027-05"}, "k-123456789"
    )
    assert outside.status_code == 422 and "first_month" in outside.get_json()["errors"]["json"]
    bad_nik = post(client, finance, f"/sponsor-programmes/{programme_id}/members", {"nik": "12345"})
    assert bad_nik.status_code == 422 and "nik" in bad_nik.get_json()["errors"]["json"]
    foreign = nik_for("1903", date(1980, 1, 1), serial=1)
    not_city = post(
        client,
        finance,
        f"/sponsor-programmes/{programme_id}/members",
        {"nik": foreign, "name": "A", "birth_date": "1980-01-01"},
    )
    assert (
        not_city.status_code == 422
        and "not in Kota Pangkal Pinang (1971)" in not_city.get_json()["errors"]["json"]["nik"][0]
    )
    other_branch = client.get(f"/api/v1/sponsor-programmes/{programme_id}", headers=world["ptk_agent"].headers)
    assert other_branch.status_code == 403


def test_a_large_file_is_imported_by_a_worker_with_its_progress(client, world, pinned_app, rq_burst):
    pinned_app.config["SPONSOR_IMPORT_INLINE_ROWS"] = 2
    sponsor_id = sponsor(client, world["finance"], "donor", "PT Dermawan", None)
    # The worker runs on the real clock: a programme that is open whatever today is near the pinned one.
    programme_id = programme(client, world, sponsor_id, "BIG-FILE", "2026-01", 24, 10_000_000)
    queued = upload(client, world["finance"], programme_id, basel_csv(5))
    assert queued.status_code == 202, queued.get_json()
    record = queued.get_json()
    assert (record["status"], record["rows_total"], record["rows_done"]) == ("running", 5, 0)
    rq_burst("low")
    done = get(client, world["finance"], f"/sponsor-imports/{record['id']}")
    assert (done["status"], done["rows_done"], done["created"]) == ("done", 5, 5)


def test_a_member_on_other_terms_than_the_programme_pays_is_refused_not_half_paid(client, world, pinned_app, enrol):
    """The sponsor pays bracket 1 of its package; a member on bracket 10 with JHT would be left owing."""
    at(pinned_app, 2026, 11, 2)
    richer = enrol(nik=nik_for("1971", serial=41), declared_income_idr=3_000_000, package="JKK+JKM+JHT")
    plain = enrol(nik=nik_for("1971", serial=42))
    city = sponsor(client, world["finance"], "city", "Pemkot Pangkalpinang", "1971")
    programme_id = programme(client, world, city, "PKP-APBD-2026", "2026-11", 2, 10_000_000)

    refused = post(client, world["finance"], f"/sponsor-programmes/{programme_id}/members", {"nik": richer["nik"]})
    joined = post(client, world["finance"], f"/sponsor-programmes/{programme_id}/members", {"nik": plain["nik"]})

    assert refused.status_code == 422
    assert "bracket 10 of JKK+JKM+JHT" in refused.get_json()["message"]
    assert joined.status_code == 201 and joined.get_json()["outcome"] == "sponsored"


def test_ending_a_programme_counts_only_its_own_members_still_sponsored_elsewhere(client, world, pinned_app):
    at(pinned_app, 2026, 1, 5)
    city = sponsor(client, world["finance"], "city", "Pemkot Pangkalpinang", "1971")
    donor = sponsor(client, world["finance"], "donor", "Yayasan Peduli", None)
    short = programme(client, world, city, "PKP-SHORT", "2026-01", 2, 10_000_000)
    other = programme(client, world, donor, "PKP-DONOR", "2026-01", 12, 100_000_000)
    rows = "nik,name,birth_date\n" + "".join(
        f"{nik_for('1971', serial=s)},Warga {s},1990-01-12\n" for s in range(60, 66)
    )
    upload(client, world["finance"], short, rows.splitlines()[0] + "\n" + rows.splitlines()[1] + "\n")
    upload(client, world["finance"], other, rows)  # the donor's list has the short programme's member too
    at(pinned_app, 2026, 3, 2)

    ended = post(client, world["supervisor"], f"/sponsor-programmes/{short}/end")

    assert ended.status_code == 200, ended.get_json()
    assert ended.get_json()["members"] == 1
    assert ended.get_json()["still_sponsored"] == 1  # not the donor's five others


def test_an_import_whose_worker_died_resumes_when_the_file_is_uploaded_again(client, world, pinned_app, rq_burst):
    pinned_app.config["SPONSOR_IMPORT_INLINE_ROWS"] = 2
    sponsor_id = sponsor(client, world["finance"], "donor", "PT Dermawan", None)
    programme_id = programme(client, world, sponsor_id, "LOST-JOB", "2026-01", 24, 10_000_000)
    queued = upload(client, world["finance"], programme_id, basel_csv(5)).get_json()
    with pinned_app.app_context():
        redis_connection().flushdb()  # the job is gone: a worker killed mid-way, a Redis restart
        again = upload(client, world["finance"], programme_id, basel_csv(5))
        requeued = redis_connection().exists(f"rq:job:sponsor-import-{queued['id']}")

    assert again.status_code == 202 and requeued == 1
    rq_burst("low")
    done = get(client, world["finance"], f"/sponsor-imports/{queued['id']}")
    assert (done["status"], done["created"]) == ("done", 5)


def test_an_imports_row_reasons_are_shown_in_the_readers_language_old_reports_too(client, world, pinned_app):
    """The report keeps each reason in English for every reader; the API words it in the reader's language, also
    a report stored before (an English reason of the catalog); a reason no catalog holds is shown as stored."""
    at(pinned_app, 2026, 1, 5)
    sponsor_id = sponsor(client, world["finance"], "province", "Pemerintah Provinsi Kepulauan Bangka Belitung", "19")
    programme_id = programme(client, world, sponsor_id, "BABEL-ID", "2026-01", 12, 50_000_000)
    good = nik_for("1903", date(1980, 1, 12), serial=1)
    text = "\n".join(
        [
            "nama;nik;tanggal lahir",
            f"Ahmad;{good};12-01-1980",
            f"Ahmad Lagi;{good};12-01-1980",
            f"Masa Depan;{nik_for('1903', date(1990, 5, 5), serial=4)};05-05-2030",
        ]
    )
    response = upload(client, world["finance"], programme_id, text)
    assert response.status_code == 201, response.get_json()
    import_id = response.get_json()["id"]

    def reasons(lang: str) -> dict[int, str]:
        headers = world["finance"].headers | {"Accept-Language": lang}
        body = client.get(f"/api/v1/sponsor-imports/{import_id}", headers=headers).get_json()
        return {row["row"]: row["reason"] for row in body["rows"] if row.get("reason")}

    assert reasons("en") == {
        3: "The NIK is repeated: row 2 has it.",
        4: "The birth date 05-05-2030 is in the future: check it against the KTP card.",
    }
    assert reasons("id") == {
        3: "NIK ini berulang: baris 2 sudah memuatnya.",
        4: "Tanggal lahir 05-05-2030 ada di masa depan: cocokkan dengan KTP.",
    }
    with pinned_app.app_context():  # a report as an older version stored it, and a reason of no catalog
        record = db.session.get(SponsorImport, import_id)
        record.report = json.dumps(
            [
                {
                    "row": 2,
                    "nik": good,
                    "outcome": "rejected",
                    "field": "name",
                    "reason": "The name is missing: write it as on the KTP card.",
                },
                {"row": 3, "nik": good, "outcome": "rejected", "field": "nik", "reason": "Checked by hand (old)."},
            ]
        )
        db.session.commit()
    assert reasons("id") == {2: "Nama belum diisi: tulis sesuai KTP.", 3: "Checked by hand (old)."}
