"""The members API over HTTP, on SQLite and PostgreSQL: enrolment, validation, lookup, scope."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from collection.members.kpj import is_valid_kpj
from core.audit import AuditEvent
from core.extensions import db
from tests.factories import NOW, enrolment, nik_for

MEMBER_FIELDS = {
    "id",
    "nik",
    "kpj",
    "name",
    "birth_date",
    "sex",
    "phone",
    "sector",
    "bracket",
    "package",
    "branch_id",
    "monthly_amount_idr",
    "status",
}


def test_enrolment_returns_the_member_with_a_kpj_and_this_months_amount(client, world):
    response = client.post("/api/v1/members", json=enrolment(), headers=world["agent"].headers)

    assert response.status_code == 201
    member = response.get_json()
    assert MEMBER_FIELDS <= member.keys()
    assert is_valid_kpj(member["kpj"])
    assert member["name"] == "Budi Santoso"
    assert member["birth_date"] == "1990-01-12"
    assert member["sex"] == "M"
    assert member["phone"] == "+6281234567890"
    assert member["bracket"] == 1
    assert member["branch_id"] == world["pkp"]
    assert member["enrolled_by_agent_id"] == world["agent"].agent_id
    assert member["status"] == "active"
    assert member["enrolled_on"] == "2026-11-22"
    # November 2026, transport sector, paying himself: PP 50/2025 halves JKK+JKM.
    assert member["monthly_amount_idr"] == 8_400


def test_a_woman_is_recognised_by_the_nik_day_plus_forty(enrol):
    member = enrol(nik=nik_for(born=date(1985, 7, 31), female=True), name="Siti Aminah")

    assert member["sex"] == "F"
    assert member["birth_date"] == "1985-07-31"


def test_budget_terms_do_not_apply_to_a_self_paying_member_with_jht(enrol):
    member = enrol(package="JKK+JKM+JHT", sector="other", declared_income_idr=3_000_000)

    # bracket 10: JKK 29.500 and JKM 6.800 halved (18.150), JHT 59.000 never discounted
    assert member["bracket"] == 10
    assert member["monthly_amount_idr"] == 18_150 + 59_000


def test_a_known_nik_is_a_409_that_names_the_existing_member(client, world, enrol):
    first = enrol()

    again = client.post("/api/v1/members", json=enrolment(name="Budi S"), headers=world["ptk_agent"].headers)

    assert again.status_code == 409
    body = again.get_json()
    assert body["existing_member"] == {"id": first["id"], "kpj": first["kpj"], "branch_id": world["pkp"]}
    assert first["kpj"] in body["message"]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"nik": "123"}, "nik", "16 digits"),
        ({"nik": "99" + nik_for()[2:]}, "nik", "province"),
        ({"nik": nik_for()[:6] + "320190" + "0001"}, "nik", "day of birth"),
        ({"nik": nik_for()[:12] + "0000"}, "nik", "serial"),
        ({"nik": nik_for(born=date(2015, 1, 1))}, "nik", "15"),
        ({"birth_date": "1990-01-13"}, "birth_date", "12-01-1990"),
        ({"sex": "F"}, "sex", "man"),
        ({"phone": "021-555-1234"}, "phone", "08"),
        ({"sector": "fishing"}, "sector", "transport"),
        ({"package": "JHT"}, "package", "JKK+JKM"),
        ({"declared_income_idr": -5}, "declared_income_idr", "Out of range: give a number from 0"),
        ({"declared_income_idr": "lots"}, "declared_income_idr", "whole number"),
        ({"declared_income_idr": 1.5}, "declared_income_idr", "whole number"),
        ({"bracket": 7}, "bracket", "bracket 1"),
        ({"branch_id": 9999}, "branch_id", "9999"),
        ({"name": ""}, "name", "characters"),
        ({"favourite_colour": "red"}, "favourite_colour", "Not a field of this request"),
    ],
)
def test_bad_enrolment_is_a_422_naming_the_field_and_nothing_is_written(client, world, overrides, field, words):
    body = enrolment(**({"branch_id": world["pkp"]} | overrides))
    response = client.post("/api/v1/members", json=body, headers=world["admin"].headers)

    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert set(body) >= {"code", "status", "message", "errors"}
    messages = " ".join(body["errors"]["json"][field])
    assert words.lower() in messages.lower()
    listing = client.get("/api/v1/members", headers=world["admin"].headers).get_json()
    assert listing == []


def test_missing_fields_are_each_named(client, world):
    response = client.post("/api/v1/members", json={}, headers=world["agent"].headers)

    assert response.status_code == 422
    missing = response.get_json()["errors"]["json"]
    assert {"nik", "name", "occupation", "sector", "declared_income_idr", "package"} <= set(missing)


def test_a_body_that_is_not_json_is_a_4xx_not_a_500(client, world):
    response = client.post(
        "/api/v1/members", data="nik=1", headers=world["agent"].headers | {"Content-Type": "application/json"}
    )

    assert 400 <= response.status_code < 500
    assert response.get_json()["code"] == response.status_code


def test_an_agent_enrols_only_into_his_own_branch(client, world):
    response = client.post("/api/v1/members", json=enrolment(branch_id=world["ptk"]), headers=world["agent"].headers)

    assert response.status_code == 422
    assert "own branch" in response.get_json()["errors"]["json"]["branch_id"][0]


def test_an_admin_must_choose_the_branch(client, world):
    response = client.post("/api/v1/members", json=enrolment(), headers=world["admin"].headers)

    assert response.status_code == 422
    assert "branch" in response.get_json()["errors"]["json"]["branch_id"][0]


def test_writes_need_a_valid_token_and_an_enrolling_role(client, world):
    assert client.post("/api/v1/members", json=enrolment()).status_code == 401
    bogus = {"Authorization": "Bearer not-a-token"}
    assert client.post("/api/v1/members", json=enrolment(), headers=bogus).status_code == 401
    finance = client.post("/api/v1/members", json=enrolment(), headers=world["finance"].headers)
    assert finance.status_code == 403
    assert "branch_finance" in finance.get_json()["message"]


def test_an_agent_cannot_see_another_branchs_member(client, world, enrol):
    member = enrol(as_="ptk_agent", nik=nik_for("6171"))

    assert client.get(f"/api/v1/members/{member['id']}", headers=world["agent"].headers).status_code == 404
    assert client.get(f"/api/v1/members/{member['id']}", headers=world["ptk_agent"].headers).status_code == 200
    assert client.get(f"/api/v1/members/{member['id']}", headers=world["admin"].headers).status_code == 200
    found = client.get(f"/api/v1/members?nik={member['nik']}", headers=world["agent"].headers).get_json()
    assert found == []


def test_members_are_found_by_nik_kpj_phone_and_the_one_search_box(client, world, enrol):
    member = enrol()
    enrol(nik=nik_for(serial=2), name="Siti Aminah", phone="0813-1111-2222")
    headers = world["agent"].headers

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/members?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [m["id"] for m in response.get_json()]

    assert ids(f"nik={member['nik']}") == [member["id"]]
    assert ids(f"kpj={member['kpj']}") == [member["id"]]
    assert ids("phone=%2B6281234567890") == [member["id"]]
    assert ids("phone=0812-3456-7890") == [member["id"]]
    assert ids(f"q={member['nik']}") == [member["id"]]
    assert ids(f"q={member['kpj']}") == [member["id"]]
    assert ids("q=081234567890") == [member["id"]]


@pytest.mark.parametrize("query", ["Budi Santoso", "budi", "Boedi Santosa", "santoso", "Budi Santoso"])
def test_name_search_tolerates_old_spellings_and_typos(client, world, enrol, query):
    budi = enrol()
    enrol(nik=nik_for(serial=2), name="Bambang Sutrisno")
    enrol(nik=nik_for(serial=3), name="Siti Nurhaliza")

    found = client.get(f"/api/v1/members?q={query}", headers=world["agent"].headers).get_json()

    assert found[0]["id"] == budi["id"]
    assert all(m["name"] != "Siti Nurhaliza" for m in found)


def test_name_search_ranks_the_exact_spelling_first_and_pages(client, world, enrol):
    for serial, name in enumerate(["Rina Lestari", "Rini Lestari", "Rino Lestari", "Rina Wijaya"], start=1):
        enrol(nik=nik_for(serial=serial), name=name)

    first = client.get("/api/v1/members?q=rina lestari&page=1&page_size=2", headers=world["agent"].headers)
    second = client.get("/api/v1/members?q=rina lestari&page=2&page_size=2", headers=world["agent"].headers)

    assert first.get_json()[0]["name"] == "Rina Lestari"
    pagination = first.headers["X-Pagination"]
    assert '"total": 4' in pagination
    assert len(first.get_json()) == 2 and len(second.get_json()) == 2
    assert {m["id"] for m in first.get_json()}.isdisjoint({m["id"] for m in second.get_json()})


@pytest.mark.parametrize(
    ("query", "field"),
    [("kpj=123", "kpj"), ("phone=12345", "phone"), ("q=a", "q"), ("page=0", "page"), ("page_size=1001", "page_size")],
)
def test_bad_search_parameters_are_422_naming_them(client, world, query, field):
    response = client.get(f"/api/v1/members?{query}", headers=world["agent"].headers)

    assert response.status_code == 422
    errors: dict[str, Any] = response.get_json()["errors"]
    assert field in errors.get("query", errors.get("json", {}))


def test_enrolment_is_audited_and_the_audit_log_refuses_edits(pinned_app, enrol, world):
    from sqlalchemy import delete, select, update
    from sqlalchemy.exc import DatabaseError

    member = enrol()

    with pinned_app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "member.enrolled")).one()
        assert event.entity_id == str(member["id"])
        assert event.actor_user_id == world["agent"].id
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(update(AuditEvent).values(action="forged"))
        db.session.rollback()
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(delete(AuditEvent))
        db.session.rollback()
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.id == event.id)) == "member.enrolled"


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("nik=12ab", "nik", "only digits"),  # was 200 []: the letters were dropped and nothing matched
        ("nik=1971011201", "nik", "16 digits"),
        ("nik=", "nik", "16 digits"),
        ("kpj=00000001234a", "kpj", "11 digits"),  # was 200 []: the letter was dropped, leaving 11 digits
        ("kpj=123", "kpj", "11 digits"),
        ("phone=12345", "phone", "08"),
        ("phone=021-555-1234", "phone", "landline"),
        ("q=a", "q", "at least 2"),
        ("status=owing", "status", "in_arrears"),
        ("status=in_arrears,", "status", "separated by commas"),
        ("page=0", "page", "Too small: give 1 or more"),
        ("page=abc", "page", "whole number"),
        ("page_size=1001", "page_size", "1000"),
        ("branch_id=two", "branch_id", "whole number"),
    ],
)
def test_a_malformed_search_value_is_a_422_that_says_how_to_fix_it(client, world, query, field, words):
    response = client.get(f"/api/v1/members?{query}", headers=world["agent"].headers)

    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert {"code", "status", "message", "errors"} <= body.keys()
    messages = " ".join(body["errors"]["query"][field])
    assert words.lower() in messages.lower(), messages


@pytest.mark.parametrize(("field", "value"), [("nik", "12ab"), ("nik", "1971011201"), ("phone", "12345")])
def test_a_search_value_gets_the_message_the_same_enrolment_field_gets(client, world, field, value):
    enrolled = client.post("/api/v1/members", json=enrolment(**{field: value}), headers=world["agent"].headers)
    searched = client.get(f"/api/v1/members?{field}={value}", headers=world["agent"].headers)

    assert enrolled.status_code == searched.status_code == 422
    assert searched.get_json()["errors"]["query"][field] == enrolled.get_json()["errors"]["json"][field]


def test_a_nik_or_kpj_typed_with_separators_still_finds_the_member(client, world, enrol):
    member = enrol()
    nik, kpj = member["nik"], member["kpj"]

    for query in (f"nik={nik[:6]}.{nik[6:12]}.{nik[12:]}", f"kpj={kpj[:3]}-{kpj[3:]}", "phone=%2B62 812 3456 7890"):
        found = client.get(f"/api/v1/members?{query}", headers=world["agent"].headers)
        assert found.status_code == 200, found.get_json()
        assert [m["id"] for m in found.get_json()] == [member["id"]]


@pytest.mark.parametrize(("query", "field"), [("from=2026-13", "from"), ("to=March", "to"), ("from=3000-01", "from")])
def test_a_malformed_schedule_month_is_a_422_that_says_how_to_write_one(client, world, enrol, query, field):
    member = enrol()

    response = client.get(f"/api/v1/members/{member['id']}/schedule?{query}", headers=world["agent"].headers)

    assert response.status_code == 422
    [message] = response.get_json()["errors"]["query"][field]
    assert "2026-03" in message or "1900-01" in message, message


def test_a_malformed_rates_day_is_a_422_that_says_how_to_write_one(client):
    response = client.get("/api/v1/rates?on=22-11-2026")

    assert response.status_code == 422
    assert response.get_json()["errors"]["query"]["on"] == ["Not a date: write it as YYYY-MM-DD, e.g. 2026-11-22."]


def test_a_misspelt_filter_is_a_422_not_the_whole_list(client, world, enrol):
    enrol()

    response = client.get("/api/v1/members?stauts=in_arrears", headers=world["agent"].headers)

    assert response.status_code == 422
    [message] = response.get_json()["errors"]["query"]["stauts"]
    assert "status" in message


def test_every_list_carries_each_members_standing_worked_out_now(pinned_app, client, world, enrol):
    owing = enrol(sector="other")
    enrol(nik=nik_for(serial=2), name="Siti Aminah", phone="0813-1111-2222", sector="other")
    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(days=40)  # 1 Jan 2027: November and December overdue
    headers = world["agent"].headers

    one = client.get(f"/api/v1/members/{owing['id']}", headers=headers).get_json()
    for query in ("", "?q=budi", f"?nik={owing['nik']}", f"?kpj={owing['kpj']}", "?page_size=1"):
        listed = client.get(f"/api/v1/members{query}", headers=headers).get_json()
        budi = next(m for m in listed if m["id"] == owing["id"])
        assert (budi["months_in_arrears"], budi["arrears_idr"]) == (2, 16_800), query
        assert (budi["months_in_arrears"], budi["arrears_idr"]) == (one["months_in_arrears"], one["arrears_idr"])
    every = client.get("/api/v1/members", headers=headers).get_json()
    assert all(m["months_in_arrears"] is not None and m["arrears_idr"] is not None for m in every)
