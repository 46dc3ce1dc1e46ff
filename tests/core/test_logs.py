"""Logging: one masked handler, JSON lines with the request's and the job's ids, and no NIK, password, token or
full phone number in any line, whatever flow wrote it (the web, the API, a real ``rq worker``)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from rq import Queue
from rq.logutils import setup_loghandlers

from core import logs
from core.clock import utcnow
from core.extensions import db, redis_connection
from core.outbox import LogSender, deliver_pending
from tests.factories import PASSWORD, enrolment, nik_for
from workers.queues import DEFAULT, DELIVER_OUTBOX

ROOT = Path(__file__).resolve().parents[2]
PHONE_FORMS = ("0812-3456-7890", "081234567890", "+6281234567890", "6281234567890", "81234567890")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("nik 1971011201900001 refused", "nik 197101********** refused"),
        ("nik=1971011201900001,", "nik=197101**********,"),
        ("a 17-digit run 12345678901234567 is not a NIK", "a 17-digit run 12345678901234567 is not a NIK"),
        ("text to +6281234567890: hi", "text to +6281******890: hi"),
        ("text to 6281234567890", "text to 6281******890"),
        ("call 0812-3456-7890 now", "call 0812*****890 now"),
        ("call 0812 3456 789", "call 0812****789"),
        # written as people write them (core/phones.py accepts all of these), and as a query string carries them
        ("nik 3201 0112 3456 0001", "nik 320101**********"),
        ("nik 3201.0112.3456.0001", "nik 320101**********"),
        ("?nik=3201+0112+3456+0001&x=1", "?nik=320101**********&x=1"),
        ("?nik=3201%200112%203456%200001", "?nik=320101**********"),
        ("text to +62 812-3456-7890", "text to +6281******890"),
        ("(0812) 3456-7890", "(0812*****890"),
        ("62-812-3456-7890", "6281******890"),
        ("0812.3456.7890", "0812*****890"),
        ("?phone=%2B6281234567890", "?phone=+6281******890"),
        ("a 17-digit run 1234 5678 9012 3456 7 is not a NIK", "a 17-digit run 1234 5678 9012 3456 7 is not a NIK"),
        ("2026-12-05 19:08:21,449 took 60012.2 ms", "2026-12-05 19:08:21,449 took 60012.2 ms"),
        ("job 9a1b2c3d-1234-4567-8901-234567890abc OK", "job 9a1b2c3d-1234-4567-8901-234567890abc OK"),
        ("receipt KW-2026-000123 for Rp 150000", "receipt KW-2026-000123 for Rp 150000"),
        ("Authorization: Bearer abc.DEF-123_x", "Authorization: Bearer ***"),
        ("login password=hunter2&user=x", "login password=***&user=x"),
        ('{"username": "a", "password": "two words"}', '{"username": "a", "password": "***"}'),
        ("{'new_password': 'x y z'}", "{'new_password': '***'}"),
        ("Cookie: session=eyJhbGciOi.abc; lang=id", "Cookie: session=***; lang=id"),
    ],
)
def test_what_a_line_must_not_hold_is_masked(line, expected):
    assert logs.redact(line) == expected


def test_extra_fields_are_masked_and_a_secret_field_is_hidden_whole():
    stream = io.StringIO()
    logs.configure({"LOG_FORMAT": "json"}, stream=stream)
    try:
        logging.getLogger("test").info(
            "member %s", nik_for(), extra={"phone": "+6281234567890", "api_token": "tok-1", "form": {"password": "p"}}
        )
    finally:
        logs.configure({})
    line = json.loads(stream.getvalue())
    assert line["message"] == "member 197101**********"
    assert line["phone"] == "+6281******890"
    assert line["api_token"] == "***"
    assert line["form"] == {"password": "***"}
    assert {"time", "level", "logger"} <= set(line)


def test_a_traceback_is_masked_too():
    stream = io.StringIO()
    logs.configure({"LOG_FORMAT": "text"}, stream=stream)
    try:
        try:
            raise ValueError(f"duplicate NIK {nik_for()}")
        except ValueError:
            logging.getLogger("test").exception("could not enrol")
    finally:
        logs.configure({})
    assert "could not enrol" in stream.getvalue()
    assert "ValueError: duplicate NIK 197101**********" in stream.getvalue()
    assert nik_for() not in stream.getvalue()


def test_configuring_again_replaces_the_handler_and_takes_rq_s_loggers_over():
    setup_loghandlers("INFO", name="rq.worker")  # as `rq worker` does before a job builds the app
    logs.configure({})
    logs.configure({})
    root = logging.getLogger()
    assert len([h for h in root.handlers if getattr(h, "_iuran_handler", False)]) == 1
    assert logging.getLogger("rq.worker").handlers == []
    assert logging.getLogger("rq.worker").propagate


def test_a_sane_request_id_comes_back_and_any_other_is_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-42.a"}).headers["X-Request-ID"] == "lb-42.a"
    replaced = client.get("/healthz", headers={"X-Request-ID": "x" * 65}).headers["X-Request-ID"]
    assert replaced != "x" * 65 and len(replaced) == 32
    assert client.get("/healthz").headers["X-Request-ID"] != client.get("/healthz").headers["X-Request-ID"]


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _secrets_in(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def test_no_nik_password_token_or_phone_in_any_line_of_real_flows(pinned_app, client, world):
    stream = io.StringIO()
    logs.configure({"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}, stream=stream)
    nik = nik_for(serial=77)
    wrong = "Wrong-Horse-9"
    try:
        refused = client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": wrong})
        assert refused.status_code == 401
        given = client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": PASSWORD})
        token = given.get_json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        with client.session_transaction() as session:
            session["csrf"] = "csrf-of-the-test"
        web = client.post(
            "/agen/masuk", data={"username": "agent.pkp", "password": wrong, "csrf_token": "csrf-of-the-test"}
        )
        assert web.status_code == 401
        member = client.post("/api/v1/members", json=enrolment(nik=nik), headers=bearer)
        assert member.status_code == 201, member.get_json()
        paid = client.post(
            "/api/v1/contributions",
            json={"member_id": member.get_json()["id"], "months": 1},
            headers=bearer | {"Idempotency-Key": str(uuid.uuid4())},
        )
        assert paid.status_code == 201, paid.get_json()
        assert client.get(f"/api/v1/members?nik={nik}", headers=bearer).status_code == 200
        with pinned_app.app_context():
            assert deliver_pending(db.session, LogSender(), utcnow()) >= 1
        with pinned_app.test_request_context("/", headers=bearer):  # a careless line: the filter still masks it
            logging.getLogger("careless").warning("enrolled %s, phone %s, %s", nik, PHONE_FORMS[0], f"Bearer {token}")
    finally:
        logs.configure({})
    output = stream.getvalue()

    assert _secrets_in(output, [nik, PASSWORD, wrong, token, *PHONE_FORMS]) == []
    lines = _lines(output)  # every line is one JSON object
    requests = [line for line in lines if line["logger"] == "iuran.access"]
    assert len(requests) == 6
    assert all(len(line["request_id"]) == 32 for line in requests)
    enrolled = next(line for line in requests if line["path"] == "/api/v1/members" and line["method"] == "POST")
    assert enrolled["user_id"] == world["agent"].id and enrolled["branch_id"] == world["pkp"]
    assert enrolled["status"] == 201 and enrolled["duration_ms"] >= 0
    texts = [line["message"] for line in lines if line["message"].startswith("text to ")]
    assert texts and all(text.startswith("text to +6281******890: ") for text in texts)
    careless = next(line for line in lines if line["logger"] == "careless")
    assert careless["message"] == "enrolled 197101**********, phone 0812*****890, Bearer ***"
    assert careless["request_id"]


@pytest.mark.postgresql_only
def test_a_real_worker_writes_json_lines_with_the_job_id(pinned_app, client, world, enrol, database_url, redis_url):
    member = enrol()
    paid = client.post(
        "/api/v1/contributions",
        json={"member_id": member["id"], "months": 1},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert paid.status_code == 201
    with pinned_app.app_context():
        (job_id,) = Queue(DEFAULT, connection=redis_connection()).job_ids  # the payment's delivery of its text
    env = dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=database_url, PYTHONPATH=str(ROOT), LOG_FORMAT="json")
    rq = str(Path(sys.executable).parent / "rq")
    done = subprocess.run(
        [
            rq,
            "worker",
            "--burst",
            "-c",
            "workers.rq_settings",
            "-w",
            "workers.worker.IuranWorker",
            "-u",
            redis_url,
            DEFAULT,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr

    lines = _lines(output)  # the worker's own lines and its job's, all JSON
    assert _secrets_in(output, [member["nik"], *PHONE_FORMS]) == []
    texts = [line for line in lines if line["message"].startswith("text to ")]
    assert texts and all(line["job_id"] == job_id for line in texts)
    assert texts[0]["job_func"] == DELIVER_OUTBOX
    ends = [line for line in lines if line.get("outcome") == "finished"]  # the worker class's line at each job's end
    assert [(line["job_id"], line["job_func"]) for line in ends] == [(job_id, DELIVER_OUTBOX)]
    assert ends[0]["duration_ms"] >= 0
    worker_lines = [line["message"] for line in lines if line["logger"] == "rq.worker"]
    assert any(job_id in message for message in worker_lines)
    assert len(worker_lines) == len(set(worker_lines)), "rq's lines are written once each"


def test_a_receipt_s_code_stays_out_of_the_access_line(pinned_app, client, world, enrol):
    """Hole (the attack on issue 13): the access line logged /r/<code>, and the code is all it takes to open the
    member's receipt. The line names the route instead."""
    member = enrol()
    paid = client.post(
        "/api/v1/contributions",
        json={"member_id": member["id"], "months": 1},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    code = paid.get_json()["verification_code"]
    stream = io.StringIO()
    logs.configure({"LOG_FORMAT": "json"}, stream=stream)
    try:
        assert client.get(f"/r/{code}").status_code == 200
        assert client.get("/r/NOSUCHCODE").status_code == 404
    finally:
        logs.configure({})
    output = stream.getvalue()

    assert code not in output
    paths = [line["path"] for line in _lines(output) if line["logger"] == "iuran.access"]
    assert paths == ["/r/<string:code>", "/r/<string:code>"]
