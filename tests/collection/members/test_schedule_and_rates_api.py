"""A member's schedule and the rate table over HTTP."""

from __future__ import annotations

import pytest

from collection.members.models import PaymentAllocation
from core.extensions import db
from core.months import Month
from payments.ledger.models import Payment
from tests.factories import nik_for


def test_the_schedule_lists_amounts_and_due_dates_past_sundays_and_holidays(client, world, enrol):
    member = enrol(sector="other")

    response = client.get(
        f"/api/v1/members/{member['id']}/schedule?from=2026-11&to=2027-01", headers=world["agent"].headers
    )

    assert response.status_code == 200
    months = {line["month"]: line for line in response.get_json()["months"]}
    # 15 November 2026 is a Sunday: due Monday the 16th; other-sector discount runs to December 2026.
    assert months["2026-11"]["due_on"] == "2026-11-16"
    assert months["2026-11"]["amount_idr"] == 8_400
    assert months["2026-11"]["discount_idr"] == 8_400
    assert months["2026-11"]["discounts"]
    assert months["2026-12"]["due_on"] == "2026-12-15"
    assert months["2027-01"]["amount_idr"] == 16_800
    assert months["2027-01"]["discounts"] == []
    assert all(line["settled"] is False for line in months.values())


def test_the_schedule_defaults_to_a_year_from_the_first_month(client, world, enrol):
    member = enrol()

    months = client.get(f"/api/v1/members/{member['id']}/schedule", headers=world["agent"].headers).get_json()["months"]

    assert [line["month"] for line in months][:2] == ["2026-11", "2026-12"]
    assert len(months) == 12


def test_the_schedule_marks_settled_months(pinned_app, client, world, enrol):
    member = enrol()
    with pinned_app.app_context():
        payment = Payment(
            member_id=member["id"], channel="cash", amount_idr=8_400, paid_on=pinned_app.config["CLOCK"]().date()
        )
        db.session.add(payment)
        db.session.flush()
        db.session.add(
            PaymentAllocation(payment_id=payment.id, member_id=member["id"], month=Month(2026, 11), amount_idr=8_400)
        )
        db.session.commit()

    months = client.get(
        f"/api/v1/members/{member['id']}/schedule?from=2026-11&to=2026-12", headers=world["agent"].headers
    ).get_json()["months"]

    assert [line["settled"] for line in months] == [True, False]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13", "from"),
        ("from=November", "from"),
        ("from=2026-05&to=2026-01", "to"),
        ("from=2000-01&to=2030-01", "to"),
        ("from=1990-01&to=1990-02", "from"),
    ],
)
def test_a_bad_schedule_range_is_a_422_naming_the_parameter(client, world, enrol, query, field):
    member = enrol()

    response = client.get(f"/api/v1/members/{member['id']}/schedule?{query}", headers=world["agent"].headers)

    assert response.status_code == 422
    assert field in response.get_json()["errors"]["query"]


def test_another_branchs_schedule_is_a_404(client, world, enrol):
    member = enrol(as_="ptk_agent", nik=nik_for("6171"))

    assert client.get(f"/api/v1/members/{member['id']}/schedule", headers=world["agent"].headers).status_code == 404


def test_the_rate_table_in_force_lists_all_33_brackets_and_that_months_discounts(client, world):
    body = client.get("/api/v1/rates?on=2026-06-10").get_json()

    assert [b["number"] for b in body["brackets"]] == list(range(1, 34))
    first, tenth, last = body["brackets"][0], body["brackets"][9], body["brackets"][32]
    assert (first["base_idr"], first["jkk_jkm_idr"], first["jht_idr"]) == (1_000_000, 16_800, 20_000)
    assert (tenth["base_idr"], tenth["jkk_jkm_idr"], tenth["jht_idr"]) == (2_950_000, 36_300, 59_000)
    assert (last["base_idr"], last["jkk_jkm_idr"], last["jht_idr"], last["income_to_idr"]) == (
        20_700_000,
        213_800,
        414_000,
        None,
    )
    assert {tuple(d["sectors"]) for d in body["discounts"]} == {("transport",), ("other",)}
    assert body["jkm_flat_idr"] == 6_800


def test_rates_outside_the_discount_periods_list_no_discounts(client, world):
    assert client.get("/api/v1/rates?on=2025-06-01").get_json()["discounts"] == []
    transport_only = client.get("/api/v1/rates?on=2027-02-01").get_json()["discounts"]
    assert [d["sectors"] for d in transport_only] == [["transport"]]


@pytest.mark.parametrize(("query", "status"), [("on=2014-01-01", 422), ("on=yesterday", 422), ("on=2026-02-30", 422)])
def test_a_bad_rates_date_is_a_422(client, world, query, status):
    response = client.get(f"/api/v1/rates?{query}")

    assert response.status_code == status
    assert "on" in response.get_json()["errors"]["query"]


@pytest.mark.parametrize(
    ("query", "indonesian"),
    [
        ("from=2026-05&to=2026-01", "tidak boleh sebelum 'from'"),
        ("from=2000-01&to=2030-01", "paling lama 120 bulan setelah 'from'"),
    ],
)
def test_a_bad_schedule_range_names_the_parameter_in_indonesian(client, world, enrol, query, indonesian):
    member = enrol()

    response = client.get(
        f"/api/v1/members/{member['id']}/schedule?{query}", headers=world["agent"].headers | {"Accept-Language": "id"}
    )

    assert response.status_code == 422
    assert response.get_json()["errors"]["query"]["to"] == [indonesian]
