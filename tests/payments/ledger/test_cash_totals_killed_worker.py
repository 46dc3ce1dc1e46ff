"""Outsider's attack on the kept cash totals: a real gunicorn worker SIGKILLed in the middle of a contribution,
after its payment row went in and while the totals trigger waits on the agent's totals row. The transaction dies
with the worker: no payment, totals unchanged, and the agent's retry with the same key records it once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from core.extensions import db
from payments.ledger.models import Payment
from payments.ledger.services import cash_totals
from tests.payments.ledger.test_cash_totals import summed

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _post(base: str, headers: dict[str, str], body: dict[str, Any], timeout: float = 30) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + "/api/v1/contributions",
        data=json.dumps(body).encode(),
        headers=headers | {"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()[:300]
    except OSError as error:  # the worker died under the request
        return -1, repr(error)


@pytest.mark.postgresql_only
def test_a_worker_killed_mid_contribution_leaves_no_payment_and_the_totals_true(
    pinned_app: Any, world: dict[str, Any], enrol: Any, database_url: str, redis_url: str, instance_path: Path
) -> None:
    agent = world["agent"]
    member = enrol()
    port = _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        IURAN_INSTANCE=str(instance_path),
        SECRET_KEY="test",
        PYTHONPATH=str(ROOT),
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    argv = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60", "app:create_app()"]
    server = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    blocker = create_engine(database_url)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)
        key = str(uuid.uuid4())
        headers = dict(agent.headers) | {"Idempotency-Key": key}
        body = {"member_id": member["id"], "months": 1}
        with blocker.connect() as hold:
            # the agent's totals row exists (an earlier deposit-free payment would make it; make it by hand here)
            hold.execute(
                text("INSERT INTO agent_cash_totals (agent_id) VALUES (:a) ON CONFLICT DO NOTHING"),
                {"a": agent.agent_id},
            )
            hold.commit()
            hold.execute(text("SELECT 1 FROM agent_cash_totals WHERE agent_id = :a FOR UPDATE"), {"a": agent.agent_id})
            answers: list[tuple[int, Any]] = []
            request = threading.Thread(target=lambda: answers.append(_post(base, headers, body)))
            request.start()
            waiting = False
            for _ in range(300):  # until the request's trigger waits on our lock (its payment row inserted)
                with blocker.connect() as look:  # a transaction of its own: pg_stat_activity is read once per one
                    waiting = bool(
                        look.execute(
                            text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                        ).scalar()
                    )
                if waiting:
                    break
                time.sleep(0.05)
            assert waiting, "the contribution never reached the totals trigger"
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            assert len(children) == 1
            os.kill(int(children[0]), signal.SIGKILL)  # the worker dies mid-request
            request.join(timeout=30)
            hold.rollback()  # let the orphaned backend run on: it finds its client gone and rolls back
        assert answers and answers[0][0] != 201, answers
        for _ in range(100):  # the orphaned backend ends once it reads its client's EOF
            with blocker.connect() as look:
                left = look.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")
                ).scalar()
            if not left:
                break
            time.sleep(0.1)
        with pinned_app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
            assert cash_totals(db.session, agent.agent_id) == summed(agent.agent_id) == (0, 0)
        for _ in range(300):  # gunicorn's master starts a new worker
            status, again = _post(base, headers, body, timeout=5)
            if status != -1:
                break
            time.sleep(0.1)
        assert status == 201, again
        with pinned_app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
            assert cash_totals(db.session, agent.agent_id) == summed(agent.agent_id) == (again["amount_idr"], 0)
    finally:
        blocker.dispose()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
