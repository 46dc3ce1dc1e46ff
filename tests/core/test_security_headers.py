"""Security headers on every answer: one strict Content-Security-Policy (no inline script or style anywhere), no
framing, HSTS only over HTTPS; and Clear-Site-Data "cache" (never "storage") when a web session ends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from core.guards import CONTENT_SECURITY_POLICY
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parent.parent.parent
PAGES = ("/agen/masuk", "/keuangan/masuk", "/admin/masuk", "/akun/kata-sandi", "/r/AAAAAAAAAA", "/api/v1/docs")

pytestmark = pytest.mark.sqlite_only  # headers do not depend on the database


def csrf(client: Any, path: str) -> str:
    match = re.search(rb'name="csrf_token" value="([^"]+)"', client.get(path).data)
    assert match, path
    return match.group(1).decode()


def log_in(client: Any, path: str, username: str) -> None:
    answer = client.post(path, data={"csrf_token": csrf(client, path), "username": username, "password": PASSWORD})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]


@pytest.mark.parametrize("path", [*PAGES, "/api/v1/openapi.json", "/static/swagger-ui/swagger-start.js"])
def test_every_answer_has_one_strict_content_policy_that_forbids_framing(client, path):
    answer = client.get(path)
    answer.close()  # a file's answer holds it open

    policy = answer.headers["Content-Security-Policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_the_docs_page_starts_swagger_ui_from_a_file_not_an_inline_script(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)

    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all("src=" in attributes and not body.strip() for attributes, body in scripts)
    assert "/static/swagger-ui/swagger-start.js" in page
    for name in ("swagger-start.js", "swagger-ui-bundle.js"):
        answer = client.get(f"/static/swagger-ui/{name}")
        answer.close()
        assert answer.status_code == 200


def test_no_template_has_an_inline_script_style_or_event_handler():
    offending = []
    for template in ROOT.glob("*/**/templates/**/*.html"):
        if ".venv" in template.parts:
            continue
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:  # JSON data is not run
                offending.append(f"{template}: {tag}")
        offending += [f"{template}: <style>" for _ in re.findall(r"<style\b", text)]
        offending += [f"{template}: {m}" for m in re.findall(r"\s(?:style|on[a-z]+)=", text)]
    assert offending == []


def test_hsts_is_sent_over_https_only(client):
    plain = client.get("/agen/masuk")
    secure = client.get("/agen/masuk", base_url="https://localhost")
    claimed = client.get("/agen/masuk", headers={"X-Forwarded-Proto": "https"})  # no proxy is trusted

    assert "Strict-Transport-Security" not in plain.headers
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in claimed.headers


def test_hsts_believes_the_proxys_https_when_a_proxy_is_configured(database_url, redis_url, instance_path):
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "test"}
        | {"PROXY_COUNT": 1}
    )
    answer = app.test_client().get("/agen/masuk", headers={"X-Forwarded-Proto": "https"})

    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize(
    ("login", "username", "logout"),
    [
        ("/agen/masuk", "agent.pkp", "/agen/keluar"),
        ("/keuangan/masuk", "finance.pkp", "/keuangan/keluar"),
        ("/admin/masuk", "admin", "/admin/keluar"),
        ("/keuangan/masuk", "finance.pkp", "/akun/keluar"),
    ],
)
def test_logging_out_clears_the_browsers_cache_of_the_site_but_not_its_storage(client, world, login, username, logout):
    log_in(client, login, username)
    token = csrf(client, "/akun/kata-sandi")

    answer = client.post(logout, data={"csrf_token": token})

    assert answer.status_code in (302, 303)
    assert answer.headers["Clear-Site-Data"] == '"cache"'  # "storage" would wipe the forms waiting on the phone


def test_the_request_of_a_disabled_account_clears_the_cache_and_a_live_one_does_not(client, world):
    log_in(client, "/agen/masuk", "agent.pkp")
    live = client.get("/agen/")
    assert live.status_code == 200 and "Clear-Site-Data" not in live.headers

    disabled = client.post(f"/api/v1/staff/{world['agent'].id}/disable", headers=world["admin"].headers)
    assert disabled.status_code == 200, disabled.get_json()
    refused = client.get("/agen/")

    assert refused.status_code == 302 and "/agen/masuk" in refused.headers["Location"]
    assert refused.headers["Clear-Site-Data"] == '"cache"'
    assert "Clear-Site-Data" not in client.get("/agen/masuk").headers  # said once: the session is gone now
