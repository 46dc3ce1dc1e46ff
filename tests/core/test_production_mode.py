"""IURAN_ENV=production: every process refuses settings fit only for a developer's machine, naming each at once."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from core import settings

ROOT = Path(__file__).resolve().parent.parent.parent
FLASK = str(Path(sys.executable).parent / "flask")

# Everything production asks for; each test takes one away or spoils it.
GOOD = {
    "IURAN_ENV": "production",
    "SECRET_KEY": "k4Qv9-Zr2mXw8LpT1sBn7YcH3dFj6GeR5uAo",
    "DATABASE_URL": "postgresql://iuran@127.0.0.1:1/iuran",  # never connected to: `flask routes` needs no database
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "PUBLIC_BASE_URL": "https://iuran.example.id/",
    "MIDTRANS_SERVER_KEY": "Mid-server-real",
    "SANDBOX_WEBHOOK_SECRET": "a-real-webhook-secret",
    "SANDBOX_API_KEY": "a-real-api-key",
}
# The variables that change what the app sees, cleared before each test sets its own.
SETTINGS = (
    *GOOD,
    "SESSION_COOKIE_SECURE",
    "IURAN_BENCH",
    "FLASK_DEBUG",
    "PORT",
    "MIDTRANS_SERVER_KEY_PREVIOUS",
    "SANDBOX_WEBHOOK_SECRET_PREVIOUS",
)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Set this process's environment to GOOD with some changes (None removes a variable)."""
    monkeypatch.setattr(settings, "INSTANCE", tmp_path)
    monkeypatch.setenv("IURAN_INSTANCE", str(tmp_path))

    def set_to(**changes: str | None) -> dict[str, str]:
        for name in SETTINGS:
            monkeypatch.delenv(name, raising=False)
        values = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        return values

    return set_to


# What production refuses when started with the defaults (and IURAN_BENCH=1, SESSION_COOKIE_SECURE=0).
UNSAFE_DEFAULTS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "PUBLIC_BASE_URL",
    "SESSION_COOKIE_SECURE",
    "IURAN_BENCH",
    "MIDTRANS_SERVER_KEY",
    "SANDBOX_WEBHOOK_SECRET",
    "SANDBOX_API_KEY",
)


def test_production_starts_with_every_setting_it_asks_for(environment):
    environment()
    app = create_app()

    assert app.config["IURAN_ENV"] == "production"
    assert app.config["PUBLIC_BASE_URL"] == "https://iuran.example.id"  # no trailing slash to double


