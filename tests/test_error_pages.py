"""The web apps' errors are pages in the app's look and the reader's language; JSON only for who asks for it."""

from __future__ import annotations

import re

import pytest

from core.errors import DomainError
from tests.payments.finance.test_desk import login

pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize(
    ("path", "look"),
    [("/keuangan/tidak-ada", "keuangan/finance.css"), ("/agen/tidak-ada", "app.css"), ("/admin/tidak-ada", "admin")],
)
def test_a_page_that_does_not_exist_is_a_page_in_indonesian(client, path, look):
    answer = client.get(path)

    page = answer.get_data(as_text=True)
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "Halaman tidak ditemukan" in page and look in page
    assert "The requested URL" not in page


def test_json_stays_for_a_request_that_asks_for_it(client):
    answer = client.get("/keuangan/tidak-ada", headers={"Accept": "application/json"})

    assert answer.status_code == 404 and answer.get_json()["code"] == 404


def test_a_wrong_method_is_a_405_page_that_keeps_allow(client):
    answer = client.delete("/keuangan/masuk")

    assert answer.status_code == 405 and answer.mimetype == "text/html"
    assert "GET" in answer.headers["Allow"]
    assert "tidak dapat dibuka dengan cara itu" in answer.get_data(as_text=True)


def test_the_api_keeps_its_envelope(client):
    answer = client.get("/api/v1/tidak-ada")

    assert answer.status_code == 404 and answer.get_json()["code"] == 404


def test_a_refusal_or_a_bug_that_escapes_a_desk_page_is_the_desks_page(app, client, world):
    @app.get("/keuangan/uji-tolak")
    def _refused():  # a service's refusal that no page caught
        raise DomainError("Refused for a reason.")

    @app.get("/keuangan/uji-rusak")
    def _broken():
        raise RuntimeError("a bug")

    refused = client.get("/keuangan/uji-tolak")
    broken = client.get("/keuangan/uji-rusak?lang=en")

    assert refused.status_code == 422 and "Refused for a reason." in refused.get_data(as_text=True)
    assert refused.mimetype == "text/html" and "Tidak dapat diproses" in refused.get_data(as_text=True)
    assert broken.status_code == 500 and broken.mimetype == "text/html"
    assert "Something went wrong on our side" in broken.get_data(as_text=True)
    assert re.search(r"<html lang=\"en\">", broken.get_data(as_text=True))


def test_a_logged_in_clerk_sees_the_404_in_the_desks_look(client, world):
    login(client)

    missing = client.get("/keuangan/bukan-halaman")

    assert missing.status_code == 404 and "Halaman tidak ditemukan" in missing.get_data(as_text=True)
    assert "Batch harian" in missing.get_data(as_text=True)  # the way back to the desk
