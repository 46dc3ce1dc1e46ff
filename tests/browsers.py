"""Fixtures of the browser tests: Debian's Chromium driven by Playwright (one per session), the app on a live server.

tests/conftest.py imports the fixtures, so every package's browser tests share the one Chromium (a second
session fixture would start a second Playwright in the same process, which Playwright refuses)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 8.1.0; Go Edition) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36",
    "locale": "id-ID",
}

@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(pinned_app: Any) -> Iterator[str]:
    """The app served over real HTTP on loopback, in a thread of this test process."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, pinned_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, **PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
