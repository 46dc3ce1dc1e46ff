"""Finance's desk in a real browser (Chromium) at 1366×768, in Indonesian: every page fits the screen's width, no
table row runs on for lines, no glyph a desktop font may lack; the clean batches approved in one click; the
proposal form shows the chosen action's fields only; an address that does not exist is the desk's own page (and
the agents' app's own page on a phone)."""

from __future__ import annotations

# ruff: noqa: F811  (the tests take test_desk's ``day`` fixture, imported)
from pathlib import Path
from typing import Any

import pytest

from commands.demo import DEMO_PASSWORD
from tests.agents.field.conftest import CHROMIUM, PHONE
from tests.factories import PASSWORD
from tests.payments.finance.test_desk import DAY, batch_id, code, day, deposit  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
    pytest.mark.sqlite_only,
]

DESKTOP = {"viewport": {"width": 1366, "height": 768}, "locale": "id-ID"}
TALLEST_ROW = 170  # px: about eight lines of the table's text; the batch rows ran to 300 (twenty lines)
# Emoji and pictographs: a desktop without a colour-emoji font draws an empty box.
NO_EMOJI = (
    "() => /[\\u{1F000}-\\u{1FAFF}\\u{2600}-\\u{27BF}\\u{2B00}-\\u{2BFF}\\u{FE0F}]/u.test(document.body.innerText)"
)
TALL_ROWS = """limit => Array.from(document.querySelectorAll('tr'))
  .filter(r => r.getBoundingClientRect().height > limit)
  .map(r => Math.round(r.getBoundingClientRect().height) + 'px: ' + r.innerText.slice(0, 60))"""


