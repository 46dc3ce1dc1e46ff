"""The agent's phone (issue 15): why a month costs what it costs, the receipt to print and share, member names on
the home page, the deposit through app.js, enrolment errors all at once. Through the Flask client."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from core.extensions import db
from payments.ledger.models import Deposit
from tests.agents.field.test_pages import csrf, login
from tests.factories import NOW, nik_for

JSON = {"Accept": "application/json"}


def breakdown(page: str, months: int) -> list[str]:
    block = re.search(rf'<ul class="breakdown small" data-months="{months}">(.*?)</ul>', page, re.S)
    assert block, page
    return [" ".join(re.sub(r"<[^>]+>", "", li).split()) for li in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)]


def test_each_choice_shows_its_months_with_the_discount_that_ends_and_the_full_rate_after(client, world, enrol):
    member = enrol()  # an ojek driver: PP 50/2025 halves JKK and JKM for transport to March 2027
    login(client)

    page = client.get(f"/agen/anggota/{member['id']}").get_data(as_text=True)

    assert breakdown(page, 1) == ["Nov 2026: 1 × Rp8.400 · diskon 50% JKK + JKM s.d. Mar 2027"]
    assert breakdown(page, 12) == [
        "Nov 2026 – Mar 2027: 5 × Rp8.400 · diskon 50% JKK + JKM s.d. Mar 2027",
        "Apr 2027 – Okt 2027: 7 × Rp16.800 · tarif penuh",
    ]


def test_a_member_in_arrears_sees_the_owed_months_paid_first(pinned_app, client, world, enrol):
    pinned_app.config["CLOCK"] = lambda: NOW - timedelta(days=52)  # enrolled 1 October: October and November owed
    member = enrol()
    pinned_app.config["CLOCK"] = lambda: NOW
    login(client)

    page = client.get(f"/agen/anggota/{member['id']}").get_data(as_text=True)

    assert breakdown(page, 3) == [
        "Okt 2026 – Nov 2026: 2 × Rp8.400 · tunggakan, dibayar lebih dulu · diskon 50% JKK + JKM s.d. Mar 2027",
        "Des 2026: 1 × Rp8.400 · diskon 50% JKK + JKM s.d. Mar 2027",
    ]


def pay(client: Any, member_id: int, months: str = "3") -> str:
    token = csrf(client, f"/agen/anggota/{member_id}")
    response = client.post(
        f"/agen/anggota/{member_id}/bayar",
        data={"csrf_token": token, "idempotency_key": str(uuid.uuid4()), "months": months},
    )
    assert response.status_code == 303
    return response.headers["Location"]


def test_the_receipt_shares_to_whatsapp_with_the_sms_text_and_prints(pinned_app, client, world, enrol):
    member = enrol(phone="0812-3456-7890")
    login(client)

    page = client.get(pay(client, member["id"])).get_data(as_text=True)

    link = re.search(r'id="share-whatsapp" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    code = re.search(r'id="verification-code">([^<]+)<', page).group(1)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", "/6281234567890")
    text = parse_qs(parts.query)["text"][0]
    assert text.startswith("BPJS Ketenagakerjaan: iuran Rp25.200 untuk 2026-11 s.d. 2027-01 diterima.")
    assert text.endswith(f"/r/{code}")
    assert re.search(
        r'<button type="button" class="secondary" id="print-receipt" data-print>Cetak kuitansi</button>', page
    )
    stylesheet = client.get("/agen/static/app.css")
    css = stylesheet.get_data(as_text=True)
    stylesheet.close()
    assert "@media print{header,nav" in css


def test_the_home_page_names_the_member_of_each_receipt(client, world, enrol):
    member = enrol(name="siti rahma")
    login(client)
    pay(client, member["id"], "1")

    home = client.get("/agen/").get_data(as_text=True)

    assert re.search(r'today-payments">\s*<li><a [^>]+>[^<]+</a> · <span class="member-name">Siti Rahma</span>', home)


def deposits(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Deposit)) or 0


def test_a_deposit_sent_by_app_js_gets_json_and_a_resend_is_the_same_deposit(pinned_app, client, world, enrol):
    member = enrol()
    login(client)
    pay(client, member["id"], "1")
    page = client.get("/agen/setoran").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "idempotency_key": key, "amount_idr": "8.400", "bank_reference": "BRI-9"}

    first = client.post("/agen/setoran", data=form, headers=JSON)
    again = client.post("/agen/setoran", data=form, headers=JSON)
    too_much = client.post(
        "/agen/setoran", data=form | {"idempotency_key": str(uuid.uuid4()), "amount_idr": "9000000"}, headers=JSON
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == {"next_url": "/agen/", "number": "BRI-9", "created": True}
    assert 'data-queue="Setoran"' in page
    assert too_much.status_code == 422 and too_much.get_json()["message"]
    assert deposits(pinned_app) == 1


def enrolment_form(token: str, **fields: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "nik": nik_for(),
        "name": "siti aminah",
        "occupation": "pedagang",
        "sector": "other",
        "declared_income_idr": "1500000",
        "package": "JKK+JKM",
    }
    return form | fields


def test_enrolment_reports_every_bad_field_at_once_with_its_own_message(client, world):
    login(client)
    form = enrolment_form(
        csrf(client, "/agen/daftar"), nik="1971015507900", name="1", declared_income_idr="satu juta", phone="12345"
    )

    response = client.post("/agen/daftar", data=form)

    page = response.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="error" data-field="([^"]+)">([^<]+)</p>', page))
    assert response.status_code == 422
    assert set(errors) == {"nik", "name", "phone", "declared_income_idr"}
    assert errors["nik"].startswith("NIK harus 16 angka")
    assert errors["name"] == "Tulis nama lengkap sesuai KTP, dengan huruf (2 sampai 120 karakter)."
    assert "Isian tidak valid" not in page
    assert errors["declared_income_idr"] == (
        "Tulis penghasilan per bulan dalam rupiah, boleh dengan atau tanpa titik: 1.500.000 atau 1500000."
    )


def test_income_is_taken_with_or_without_thousands_dots(client, world):
    login(client)
    plain = client.post("/agen/daftar", data=enrolment_form(csrf(client, "/agen/daftar"), nik=nik_for(serial=71)))
    dotted = client.post(
        "/agen/daftar",
        data=enrolment_form(csrf(client, "/agen/daftar"), nik=nik_for(serial=72), declared_income_idr="1.500.000"),
    )

    assert plain.status_code == dotted.status_code == 303


def test_the_api_reports_a_short_nik_and_a_bad_phone_with_the_other_bad_fields(client, world):
    body = {
        "nik": "1971015507900",
        "name": "1",
        "phone": "12345",
        "occupation": "pedagang",
        "sector": "other",
        "declared_income_idr": "1.500.000",
        "package": "JKK+JKM",
    }

    response = client.post("/api/v1/members", json=body, headers=world["agent"].headers)

    errors = response.get_json()["errors"]["json"]
    assert response.status_code == 422
    assert set(errors) == {"nik", "name", "phone", "declared_income_idr"}
    assert "16 digits" in errors["nik"][0] and "you typed 13" in errors["nik"][0]
    assert "12345" in errors["phone"][0]
