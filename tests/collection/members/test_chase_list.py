"""The list of whom to chase: GET /members?status=in_arrears,lapsed and GET /members/chase.csv."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from collection.members.models import Member, PaymentAllocation
from collection.members.reconciliation import reconcile_branch
from core.csvexport import BOM
from core.extensions import db
from core.months import Month
from organisation.models import Branch
from payments.ledger.models import Payment
from tests.factories import NOW, nik_for

LATER = NOW + timedelta(days=100)  # 2 Mar 2027: November to February overdue


def _pay(client: Any, world: dict[str, Any], member_id: int, months: int) -> None:
    response = client.post(
        "/api/v1/contributions",
        json={"member_id": member_id, "months": months},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def branch_of_debtors(pinned_app: Any, client: Any, world: dict[str, Any], enrol: Any) -> dict[str, int]:
    """PKP: one paid ahead, one owing 3 months, one who never paid, one sponsored for 2 months, one owing 1;
    PTK: one who never paid. Reconciled on LATER, and the clock left there."""
    ids: dict[str, int] = {}
    for n, key in enumerate(("paid", "three", "never", "sponsored", "one"), start=1):
        ids[key] = enrol(nik=nik_for(serial=n), name=f"anggota {key}", sector="other")["id"]
    ids["other_branch"] = enrol(as_="ptk_agent", nik=nik_for("6171", serial=9), name="anggota ptk", sector="other")[
        "id"
    ]
    _pay(client, world, ids["paid"], 12)
    _pay(client, world, ids["three"], 1)
    _pay(client, world, ids["one"], 3)
    with pinned_app.app_context():  # a sponsor paid November and December
        payment = Payment(member_id=ids["sponsored"], channel="sponsor", amount_idr=20_000, paid_on=NOW.date())
        db.session.add(payment)
        db.session.flush()
        for month in (Month(2026, 11), Month(2026, 12)):
            db.session.add(
                PaymentAllocation(payment_id=payment.id, member_id=ids["sponsored"], month=month, amount_idr=10_000)
            )
        db.session.get(Member, ids["one"]).village = "=HYPERLINK(1)"  # a village that would run as a formula
        db.session.commit()
        for branch_id in db.session.scalars(select(Branch.id)):
            reconcile_branch(db.session, branch_id, LATER)
    pinned_app.config["CLOCK"] = lambda: LATER
    return ids


def _listed(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/members", query_string={"status": "in_arrears,lapsed", **params}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _csv(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, str]]:
    response = client.get("/api/v1/members/chase.csv", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.is_streamed and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))


def test_the_list_is_every_member_of_the_branch_in_arrears_or_lapsed_with_what_each_owes(
    client: Any, world: dict[str, Any], branch_of_debtors: dict[str, int]
) -> None:
    ids = branch_of_debtors
    listed = _listed(client, world["finance"].headers, page_size=100)

    assert [m["id"] for m in listed] == sorted([ids["three"], ids["never"], ids["sponsored"], ids["one"]])
    by_id = {m["id"]: m for m in listed}
    assert by_id[ids["never"]]["status"] == "lapsed"
    assert {by_id[ids[k]]["months_in_arrears"] for k in ("three", "sponsored", "one")} == {3, 2, 1}
    for member in listed:  # the same rule as the member's own position, the same body as MemberSchema dumps
        own = client.get(f"/api/v1/members/{member['id']}", headers=world["finance"].headers).get_json()
        assert member == own
        assert member["arrears_idr"] > 0
    assert by_id[ids["one"]]["village"] == "=HYPERLINK(1)"


def test_the_list_pages_without_losing_or_repeating_anyone(
    client: Any, world: dict[str, Any], branch_of_debtors: dict[str, int]
) -> None:
    whole = [m["id"] for m in _listed(client, world["supervisor"].headers, page_size=100)]
    paged: list[int] = []
    for page in (1, 2, 3):
        paged += [m["id"] for m in _listed(client, world["supervisor"].headers, page=page, page_size=2)]
    lapsed = _listed(client, world["supervisor"].headers, status="lapsed")
    response = client.get("/api/v1/members", query_string={"status": "in_arrears"}, headers=world["finance"].headers)

    assert paged == whole and len(whole) == 4
    assert [m["id"] for m in lapsed] == [branch_of_debtors["never"]]
    assert len(response.get_json()) == 3 and '"total": 3' in response.headers["X-Pagination"]


def test_the_csv_is_the_same_list_with_its_formulas_defused(
    client: Any, world: dict[str, Any], branch_of_debtors: dict[str, int]
) -> None:
    listed = _listed(client, world["finance"].headers, page_size=100)
    lines = _csv(client, world["finance"].headers)

    assert [(r["kpj"], r["status"], int(r["months_owed"]), int(r["amount_owed_idr"])) for r in lines] == [
        (m["kpj"], m["status"], m["months_in_arrears"], m["arrears_idr"]) for m in listed
    ]
    one = next(r for r in lines if r["name"] == "Anggota One")
    assert one["village"] == "'=HYPERLINK(1)" and one["last_paid_month"] == "2027-01"
    assert one["agent_code"] and one["phone"] == "'+6281234567890"  # whole (finance calls), a + defused
    assert [r["status"] for r in _csv(client, world["finance"].headers, status="lapsed")] == ["lapsed"]


def test_only_the_branch_office_gets_the_csv_and_no_branch_sees_another(
    client: Any, world: dict[str, Any], branch_of_debtors: dict[str, int]
) -> None:
    ids = branch_of_debtors
    agent = client.get("/api/v1/members/chase.csv", headers=world["agent"].headers)
    ptk = [m["id"] for m in _listed(client, world["ptk_agent"].headers)]
    admin = [r["kpj"] for r in _csv(client, world["admin"].headers)]
    bad = client.get("/api/v1/members", query_string={"status": "owing"}, headers=world["finance"].headers)

    assert agent.status_code == 403
    assert ptk == [ids["other_branch"]]
    assert len(admin) == 5  # every branch's
    assert bad.status_code == 422 and "in_arrears" in bad.get_json()["errors"]["query"]["status"][0]


def test_an_admin_chooses_the_branch_and_no_one_else_reaches_another(
    client: Any, world: dict[str, Any], branch_of_debtors: dict[str, int]
) -> None:
    """An admin has no branch: without branch_id his list is every branch's, mixed; with it, one branch's (the
    list and the CSV). Staff naming another branch get a 404, as for another branch's member."""
    ids = branch_of_debtors
    admin, finance = world["admin"].headers, world["finance"].headers
    pkp_list = [m["id"] for m in _listed(client, admin, branch_id=world["pkp"], page_size=100)]
    ptk_list = [m["id"] for m in _listed(client, admin, branch_id=world["ptk"])]
    ptk_csv = _csv(client, admin, branch_id=world["ptk"])
    own = [m["id"] for m in _listed(client, finance, branch_id=world["pkp"], page_size=100)]
    paged = [m["id"] for page in (1, 2) for m in _listed(client, admin, branch_id=world["pkp"], page=page, page_size=3)]

    assert pkp_list == sorted([ids["three"], ids["never"], ids["sponsored"], ids["one"]]) == own == paged
    assert ptk_list == [ids["other_branch"]]
    assert [r["name"] for r in ptk_csv] == ["Anggota Ptk"]
    for headers, branch in ((finance, world["ptk"]), (world["ptk_agent"].headers, world["pkp"]), (admin, 999_999)):
        listed = client.get("/api/v1/members", query_string={"status": "lapsed", "branch_id": branch}, headers=headers)
        assert listed.status_code == 404, listed.get_json()
    csv_other = client.get("/api/v1/members/chase.csv", query_string={"branch_id": world["ptk"]}, headers=finance)
    assert csv_other.status_code == 404 and csv_other.get_json()["code"] == 404  # the envelope, not a CSV
    without_status = client.get("/api/v1/members", query_string={"branch_id": world["pkp"]}, headers=admin)
    with_a_search = client.get(
        "/api/v1/members", query_string={"branch_id": world["pkp"], "status": "lapsed", "q": "anggota"}, headers=admin
    )
    zero = client.get("/api/v1/members", query_string={"branch_id": 0, "status": "lapsed"}, headers=admin)
    for refused in (without_status, with_a_search, zero):
        assert refused.status_code == 422 and "branch_id" in refused.get_json()["errors"]["query"]


