"""End to end in a real browser: Debian's Chromium, driven by Playwright, at a phone's size, on a live server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.extensions import db
from payments.ledger.models import Payment
from tests.agents.field.conftest import CHROMIUM, PHONE
from tests.factories import PASSWORD

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def payment_count(app: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Payment)) or 0


def log_in_and_open(page: Any, member_name: str) -> None:
    page.goto("/agen/masuk")
    page.fill("input[name=username]", "agent.pkp")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/agen/")
    page.fill("input[name=q]", member_name)
    page.click(".search button")
    page.click(f".results a:has-text('{member_name}')")
    page.wait_for_selector("#pay-form")


def test_an_agent_logs_in_finds_a_member_records_three_months_and_sees_the_receipt(pinned_app, phone, enrol, tmp_path):
    enrol(name="Budi Santoso")

    log_in_and_open(phone, "Budi Santoso")
    phone.check("input[name=months][value='3']")
    phone.click("#pay-button")
    phone.wait_for_url("**/agen/kuitansi/**")

    assert phone.inner_text("#receipt-months") == "Nov 2026 – Jan 2027"
    assert phone.inner_text("#receipt-amount") == "Rp25.200"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    phone.screenshot(path=str(tmp_path / "receipt.png"), full_page=True)
    assert payment_count(pinned_app) == 1


def test_a_form_sent_with_no_connection_waits_on_the_phone_and_is_sent_when_it_returns(pinned_app, phone, enrol):
    enrol(name="Budi Santoso")
    log_in_and_open(phone, "Budi Santoso")
    phone.check("input[name=months][value='3']")

    phone.context.set_offline(True)
    phone.click("#pay-button")
    phone.wait_for_selector("[data-form-status] [data-state=waiting]")
    assert phone.is_visible("#queue-banner")
    assert payment_count(pinned_app) == 0

    phone.context.set_offline(False)
    phone.wait_for_selector("[data-form-status] [data-state=sent]")
    phone.click("[data-form-status] a")
    phone.wait_for_url("**/agen/kuitansi/**")

    assert phone.inner_text("#receipt-months") == "Nov 2026 – Jan 2027"
    assert payment_count(pinned_app) == 1
    phone.goto("/agen/antrean")
    assert phone.locator("#queue-list [data-state=sent]").count() == 1


def test_a_double_tap_records_one_payment(pinned_app, phone, enrol):
    enrol(name="Budi Santoso")
    log_in_and_open(phone, "Budi Santoso")

    phone.dblclick("#pay-button")
    phone.wait_for_url("**/agen/kuitansi/**")

    assert payment_count(pinned_app) == 1


def test_a_double_tap_with_javascript_off_still_records_one_payment(pinned_app, browser, live_server, enrol):
    enrol(name="Budi Santoso")
    context = browser.new_context(base_url=live_server, java_script_enabled=False, **PHONE)
    page = context.new_page()
    log_in_and_open(page, "Budi Santoso")

    page.dblclick("#pay-button")
    page.wait_for_url("**/agen/kuitansi/**")
    page.wait_for_load_state("networkidle")
    context.close()

    assert payment_count(pinned_app) == 1


def test_a_form_that_waited_across_a_logout_and_a_new_login_is_sent_and_booked_once(pinned_app, phone, enrol):
    enrol(name="Budi Santoso")
    log_in_and_open(phone, "Budi Santoso")
    phone.check("input[name=months][value='3']")
    phone.route("**/bayar", lambda route: route.abort())  # the payment never gets through: it waits

    phone.click("#pay-button")
    phone.wait_for_selector("[data-form-status] [data-state=waiting]")
    phone.click("header form.inline button")  # log out: the form's CSRF token dies with the session
    phone.wait_for_url("**/agen/masuk**")
    phone.fill("input[name=username]", "agent.pkp")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url("**/agen/")
    assert payment_count(pinned_app) == 0

    phone.unroute("**/bayar")
    phone.goto("/agen/antrean")
    phone.wait_for_selector("#queue-list [data-state=sent]")

    assert payment_count(pinned_app) == 1
    assert phone.locator("#queue-list [data-state=failed]").count() == 0


@pytest.mark.parametrize(
    ("lang", "shown"),
    [("id", "5 Des 2026 10.29 WIB"), ("en", "5 Dec 2026 10:29 WIB")],
)
def test_a_waiting_forms_time_is_written_in_the_pages_language_and_the_branchs_zone(
    pinned_app, browser, live_server, enrol, lang, shown
):
    enrol(name="Budi Santoso")
    # A phone set to American English in New York: the queue still says the branch's time, the app's way.
    context = browser.new_context(
        base_url=live_server, **{**PHONE, "locale": "en-US", "timezone_id": "America/New_York"}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.clock.set_fixed_time(datetime(2026, 12, 5, 3, 29, tzinfo=UTC))
    page.goto(f"/agen/masuk?lang={lang}")
    log_in_and_open(page, "Budi Santoso")
    page.route("**/bayar", lambda route: route.abort())  # the payment never gets through: it waits

    page.click("#pay-button")
    page.wait_for_selector("[data-form-status] [data-state=waiting]")
    page.goto("/agen/antrean")
    text = page.inner_text("#queue-list [data-state=waiting] [data-queued-at]")
    context.close()

    assert text.endswith(" · " + shown), text
