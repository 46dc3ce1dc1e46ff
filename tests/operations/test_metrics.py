"""/metrics: request latency by endpoint and status, the business read at scrape time, and who may read it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from core import periodic
from core.clock import utcnow
from core.extensions import db, redis_connection
from core.outbox import MAX_ATTEMPTS, OutboxMessage
from operations.metrics import child_exit
from payments.autodebit.models import WebhookEvent

ROOT = Path(__file__).resolve().parents[2]


def scrape(client: Any, **kwargs: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def pay_cash(client: Any, world: dict[str, Any], member_id: int) -> Any:
    headers = world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    response = client.post("/api/v1/contributions", json={"member_id": member_id, "months": 1}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_payments_backlogs_and_queues_are_read_at_scrape_time(pinned_app, client, world, enrol):
    pinned_app.config["METRICS_CACHE_SECONDS"] = 0
    member = enrol()
    receipt = pay_cash(client, world, member["id"])
    pay_cash(client, world, member["id"])
    with pinned_app.app_context():
        db.session.add(WebhookEvent(provider="midtrans", event_key="t-1", raw_body="{}", received_at=utcnow()))
        db.session.add(
            OutboxMessage(kind="receipt", recipient="+628111", body="x", attempts=MAX_ATTEMPTS, created_at=utcnow())
        )
        old = db.session.get(OutboxMessage, 1)
        old.created_at = utcnow() - timedelta(minutes=10)
        db.session.commit()
        queue = Queue("low", connection=redis_connection())
        failed = queue.enqueue("workers.jobs.echo", 1)
        queue.failed_job_registry.add(failed, ttl=600, exc_string="boom")

    metrics = scrape(client)

    assert metrics["iuran_payments_total", (("channel", "cash"),)] == 2
    assert metrics["iuran_payments_rupiah_total", (("channel", "cash"),)] == 2 * receipt["amount_idr"]
    assert metrics["iuran_webhook_backlog", ()] == 1
    assert 0 <= metrics["iuran_webhook_backlog_oldest_seconds", ()] < 60
    assert metrics["iuran_outbox_backlog", ()] == 2  # each payment's receipt text
    assert metrics["iuran_outbox_backlog_oldest_seconds", ()] >= 600
    assert metrics["iuran_outbox_given_up", ()] == 1
    assert metrics["iuran_rq_queue_depth", (("queue", "default"),)] == 1  # the texts' delivery, once for both
    assert metrics["iuran_rq_failed_jobs", (("queue", "low"),)] == 1
    assert metrics["iuran_rq_failed_jobs", (("queue", "high"),)] == 0
    assert metrics["iuran_metrics_source_up", (("source", "database"),)] == 1


def test_each_branch_s_last_reconciliation_and_day_end_are_published(pinned_app, client, world):
    pinned_app.config["METRICS_CACHE_SECONDS"] = 0
    branch_id = world["pkp"]
    night = datetime(2026, 12, 4, 18, 0, 5)  # 01:00 WIB on the 5th, and a few seconds
    with pinned_app.app_context():
        periodic.record(db.session, "reconciliation", branch_id, date(2026, 12, 5), night)
        periodic.record(db.session, "day_end", branch_id, date(2026, 12, 4), night - timedelta(hours=4))

    metrics = scrape(client)

    name = "iuran_branch_last_success_timestamp_seconds"
    labels = (("branch_id", str(branch_id)), ("job", "reconciliation"))
    assert metrics[name, labels] == night.replace(tzinfo=UTC).timestamp()
    assert metrics[name, (("branch_id", str(branch_id)), ("job", "day_end"))] == metrics[name, labels] - 4 * 3600
    assert not [key for key in metrics if key[0] == name and ("job", "remittance") in key[1]]


def test_request_latency_is_labelled_by_endpoint_never_by_path(client, world):
    client.get("/api/v1/members/123456", headers=world["agent"].headers)
    client.get("/no/such/page/0812-3456-7890")

    metrics = scrape(client)

    counts = {labels: value for (name, labels), value in metrics.items() if name.endswith("_count")}
    assert counts[(("endpoint", "collection.MemberById"), ("status", "404"))] >= 1
    assert counts[(("endpoint", "none"), ("status", "404"))] >= 1
    assert not any("0812" in str(labels) or "123456" in str(labels) for labels in counts)


def test_a_scrape_within_ten_seconds_reads_the_database_once(pinned_app, client, world, enrol):
    member = enrol()
    before = scrape(client).get(("iuran_payments_total", (("channel", "cash"),)), 0)
    pay_cash(client, world, member["id"])

    assert scrape(client).get(("iuran_payments_total", (("channel", "cash"),)), 0) == before
    pinned_app.config["METRICS_CACHE_SECONDS"] = 0
    assert scrape(client)["iuran_payments_total", (("channel", "cash"),)] == before + 1


def test_without_a_token_only_loopback_may_read_the_metrics(app):
    client = app.test_client()

    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200


def test_without_a_token_a_caller_a_loopback_proxy_forwards_is_not_this_machine(app):
    """nginx on this host in front of gunicorn, and PROXY_COUNT left at 0 (its default): every caller from the
    internet came from 127.0.0.1 and read the metrics (branch ids, backlogs, queue names)."""
    client = app.test_client()
    local = {"REMOTE_ADDR": "127.0.0.1"}

    for header in ("X-Forwarded-For", "X-Real-IP"):
        assert client.get("/metrics", environ_base=local, headers={header: "203.0.113.9"}).status_code == 403
    assert client.get("/metrics", environ_base=local, headers={"Forwarded": "for=203.0.113.9"}).status_code == 403
    spoofed = {"X-Forwarded-For": "127.0.0.1, 203.0.113.9"}  # what nginx makes of a client's own header
    assert client.get("/metrics", environ_base=local, headers=spoofed).status_code == 403
    scraped_through_the_proxy = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "::1"}
    assert client.get("/metrics", environ_base=local, headers=scraped_through_the_proxy).status_code == 200


def test_with_a_token_the_metrics_want_it_from_everyone(app):
    app.config["METRICS_TOKEN"] = "scrape-secret-1"
    client = app.test_client()

    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.get_json()["code"] == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    far = {"REMOTE_ADDR": "10.1.2.3"}
    token = {"Authorization": "Bearer scrape-secret-1"}
    assert client.get("/metrics", headers=token, environ_base=far).status_code == 200


SCRIPT = textwrap.dedent(
    """
    import sys
    from app import create_app
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1], "REDIS_URL": sys.argv[2],
                      "SECRET_KEY": "test", "METRICS_CACHE_SECONDS": 0})
    client = app.test_client()
    for _ in range(int(sys.argv[3])):
        client.get("/healthz")
    if sys.argv[4] == "scrape":
        sys.stdout.write(client.get("/metrics").get_data(as_text=True))
    """
)


def test_under_several_processes_a_scrape_adds_up_every_process_s_requests(database_url, redis_url, tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(folder), PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")

    def run(requests: int, then: str) -> str:
        argv = [sys.executable, "-c", SCRIPT, database_url, redis_url, str(requests), then]
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run(3, "-")
    run(4, "-")
    text = run(0, "scrape")

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    healthz = (("endpoint", "operations.healthz"), ("status", "200"))
    assert samples["iuran_http_request_duration_seconds_count", healthz] == 7
    assert samples["iuran_metrics_source_up", (("source", "database"),)] == 1

    class Worker:
        pid = 12345

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    try:
        child_exit(None, Worker())  # what gunicorn's config calls when a worker ends
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
