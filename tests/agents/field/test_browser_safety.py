"""In a real browser (Chromium): no page breaks the Content-Security-Policy, and a logout drops the phone's copies of
member pages while keeping the app shell and the forms waiting to be sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.agents.field.conftest import CHROMIUM, PHONE
from tests.agents.field.test_browser import log_in_and_open
from tests.factories import PASSWORD

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

# Every violation the page reports, gathered before any of its scripts run (an init script is not under the CSP).
WATCH_POLICY = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " + location.pathname);
});
"""


class PolicyWatch:
    """A browser context whose pages report every Content-Security-Policy violation, from events and console."""

    def __init__(self, browser: Any, base_url: str, **options: Any) -> None:
        self.context = browser.new_context(base_url=base_url, **options)
        self.context.add_init_script(WATCH_POLICY)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.console: list[str] = []
        self.page.on("console", self._console)
        self.violations: list[str] = []

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def visit(self, path: str) -> None:
        self.page.goto(path)
        self.page.wait_for_load_state("load")
        self.violations += self.page.evaluate("window.__violations || []")

    def log_in(self, path: str, username: str) -> None:
        self.visit(path)
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("load")
        self.violations += self.page.evaluate("window.__violations || []")

    def nav_links(self) -> list[str]:
        return list(self.page.eval_on_selector_all("header nav a", "links => links.map(a => a.getAttribute('href'))"))


def test_the_agents_app_runs_under_the_content_policy(pinned_app, browser, live_server, enrol):
    member = enrol(name="Budi Santoso")
    watch = PolicyWatch(browser, live_server, **PHONE)
    log_in_and_open(watch.page, "Budi Santoso")
    watch.violations += watch.page.evaluate("window.__violations")
    watch.page.check("input[name=months][value='3']")
    watch.page.click("#pay-button")
    watch.page.wait_for_url("**/agen/kuitansi/**")
    watch.violations += watch.page.evaluate("window.__violations")

    for path in ("/agen/", "/agen/cari?q=Budi", f"/agen/anggota/{member['id']}", "/agen/daftar", "/agen/setoran",
                 "/agen/antrean", "/agen/insentif"):  # fmt: skip
        watch.visit(path)
    watch.context.close()

    assert watch.violations == [] and watch.console == []


def test_the_finance_desk_the_admin_desk_and_the_api_docs_run_under_the_content_policy(
    pinned_app, browser, live_server, world
):
    finance = PolicyWatch(browser, live_server)
    finance.log_in("/keuangan/masuk", "finance.pkp")
    pages = finance.nav_links()
    assert len(pages) >= 8
    for path in pages:
        finance.visit(path)
    finance.visit("/akun/kata-sandi")
    finance.context.close()

    admin = PolicyWatch(browser, live_server)
    admin.log_in("/admin/masuk", "admin")
    assert admin.page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "flex"  # styled
    for path in admin.nav_links():
        admin.visit(path)
    admin.visit("/api/v1/docs")
    admin.page.wait_for_selector(".swagger-ui .info")  # Swagger UI started, from its script file
    admin.violations += admin.page.evaluate("window.__violations")
    admin.context.close()

    assert finance.violations == [] and finance.console == []
    assert admin.violations == [] and admin.console == []


CACHED = "url => caches.open('iuran-agen-v3').then(c => c.match(url)).then(r => !!r)"
QUEUE = "() => JSON.parse(localStorage.getItem('iuran-queue-v1') || '[]').map(i => i.state)"


def test_a_logout_drops_the_member_pages_the_phone_kept_but_not_the_shell_or_the_waiting_form(pinned_app, phone, enrol):
    member = enrol(name="Budi Santoso")
    member_page = f"/agen/anggota/{member['id']}"
    phone.goto("/agen/masuk")
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")  # the worker keeps the pages from now on
    log_in_and_open(phone, "Budi Santoso")
    phone.wait_for_function(f"() => caches.open('iuran-agen-v3').then(c => c.match('{member_page}')).then(r => !!r)")
    phone.route("**/bayar", lambda route: route.abort())  # the payment never gets through: it waits on the phone
    phone.check("input[name=months][value='3']")
    phone.click("#pay-button")
    phone.wait_for_selector("[data-form-status] [data-state=waiting]")
    phone.context.set_offline(True)
    phone.goto(member_page)  # before the logout, the kept page opens with no connection
    assert "Budi Santoso" in phone.inner_text("main") and member["kpj"] in phone.content()

    phone.context.set_offline(False)
    phone.goto("/agen/")
    phone.click("header form.inline button")  # log out
    phone.wait_for_url("**/agen/masuk**")
    phone.wait_for_function(f"() => caches.open('iuran-agen-v3').then(c => c.match('{member_page}')).then(r => !r)")
    phone.context.set_offline(True)
    phone.goto(member_page)

    assert phone.locator("#pay-form").count() == 0 and member["kpj"] not in phone.content()  # not the member's page
    assert phone.locator("#queue-list").count() == 1  # the app shell's queue page stands in
    assert phone.evaluate(QUEUE) == ["waiting"]  # the form waits for its agent's next login
    assert phone.evaluate(CACHED, "/agen/static/app.js") and phone.evaluate(CACHED, "/agen/antrean")
    assert not phone.evaluate(CACHED, "/agen/cari?q=Budi+Santoso")