def desk(browser: Any, base_url: str, username: str, password: str) -> Any:
    context = browser.new_context(base_url=base_url, **DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/keuangan/masuk")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    return page


def layout_faults(page: Any, path: str) -> list[str]:
    page.goto(path)
    faults = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 1366:
        faults.append(f"{path}: {width} px wide")
    faults += [f"{path}: row {row}" for row in page.evaluate(TALL_ROWS, TALLEST_ROW)]
    if page.evaluate(NO_EMOJI):
        faults.append(f"{path}: an emoji")
    return faults


@pytest.fixture
def demo_server(demo_app: Any) -> Any:
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_every_desk_page_fits_1366_pixels_with_short_rows_and_no_emoji(browser, demo_server):
    page = desk(browser, demo_server, "finance.pkp", DEMO_PASSWORD)
    paths = page.eval_on_selector_all("header nav a", "links => links.map(a => a.getAttribute('href'))")
    assert len(paths) >= 10
    page.goto("/keuangan/batch?date=2026-12-02")
    paths += ["/keuangan/batch?date=2026-12-02", "/keuangan/batch?date=2026-12-03", "/keuangan/tidak-ada"]
    paths += page.eval_on_selector_all("a[href^='/keuangan/batch/']", "a => a.map(x => x.getAttribute('href'))")[:2]

    faults = [fault for path in paths for fault in layout_faults(page, path)]

    assert faults == []
    page.context.close()


def test_the_clean_batches_are_approved_in_one_click(browser, live_server, day):
    page = desk(browser, live_server, "finance.pkp", PASSWORD)
    page.goto(f"/keuangan/batch?date={DAY}")

    page.click("#approve-clean button")
    page.wait_for_load_state("load")

    assert "1 batch bersih disetujui dan dikunci; 2 lagi diperiksa satu per satu." in page.inner_text("main")
    assert page.locator("#approve-clean").count() == 0
    assert page.locator(f"tr[data-agent='{code(day, 'agent_c')}'] .badge").inner_text() == "Disetujui"
    page.context.close()


def test_the_proposal_form_shows_the_chosen_actions_fields_only(browser, live_server, day):
    page = desk(browser, live_server, "finance.pkp", PASSWORD)
    page.goto("/keuangan/mutasi")
    deposit_list = page.locator("details[data-action=deposit] select[name=deposit_id]")
    provider = page.locator("details[data-action=settlement] select[name=provider]")
    assert not deposit_list.is_visible() and not provider.is_visible()  # a choice of three actions, no fields

    page.click("details[data-action=deposit] summary")

    assert deposit_list.is_visible() and not provider.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.click("details[data-action=ignore] summary")
    page.fill("details[data-action=ignore] input[name=reason]", "Transfer APBD, bukan setoran agen")
    page.click("details[data-action=ignore] button")
    page.wait_for_load_state("load")
    assert "Usulan tersimpan" in page.inner_text("main")
    page.context.close()


def test_an_address_that_does_not_exist_is_the_desks_page_in_indonesian(browser, live_server, day):
    page = desk(browser, live_server, "finance.pkp", PASSWORD)

    answer = page.goto("/keuangan/bukan-halaman")

    assert answer.status == 404
    assert "Halaman tidak ditemukan" in page.inner_text("main")
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "flex"  # the desk's look
    page.context.close()


def test_on_a_phone_the_agents_app_shows_its_own_404_page_in_indonesian(browser, live_server):
    context = browser.new_context(base_url=live_server, **PHONE)
    page = context.new_page()

    answer = page.goto("/agen/tidak-ada")

    assert answer.status == 404 and "Halaman tidak ditemukan" in page.inner_text("main")
    assert page.locator("a.button", has_text="Kembali ke beranda").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()


def test_a_short_deposit_is_corrected_at_the_desk_and_the_agent_deposits_the_difference_from_his_phone(
    browser, live_server, day, client
):
    """Finance at 1366 px corrects agent B's deposit (5.000 short at the bank) to what the bank credited and returns
    the day; agent B, on a 360-px phone, sees the correction on the returned day and answers it with the difference."""
    banked = day["amounts"]["agent_b"] - 5_000
    page = desk(browser, live_server, "finance.pkp", PASSWORD)
    page.goto(f"/keuangan/batch/{batch_id(client.application, day, 'agent_b')}")
    form = page.locator(f"#correct-{day['deposit_b']['id']}")
    assert form.locator("input[name=amount_idr]").input_value() == str(banked)  # what the bank credited

    form.locator("button").click()
    page.wait_for_load_state("load")
    assert "Setoran dikoreksi" in page.inner_text("main")
    assert page.locator(f"#correct-{day['deposit_b']['id']}").count() == 0  # nothing short any more
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.fill("#return-form textarea[name=reason]", "Setor selisih Rp5.000")
    page.click("#return-form button")
    page.wait_for_load_state("load")
    page.context.close()

    phone = browser.new_context(base_url=live_server, **PHONE).new_page()
    phone.set_default_timeout(15_000)
    phone.goto("/agen/masuk")
    phone.fill("input[name=username]", "agent.b")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url("**/agen/")
    phone.click("a.answer-link")
    notice = phone.inner_text("main")
    assert "dikoreksi keuangan" in notice and "Rp5.000" in notice  # what was declared, what the bank credited
    phone.fill("textarea[name=note]", "Selisih sudah saya setor")
    phone.fill("input[name=amount_idr]", "5.000")
    phone.fill("input[name=bank_reference]", "BRI-SELISIH")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.click("#answer-button")
    phone.wait_for_url("**/agen/")
    phone.context.close()

    batches = client.get(
        f"/api/v1/branches/{day['pkp']}/batches", query_string={"date": str(DAY)}, headers=day["finance"].headers
    ).get_json()
    [agent_b] = [b for b in batches if b["id"] == batch_id(client.application, day, "agent_b")]
    assert agent_b["status"] == "closed" and agent_b["figures"]["variances"] == []
    assert (agent_b["figures"]["deposited_idr"], agent_b["figures"]["banked_idr"]) == (banked, banked)


def test_the_import_report_names_the_skipped_credits_and_a_reused_slip_is_warned_on_the_batch(
    browser, live_server, day, client
):
    """At 1366 px, in Indonesian: a statement uploaded through the form reports the credit it skipped and why; a
    deposit declared on another agent's slip is recorded and warned on that agent's batch."""
    deposit(client, day["agent"], day["amounts"]["agent"], " bri-7781")  # A deposits his cash on B's slip
    page = desk(browser, live_server, "finance.pkp", PASSWORD)
    page.goto("/keuangan/mutasi")
    statement = "date,description,reference,amount\n2026-11-20,BUNGA,,1234.56\n2026-11-20,SETORAN LAIN,,25000\n"
    page.set_input_files(
        "input[name=file]", files=[{"name": "mutasi.csv", "mimeType": "text/csv", "buffer": statement.encode()}]
    )
    page.click("form.row-form button[type=submit]")
    page.wait_for_load_state("load")

    skipped = page.inner_text("#report-skipped")
    assert skipped.startswith("1 ") and "kredit bersen, misalnya bunga bank" in skipped
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.goto(f"/keuangan/batch/{batch_id(client.application, day, 'agent_b')}")
    warning = page.inner_text(".shared-reference")
    assert code(day, "agent") in warning and "satu slip untuk dua setoran" in warning
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.context.close()


def test_the_arrears_page_shows_rupiah_per_bucket_and_whom_to_chase_within_1366_pixels(browser, demo_server):
    page = desk(browser, demo_server, "finance.pkp", DEMO_PASSWORD)
    page.goto("/keuangan/tunggakan")

    owed = page.locator("#ageing td.owed").all_inner_texts()
    assert owed and all(text.startswith("Rp") for text in owed) and any(text != "Rp0" for text in owed)
    groups = page.locator("tbody.chase-group")
    assert groups.count() >= 1 and page.locator("tbody.chase-group tr[data-kpj]").count() >= 1
    assert "Daftar tagih" in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.context.close()