def test_production_refuses_the_defaults_naming_every_problem_at_once(environment):
    environment(
        SECRET_KEY=None,
        DATABASE_URL=None,
        REDIS_URL=None,
        PUBLIC_BASE_URL=None,
        MIDTRANS_SERVER_KEY=None,
        SANDBOX_WEBHOOK_SECRET=None,
        SANDBOX_API_KEY=None,
        SESSION_COOKIE_SECURE="0",
        IURAN_BENCH="1",
    )
    with pytest.raises(settings.Misconfigured) as refused:
        create_app()

    message = str(refused.value)
    for name in UNSAFE_DEFAULTS:
        assert f"  - {name}" in message, name
    assert message.count("\n  - ") == 9


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"SECRET_KEY": "short-but-not-default"}, "SECRET_KEY: 21 characters"),
        ({"SECRET_KEY": settings.DEVELOPMENT_SECRET_KEY}, "SECRET_KEY: not set"),
        ({"SECRET_KEY": " " * 40}, "SECRET_KEY: 0 characters"),  # a forged session is signed with it at once
        ({"SECRET_KEY": " short-but-not-default" + " " * 20}, "SECRET_KEY: 21 characters"),
        ({"SECRET_KEY": "k" * 40}, "SECRET_KEY: 1 different characters"),
        ({"SECRET_KEY": "changeme" * 4}, "SECRET_KEY: 7 different characters"),
        ({"DATABASE_URL": "sqlite:////var/lib/iuran/iuran.db"}, "DATABASE_URL"),
        ({"PUBLIC_BASE_URL": "iuran.example.id"}, "PUBLIC_BASE_URL='iuran.example.id'"),
        ({"PUBLIC_BASE_URL": "ftp://iuran.example.id"}, "PUBLIC_BASE_URL='ftp://iuran.example.id'"),
        ({"SANDBOX_WEBHOOK_SECRET": settings.DEVELOPMENT_SANDBOX_SECRET}, "SANDBOX_WEBHOOK_SECRET"),
        ({"FLASK_DEBUG": "1"}, "FLASK_DEBUG"),
        ({"IURAN_ENV": "staging"}, "IURAN_ENV='staging'"),
        ({"OUTBOX_SENDER": "http"}, "OUTBOX_GATEWAY_URL"),  # texts would fail one by one, for hours, in silence
        ({"OUTBOX_SENDER": "http", "OUTBOX_GATEWAY_URL": "gateway.local/send"}, "OUTBOX_GATEWAY_URL"),
    ],
)
def test_production_refuses_each_unsafe_setting(environment, changes, named):
    environment(**changes)
    with pytest.raises(settings.Misconfigured) as refused:
        create_app()

    assert f"  - {named}" in str(refused.value)
    assert str(refused.value).count("\n  - ") == 1


def test_an_unknown_iuran_env_is_refused_in_development_too(environment):
    environment(IURAN_ENV="prod", SECRET_KEY=None, DATABASE_URL=None)
    with pytest.raises(settings.Misconfigured, match="IURAN_ENV='prod': use 'development'"):
        create_app()


def test_development_keeps_its_defaults_and_warns_once_of_the_default_secret(environment, monkeypatch, caplog):
    environment(**{name: None for name in GOOD})
    monkeypatch.setattr(settings, "_warned_default_secret", False)
    with caplog.at_level(logging.WARNING, logger="core.settings"):
        first = create_app()
        create_app()

    assert first.config["IURAN_ENV"] == "development"
    assert first.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert first.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    warnings = [r for r in caplog.records if "SECRET_KEY is the development default" in r.getMessage()]
    assert len(warnings) == 1


def test_development_builds_its_public_address_from_port(environment):
    environment(**{name: None for name in GOOD}, PORT="5081")
    assert create_app().config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5081"


def test_production_cookies_are_secure_and_http_only(environment):
    environment()
    app = create_app()
    client = app.test_client()

    answer = client.get("/agen/masuk?lang=en")

    cookies = answer.headers.getlist("Set-Cookie")
    session_cookie = [c for c in cookies if c.startswith("session=")]
    language_cookie = [c for c in cookies if c.startswith("lang=")]
    assert session_cookie and language_cookie
    for cookie in session_cookie + language_cookie:
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie


def _flask_routes(env: dict[str, str], instance: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS and k != "DATABASE_URL"}
    clean.update(env, IURAN_INSTANCE=str(instance), PYTHONPATH=str(ROOT))
    return subprocess.run(
        [FLASK, "--app", "app", "routes"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_flask_refuses_to_start_in_production_with_the_defaults_and_says_what_to_set(tmp_path):
    done = _flask_routes({"IURAN_ENV": "production", "IURAN_BENCH": "1", "SESSION_COOKIE_SECURE": "0"}, tmp_path)

    assert done.returncode != 0
    for name in UNSAFE_DEFAULTS:
        assert f"  - {name}" in done.stderr, (name, done.stderr[-2000:])
    assert "/agen/masuk" not in done.stdout


def test_flask_starts_in_production_with_every_setting_given(tmp_path):
    done = _flask_routes(GOOD, tmp_path)

    assert done.returncode == 0, done.stderr[-2000:]
    assert "/agen/masuk" in done.stdout
