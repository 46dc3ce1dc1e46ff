"""Debit runs: POST /debit-runs queues one job per branch and answers 202 at once; two runs of a branch at once
send no debit twice."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from core.audit import AuditEvent
from core.extensions import db
from core.months import Month
from payments.autodebit.models import DebitAttempt, DebitRequest, Mandate
from payments.autodebit.providers import configured_providers
from payments.autodebit.sandbox import SandboxConfig, create_sandbox
from payments.autodebit.services import run_debits
from tests.factories import NOW
from workers.queues import DEFAULT, RUN_DEBITS

SERVER_KEY = "SB-Mid-server-dev-only"  # settings' development default


@pytest.fixture
def sandbox(pinned_app: Any) -> Any:
    """The local sandbox speaking Midtrans's scheme, over real HTTP; the app's 'midtrans' provider points at it."""
    from werkzeug.serving import make_server

    sandbox_app = create_sandbox(
        SandboxConfig(webhook_url="http://127.0.0.1:9/unused", server_key=SERVER_KEY, auto_deliver=False)
    )
    server = make_server("127.0.0.1", 0, sandbox_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pinned_app.config["PAYMENT_PROVIDERS"]["midtrans"]["base_url"] = f"http://127.0.0.1:{server.server_port}"
    yield sandbox_app.extensions["sandbox"]
    server.shutdown()


def due_debits(app: Any, sandbox: Any, member_id: int, months: list[tuple[int, int]]) -> list[int]:
    """An active mandate at the sandbox and a debit due for each month."""
    with app.app_context():
        reference = sandbox.create_mandate("member", "1234567890", 1)["mandate_ref"]
        mandate = Mandate(member_id=member_id, provider="midtrans", provider_ref=reference, account_label="****1")
        mandate.status = "active"
        db.session.add(mandate)
        db.session.flush()
        requests = [
            DebitRequest(
                mandate_id=mandate.id,
                member_id=member_id,
                first_month=Month(*month),
                months=1,
                amount_idr=8_400,
                due_on=NOW.date(),
                status="due",
            )
            for month in months
        ]
        db.session.add_all(requests)
        db.session.commit()
        return [r.id for r in requests]


class MeanwhileProvider:
    """The configured provider; while the first charge is under way, ``meanwhile`` runs (another run of the
    branch's debits, in its own session) to its end."""

    def __init__(self, inner: Any, meanwhile: Any) -> None:
        self.inner, self.meanwhile = inner, meanwhile

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def charge(self, *args: Any) -> Any:
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            other = threading.Thread(target=meanwhile)
            other.start()
            other.join(timeout=60)
        return self.inner.charge(*args)


@pytest.mark.postgresql_only  # on SQLite the first run holds the write lock while it charges: no run overlaps
def test_two_runs_at_once_send_each_debit_once(pinned_app, enrol, sandbox):
    member = enrol()
    due_debits(pinned_app, sandbox, member["id"], [(2026, 11), (2026, 12)])

    def second_run() -> None:
        with pinned_app.app_context():
            run_debits(db.session, configured_providers(pinned_app.config), NOW)

    with pinned_app.app_context():
        providers = dict(configured_providers(pinned_app.config))
        providers["midtrans"] = MeanwhileProvider(providers["midtrans"], second_run)
        run_debits(db.session, providers, NOW)
        attempts = dict(
            db.session.execute(
                select(DebitAttempt.debit_request_id, func.count()).group_by(DebitAttempt.debit_request_id)
            ).all()
        )

    assert len(attempts) >= 2 and set(attempts.values()) == {1}
    assert len(sandbox.charges()) == len(attempts)


def test_a_debit_run_is_queued_per_branch_and_answered_at_once(pinned_app, client, world, redis_url, rq_burst):
    first = client.post("/api/v1/debit-runs", headers=world["admin"].headers)
    again = client.post("/api/v1/debit-runs", headers=world["admin"].headers)

    assert first.status_code == 202, first.get_json()
    jobs = first.get_json()["jobs"]
    assert jobs == [
        {"branch_id": world["pkp"], "job_id": f"debit-run-{world['pkp']}"},
        {"branch_id": world["ptk"], "job_id": f"debit-run-{world['ptk']}"},
    ]
    assert again.status_code == 202 and again.get_json()["jobs"] == jobs  # still queued: the same jobs
    queue = Queue(DEFAULT, connection=Redis.from_url(redis_url))
    queued = queue.get_jobs()
    assert sorted((job.func_name, job.args) for job in queued) == [
        (RUN_DEBITS, (world["pkp"],)),
        (RUN_DEBITS, (world["ptk"],)),
    ]
    with pinned_app.app_context():
        audited = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "debit_run.queued")).all()
    assert len(audited) == 2

    rq_burst(DEFAULT)
    assert [queue.fetch_job(job["job_id"]).get_status() for job in jobs] == ["finished", "finished"]


def test_a_debit_run_the_queue_cannot_take_is_refused_with_503(pinned_app, client, world):
    pinned_app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there

    response = client.post("/api/v1/debit-runs", headers=world["admin"].headers)

    assert response.status_code == 503
    assert "job queue is unavailable" in response.get_json()["message"]
