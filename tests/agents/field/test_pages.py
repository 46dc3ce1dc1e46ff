"""The agents' web app and the public receipt page, through the Flask client."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from core.extensions import db
from payments.ledger.models import Payment
from tests.factories import PASSWORD, nik_for


def csrf(client: Any, path: str = "/agen/masuk") -> str:
    page = client.get(path)
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)
    assert match, page.data[:500]
    return match.group(1).decode()


def login(client: Any, username: str = "agent.pkp", password: str = PASSWORD) -> Any:
    return client.post("/agen/masuk", data={"csrf_token": csrf(client), "username": username, "password": password})


def payments(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Payment)) or 0


def test_the_app_speaks_bahasa_indonesia_by_default_and_english_on_request(client, world):
    assert "Kata sandi" in client.get("/agen/masuk").get_data(as_text=True)
    english = client.get("/agen/masuk?lang=en")
    assert "Password" in english.get_data(as_text=True)
    assert "Password" in client.get("/agen/masuk").get_data(as_text=True)  # the choice is remembered


def test_pages_need_a_login(client, world):
    response = client.get("/agen/")

    assert response.status_code == 302
    assert "/agen/masuk" in response.headers["Location"]


def test_a_wrong_password_is_refused_and_the_sixth_try_is_throttled(client, world):
    statuses = [login(client, password="wrong").status_code for _ in range(6)]

    assert statuses == [401] * 5 + [429]
    assert login(client).status_code == 429  # even the right password waits out the window


def test_a_login_without_the_forms_token_is_refused(client, world):
    response = client.post("/agen/masuk", data={"username": "agent.pkp", "password": PASSWORD})

    assert response.status_code == 400
    assert client.get("/agen/").status_code == 302


def test_the_app_is_for_agents(client, world):
    assert login(client, "supervisor.pkp").status_code == 403


def test_an_agent_records_cash_and_a_resubmitted_form_makes_one_payment(pinned_app, client, world, enrol):
    member = enrol()
    login(client)
    page = client.get(f"/agen/anggota/{member['id']}").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "idempotency_key": key, "months": "3"}

    first = client.post(f"/agen/anggota/{member['id']}/bayar", data=form)
    again = client.post(f"/agen/anggota/{member['id']}/bayar", data=form)

    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert payments(pinned_app) == 1
    receipt = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Rp25.200" in receipt and "Nov 2026 – Jan 2027" in receipt


def test_the_javascript_path_gets_json_with_the_receipt_url(client, world, enrol):
    member = enrol()
    login(client)
    token = csrf(client, f"/agen/anggota/{member['id']}")
    form = {"csrf_token": token, "idempotency_key": str(uuid.uuid4()), "months": "1"}
    headers = {"Accept": "application/json"}

    first = client.post(f"/agen/anggota/{member['id']}/bayar", data=form, headers=headers)
    again = client.post(f"/agen/anggota/{member['id']}/bayar", data=form, headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["receipt_url"] == again.get_json()["receipt_url"]
    assert again.get_json()["created"] is False


def test_a_form_without_its_token_records_nothing(pinned_app, client, world, enrol):
    member = enrol()
    login(client)

    response = client.post(
        f"/agen/anggota/{member['id']}/bayar", data={"idempotency_key": str(uuid.uuid4()), "months": "1"}
    )

    assert response.status_code == 302
    assert payments(pinned_app) == 0


def test_another_branchs_member_is_not_found(client, world, enrol):
    other = enrol(as_="ptk_agent", nik=nik_for("6171"))
    login(client)

    assert client.get(f"/agen/anggota/{other['id']}").status_code == 404


def test_enrolment_errors_are_shown_in_the_agents_language(client, world):
    login(client)
    token = csrf(client, "/agen/daftar")
    form = {
        "csrf_token": token,
        "nik": "1971",
        "name": "Budi",
        "occupation": "nelayan",
        "sector": "other",
        "declared_income_idr": "1.500.000",
        "package": "JKK+JKM",
        "phone": "021 555",
    }

    response = client.post("/agen/daftar", data=form)

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "NIK harus 16 angka" in page
    assert "Tulis nomor HP yang dimulai 08" in page
    assert 'value="1.500.000"' in page  # what was typed is kept


@pytest.mark.parametrize(
    ("lang", "nik_message", "phone_message"),
    [
        (
            "id",
            "NIK dimulai dengan 99, yang bukan kode provinsi (misalnya 32 untuk Jawa Barat).",
            "021 555 adalah nomor telepon rumah, bukan nomor HP",
        ),
        (
            "en",
            "The NIK starts with 99, which is not a province code (e.g. 32 is Jawa Barat).",
            "021 555 is a landline, not a mobile number",
        ),
    ],
)
def test_the_services_enrolment_errors_are_worded_in_the_readers_language(
    client, world, lang, nik_message, phone_message
):
    login(client)
    token = csrf(client, f"/agen/daftar?lang={lang}")
    form = {
        "csrf_token": token,
        "nik": "9971011208900001",
        "name": "Budi",
        "occupation": "nelayan",
        "sector": "other",
        "declared_income_idr": "1500000",
        "package": "JKK+JKM",
        "phone": "021 555",
    }

    page = client.post("/agen/daftar", data=form).get_data(as_text=True)

    assert nik_message in page and phone_message in page
    assert ("province" in page) == (lang == "en")  # no English detail in parentheses on the Indonesian form


def test_a_birth_date_that_disagrees_with_the_nik_is_said_in_indonesian(client, world):
    login(client)
    token = csrf(client, "/agen/daftar")
    form = {
        "csrf_token": token,
        "nik": nik_for(female=True),
        "name": "Siti",
        "occupation": "pedagang",
        "sector": "other",
        "declared_income_idr": "1500000",
        "package": "JKK+JKM",
        "birth_date": "1990-01-13",
    }

    page = client.post("/agen/daftar", data=form).get_data(as_text=True)

    assert "Menurut NIK, tanggal lahirnya 12-01-1990, tetapi yang diisi 13-01-1990." in page
    assert "entered" not in page and "KTP card" not in page


def test_an_agent_enrols_a_member_from_the_form(client, world):
    login(client)
    token = csrf(client, "/agen/daftar")
    form = {
        "csrf_token": token,
        "nik": nik_for(),
        "name": "siti aminah",
        "occupation": "pedagang",
        "sector": "other",
        "declared_income_idr": "1.500.000",
        "package": "JKK+JKM",
    }

    response = client.post("/agen/daftar", data=form)

    assert response.status_code == 303
    member_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Siti Aminah" in member_page and "Rp11.400" in member_page  # bracket 4, halved in Nov 2026


def test_the_home_page_and_a_deposit(client, world, enrol):
    member = enrol()
    login(client)
    token = csrf(client, f"/agen/anggota/{member['id']}")
    client.post(
        f"/agen/anggota/{member['id']}/bayar",
        data={"csrf_token": token, "idempotency_key": str(uuid.uuid4()), "months": "1"},
    )
    home = client.get("/agen/").get_data(as_text=True)
    assert 'id="cash-on-hand">Rp8.400' in home

    page = client.get("/agen/setoran").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    saved = client.post(
        "/agen/setoran",
        data={"csrf_token": token, "idempotency_key": key, "amount_idr": "8.400", "bank_reference": "BRI-1"},
    )

    assert saved.status_code == 303
    assert 'id="cash-on-hand">Rp0' in client.get("/agen/").get_data(as_text=True)


def test_pages_stay_small_for_slow_3g(client, world, enrol):
    member = enrol()
    login(client)

    sizes = {path: len(client.get(path).data) for path in ("/agen/", f"/agen/anggota/{member['id']}", "/agen/daftar")}
    script = client.get("/agen/static/app.js")
    style = client.get("/agen/static/app.css")

    assert max(sizes.values()) < 8_000, sizes
    assert script.status_code == style.status_code == 200
    assert len(script.data) + len(style.data) < 16_000
    script.close()
    style.close()


def test_the_service_worker_is_served_with_the_apps_scope(client):
    response = client.get("/agen/sw.js")

    assert response.status_code == 200
    assert response.headers["Service-Worker-Allowed"] == "/agen/"
    assert "javascript" in response.headers["Content-Type"]
    response.close()


def receipt_for(client: Any, world: dict[str, Any], member_id: int) -> dict[str, Any]:
    response = client.post(
        "/api/v1/contributions",
        json={"member_id": member_id, "months": 3},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    return response.get_json()


def test_the_public_receipt_page_shows_the_payment_and_nothing_else_about_the_member(client, world, enrol):
    member = enrol()
    receipt = receipt_for(client, world, member["id"])

    page = client.get(f"/r/{receipt['verification_code'].lower()}")

    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Rp25.200" in text and "Nov 2026 – Jan 2027" in text
    assert "B*** S******" in text
    assert "Budi" not in text and member["nik"] not in text and member["kpj"] not in text
    assert "Belum disetor" in text
    assert page.headers["Cache-Control"] == "no-store"


def test_the_public_receipt_page_says_when_the_cash_is_deposited_and_when_it_was_reversed(client, world, enrol):
    member = enrol()
    receipt = receipt_for(client, world, member["id"])
    client.post(
        "/api/v1/deposits",
        json={"amount_idr": receipt["amount_idr"], "bank_reference": "BRI-9"},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert "Sudah disetor" in client.get(f"/r/{receipt['verification_code']}").get_data(as_text=True)

    client.post(
        f"/api/v1/contributions/{receipt['payment_id']}/reversal",
        json={"reason": "wrong member"},
        headers=world["supervisor"].headers,
    )

    assert "DIBATALKAN" in client.get(f"/r/{receipt['verification_code']}").get_data(as_text=True)


@pytest.mark.parametrize("code", ["AAAAAAAAAA", "short", "'; drop table receipts; --"])
def test_an_unknown_receipt_code_is_a_404(client, world, code):
    assert client.get(f"/r/{code}").status_code == 404


def test_receipt_lookups_are_rate_limited(pinned_app, client, world):
    pinned_app.config["RECEIPT_LOOKUPS_PER_MINUTE"] = 3

    statuses = [client.get("/r/AAAAAAAAAA").status_code for _ in range(4)]

    assert statuses == [404, 404, 404, 429]
