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
from tests.payments.finance.test_desk import DAY, code, day  # noqa: F401

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
