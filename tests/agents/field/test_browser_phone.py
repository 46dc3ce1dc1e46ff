"""The agent's phone (issue 15) in a real browser at 360×740, in Indonesian: why a choice costs what it costs, the
receipt printed and shared, member names at home, the deposit and a hung send in the offline queue, a returned day
answered, every enrolment error at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.extensions import db
from payments.ledger.models import DailyBatch, Deposit
from tests.agents.field.conftest import CHROMIUM
from tests.agents.field.test_browser import log_in_and_open, payment_count
from tests.factories import PASSWORD
from tests.payments.finance.test_batches import DAY, pay

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

PHONE_SAYS_OFFLINE = "Object.defineProperty(Navigator.prototype, 'onLine', {get: function () { return false; }});"


def log_in(page: Any) -> None:
    page.goto("/agen/masuk")
    page.fill("input[name=username]", "agent.pkp")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/agen/")


def deposit_count(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Deposit)) or 0


def test_each_choice_shows_its_months_and_why_they_cost_that(pinned_app, phone, enrol):
    enrol(name="Budi Santoso")
    log_in_and_open(phone, "Budi Santoso")
    assert phone.is_visible("ul.breakdown[data-months='1']")  # the first choice is chosen
    assert not phone.is_visible("ul.breakdown[data-months='12']")

    phone.check("input[name=months][value='12']")
    lines = phone.locator("ul.breakdown[data-months='12'] li").all_inner_texts()

    assert [" ".join(line.split()) for line in lines] == [
        "Nov 2026 – Mar 2027: 5 × Rp8.400 · diskon 50% JKK + JKM s.d. Mar 2027",
        "Apr 2027 – Okt 2027: 7 × Rp16.800 · tarif penuh",
    ]
    assert not phone.is_visible("ul.breakdown[data-months='1']")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360


def test_the_receipt_prints_only_itself_and_shares_to_whatsapp(pinned_app, phone, enrol):
    enrol(name="Budi Santoso", phone="0812-3456-7890")
    phone.add_init_script("window.printed = 0; window.print = function () { window.printed += 1; };")
    log_in_and_open(phone, "Budi Santoso")
    phone.click("#pay-button")
    phone.wait_for_url("**/agen/kuitansi/**")

    phone.click("text=Cetak kuitansi")
    href = phone.get_attribute("#share-whatsapp", "href")
    phone.emulate_media(media="print")

    assert phone.evaluate("window.printed") == 1
    assert href.startswith("https://wa.me/6281234567890?text=BPJS%20Ketenagakerjaan%3A%20iuran%20Rp8.400")
    assert phone.is_visible("#receipt")
    assert not phone.is_visible("header") and not phone.is_visible("#share-whatsapp")


def test_the_home_page_names_the_member_of_each_receipt(pinned_app, phone, enrol):
    enrol(name="Budi Santoso")
    log_in_and_open(phone, "Budi Santoso")
    phone.click("#pay-button")
    phone.wait_for_url("**/agen/kuitansi/**")

    phone.goto("/agen/")

    assert phone.inner_text("#today-payments li .member-name") == "Budi Santoso"


def test_a_deposit_with_no_connection_waits_on_the_phone_and_is_recorded_once(pinned_app, phone, enrol):
    enrol(name="Budi Santoso")
    log_in_and_open(phone, "Budi Santoso")
    phone.click("#pay-button")
    phone.wait_for_url("**/agen/kuitansi/**")
    phone.goto("/agen/setoran")
    phone.fill("input[name=bank_reference]", "BRI-2211")

    phone.context.set_offline(True)
    phone.click("#deposit-button")
    phone.wait_for_selector("[data-form-status] [data-state=waiting]")
    assert deposit_count(pinned_app) == 0
    phone.context.set_offline(False)
    phone.wait_for_selector("[data-form-status] [data-state=sent]")

    assert deposit_count(pinned_app) == 1
    assert "Setoran BRI-2211" in phone.inner_text("[data-form-status]")


def test_a_form_is_sent_though_the_phone_says_offline_and_a_send_that_hangs_waits_and_goes_later(
    pinned_app, phone, enrol
):
    enrol(name="Budi Santoso")
    phone.add_init_script(PHONE_SAYS_OFFLINE + " window.iuranSendTimeoutMs = 1500;")
    log_in_and_open(phone, "Budi Santoso")
    assert phone.evaluate("navigator.onLine") is False

    phone.click("#pay-button")  # only a local link: the flag says offline, the server answers
    phone.wait_for_url("**/agen/kuitansi/**")
    assert payment_count(pinned_app) == 1

    phone.go_back()
    phone.reload()
    phone.route("**/bayar", lambda route: None)  # the send gets no answer at all
    phone.click("#pay-button")
    phone.wait_for_selector("[data-form-status] [data-state=waiting]")
    phone.unroute("**/bayar")
    phone.wait_for_selector("[data-form-status] [data-state=sent]", timeout=30_000)

    assert payment_count(pinned_app) == 2


def test_a_day_finance_returned_is_answered_from_the_phone(pinned_app, client, world, phone, enrol):
    member = enrol(name="Budi Santoso")
    pay(client, world["agent"], member["id"], months=1, paid_on=DAY)
    finance = world["finance"].headers
    client.post(f"/api/v1/branches/{world['pkp']}/batches/close", json={"date": str(DAY)}, headers=finance)
    batch = client.get(f"/api/v1/branches/{world['pkp']}/batches?date={DAY}", headers=finance).get_json()[0]
    client.post(f"/api/v1/batches/{batch['id']}/return", json={"reason": "Slip hilang"}, headers=finance)
    log_in(phone)

    assert "Keuangan mengembalikan setoran tanggal" in phone.inner_text("main")
    phone.click("a.answer-link")
    phone.fill("textarea[name=note]", "Sudah saya setor hari ini")
    phone.fill("input[name=amount_idr]", "8.400")
    phone.fill("input[name=bank_reference]", "BRI-SUSULAN")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.click("#answer-button")
    phone.wait_for_url("**/agen/")

    assert "Jawaban Anda sudah dikirim ke keuangan" in phone.inner_text(".flash")
    assert "Keuangan mengembalikan" not in phone.inner_text("main")
    with pinned_app.app_context():
        assert db.session.get(DailyBatch, batch["id"]).status == "closed"
    assert deposit_count(pinned_app) == 1


def test_enrolment_shows_every_bad_field_at_once(pinned_app, phone, world):
    log_in(phone)
    phone.goto("/agen/daftar")
    phone.fill("input[name=nik]", "1971015507900")
    phone.fill("input[name=name]", "1")
    phone.fill("input[name=phone]", "12345")
    phone.fill("input[name=occupation]", "pedagang")
    phone.fill("input[name=declared_income_idr]", "satu juta")
    phone.click("button[type=submit]")
    phone.wait_for_selector("p.error[data-field]")

    fields = phone.eval_on_selector_all("p.error[data-field]", "els => els.map(e => e.dataset.field)")
    assert sorted(fields) == ["declared_income_idr", "name", "nik", "phone"]
    assert "1.500.000 atau 1500000" in phone.inner_text("p.error[data-field=declared_income_idr]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
