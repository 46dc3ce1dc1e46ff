"""Fixtures of the member's own page: the sandbox provider over real HTTP, signing a member in, callbacks."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from core.extensions import db
from core.outbox import OutboxMessage
from payments.autodebit.providers import configured_providers
from payments.autodebit.sandbox import Sandbox, SandboxConfig, create_sandbox
from payments.selfpay.services import process_charge_events

SERVER_KEY = "SB-Mid-server-dev-only"  # settings' development default
CSRF = "csrf-of-the-member-tests"
BORN = "1990-01-12"  # tests/factories.py nik_for()'s birth date


@pytest.fixture
def sandbox(pinned_app: Any) -> Iterator[Sandbox]:
    """The local sandbox (Midtrans's scheme) over real HTTP; the app's 'midtrans' provider points at it. It delivers
    only when told: ``deliver`` posts its notifications to the app's own webhook path. Its clock is the app's, so a
    test that moves the app's clock months ahead opens charges that expire a day after that."""
    app = create_sandbox(
        SandboxConfig(webhook_url="http://127.0.0.1:9/unused", server_key=SERVER_KEY, auto_deliver=False),
        clock=lambda: pinned_app.config["CLOCK"]().replace(tzinfo=UTC),  # the app's (pinned) time, not the machine's
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pinned_app.config["PAYMENT_PROVIDERS"]["midtrans"]["base_url"] = f"http://127.0.0.1:{server.server_port}"
    yield app.extensions["sandbox"]
    server.shutdown()
    thread.join()


def queued_bodies(sandbox: Sandbox) -> list[bytes]:
    """Take the sandbox's queued notifications (as it would send them), in its order."""
    with sandbox._lock:
        batch, sandbox._outbox.queued = sandbox._outbox.queued, []
    return [n.body for n in batch]


def deliver(client: Any, bodies: list[bytes]) -> list[Any]:
    """Post notifications to the signed webhook path, as the provider does."""
    return [
        client.post("/webhooks/midtrans", data=body, headers={"Content-Type": "application/json"}) for body in bodies
    ]


def process(app: Any) -> int:
    with app.app_context():
        return process_charge_events(
            db.session, configured_providers(app.config), app.config["CLOCK"](), app.config["PUBLIC_BASE_URL"]
        )


def last_code(app: Any) -> str:
    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.kind == "member_code").order_by(OutboxMessage.id.desc())
        ).first()
    assert body is not None, "no code was texted"
    found = re.search(r"\b(\d{6})\b", body)
    assert found is not None
    return found.group(1)


def ask_code(client: Any, identifier: str, born: str = BORN) -> Any:
    with client.session_transaction() as session:
        session["csrf"] = CSRF
    return client.post("/peserta/masuk", data={"identifier": identifier, "birth_date": born, "csrf_token": CSRF})


def send_code(client: Any, code: str) -> Any:
    return client.post("/peserta/kode", data={"code": code, "csrf_token": CSRF})


@pytest.fixture
def sign_in(pinned_app: Any) -> Callable[[Any, str], Any]:
    """Sign a member in through both steps; returns the answer to the code."""

    def run(client: Any, kpj: str) -> Any:
        assert ask_code(client, kpj).status_code == 303
        answer = send_code(client, last_code(pinned_app))
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/peserta/"), answer.data[:300]
        return answer

    return run