def test_the_fast_bodies_are_what_the_member_schema_dumps() -> None:
    from datetime import date

    from collection.members.arrears import MemberStatus, Standing
    from collection.members.schemas import MemberSchema, member_bodies
    from collection.members.services import MemberView

    views = [
        MemberView(1, "1971015201900001", "12345678901", "Budi", date(1990, 1, 12), "M", "+6281234567890", "ojek",
                   "transport", 1_000_000, 1, "JKK+JKM", 1, 2, 3, date(2026, 11, 22), 16_800, "lapsed",
                   Month(2026, 12), date(2026, 11, 22), 4, 67_200, "Desa Air Itam"),
        MemberView(2, "1971015201900002", None, "Siti", date(1991, 2, 1), "F", None, "dagang", "other", 0, 1,
                   "JKK+JKM+JHT", 1, None, None, date(2026, 1, 5), 0, "in_arrears", None, date(2026, 1, 5)),
    ]  # fmt: skip

    owed = {
        v.id: Standing(MemberStatus(v.status), v.months_in_arrears or 0, v.arrears_idr or 0, None, None, None)
        for v in views
    }
    dumped = MemberSchema(many=True).dump(views)
    dumped[1] |= {"months_in_arrears": 0, "arrears_idr": 0}  # a list's member always has his figures
    assert member_bodies(views, [v.monthly_amount_idr for v in views], owed) == dumped
    assert member_bodies(views, [1, 2], owed)[1]["monthly_amount_idr"] == 2  # the amounts in the members' order
