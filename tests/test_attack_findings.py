"""Holes an outside tester found after the issue-10 fixes: each test FAILS on the code it was written against.

Every test documents one hole (its docstring says which); none is xfail, so the suite stays red until fixed.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, update

from collection.members.kpj import KpjError, national_kpj
from core.audit import AuditEvent
from core.extensions import db
from organisation.models import Agent, Wadah
from payments.remittance.models import RemittanceFile
from payments.remittance.services import make_file
from tests import servers
from tests.agents.field.test_pages import csrf
from tests.agents.roster.conftest import agent_body
from tests.collection.national.test_national_import import export, line, upload
from tests.factories import NOW, PASSWORD
from tests.organisation.test_admin_cli_and_pages import web_login
from tests.test_attack_regressions import crashable_postgres, make_staff_on  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent


def _terminate(app: Any, agent_id: int) -> None:
    with app.app_context():
        db.session.execute(update(Agent).where(Agent.id == agent_id).values(status="terminated"))
        db.session.commit()


# --- sessions: a terminated agent keeps the API -------------------------------------------------------


def test_a_terminated_agents_api_token_still_lists_his_branchs_members(app, client, world, enrol):
    """Hole: a terminated agent is shut out of /agen, but his bearer token still reads members' NIK and phone."""
    enrol()
    _terminate(app, world["agent"].agent_id)

    assert client.get("/agen/").status_code == 302  # the web app refuses him (holds)
    listed = client.get("/api/v1/members?q=Budi", headers=world["agent"].headers)

    assert listed.status_code in (401, 403), listed.get_data(as_text=True)[:200]


def test_a_terminated_agent_still_gets_a_new_api_token(app, client, world):
    """Hole: POST /api/v1/auth/token issues a fresh token to a terminated agent (only is_active is checked)."""
    _terminate(app, world["agent"].agent_id)

    issued = client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": PASSWORD})

    assert issued.status_code in (401, 403)


# --- logins: the throttle ----------------------------------------------------------------------------


def test_guesses_from_one_ipv6_network_are_never_throttled(app, world):
    """Hole: the login throttle keys on the whole IPv6 address, so one /64 network guesses a password without end."""
    statuses = []
    for number in range(30):
        client = app.test_client()
        data = {"csrf_token": csrf(client), "username": "agent.pkp", "password": f"guess-{number}"}
        answer = client.post("/agen/masuk", data=data, environ_overrides={"REMOTE_ADDR": f"2001:db8:1:2::{number:x}"})
        statuses.append(answer.status_code)

    assert 429 in statuses, statuses


def test_logins_tried_while_the_database_is_down_lock_the_user_out_after_it_is_back(crashable_postgres, make_staff_on):  # noqa: F811
    """Hole: each 503 login in a database outage counts as a try; 5 lock the user out for 15 minutes after it."""
    app, cluster = crashable_postgres
    make_staff_on(app)
    client = app.test_client()
    credentials = {"username": "agent.pkp", "password": PASSWORD}

    servers.admin_execute(cluster.url, "CHECKPOINT")
    cluster.crash()
    try:
        during = [client.post("/api/v1/auth/token", json=credentials).status_code for _ in range(5)]
    finally:
        cluster.restart()
    assert during == [503] * 5  # the phone retries as Retry-After tells it to (holds)

    after = client.post("/api/v1/auth/token", json=credentials)
    if after.status_code == 503:  # the pool's last dead connection
        after = client.post("/api/v1/auth/token", json=credentials)

    assert after.status_code == 201, (after.status_code, after.headers.get("Retry-After"))


# --- faults: a member paid up to the horizon --------------------------------------------------------


def test_a_payment_for_a_member_paid_up_to_the_horizon_is_a_clear_4xx_not_a_500(client, world, enrol):
    """Hole: a member paid 24 months ahead has no open due: member_position's open_dues[0] makes every payment a 500."""
    member = enrol()
    headers = world["agent"].headers

    def pay(months: int) -> Any:
        return client.post(
            "/api/v1/contributions",
            json={"member_id": member["id"], "months": months},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )

    statuses = []
    for months in (12, 12, 1):
        statuses.append(pay(months).status_code)
        if statuses[-1] != 201:
            break
    assert statuses == [201, 201, 201], statuses  # paid through the horizon (holds)

    one_more = pay(1)
    schedule = client.get(f"/api/v1/members/{member['id']}/schedule", headers=headers)

    assert 400 <= one_more.status_code < 500, one_more.get_data(as_text=True)[:200]
    assert schedule.status_code == 200, schedule.get_data(as_text=True)[:200]


# --- bodies: the form limit and a slow body ------------------------------------------------------------


def test_a_form_sent_as_multipart_gets_the_upload_limit_not_the_forms(client, world):
    """Hole: any route takes 20 MB (not the README's 1 MB for forms) when the body says multipart/form-data."""
    part = b"x" * (3 * 1024 * 1024)
    body = b'--b\r\nContent-Disposition: form-data; name="username"; filename="u.txt"\r\n\r\n' + part + b"\r\n--b--\r\n"

    answer = client.post("/agen/masuk", data=body, content_type="multipart/form-data; boundary=b")

    assert answer.status_code == 413, answer.status_code


def _make_run_gunicorn_options() -> list[str]:
    """The worker options `make run` starts gunicorn with (scripts/run.py), so the test follows a fix there."""
    source = (ROOT / "scripts" / "run.py").read_text()
    options = []
    if '"deploy" / "gunicorn.conf.py"' in source:  # the production config file, then the flags that override it
        options += ["--config", str(ROOT / "deploy" / "gunicorn.conf.py")]
    for flag in ("--workers", "--worker-class", "--threads", "--timeout"):
        found = re.search(rf'"{flag}",\s*"([^"]+)"', source)
        if found:
            options += [flag, found.group(1)]
    return options


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.sqlite_only
def test_two_slow_request_bodies_do_not_stall_every_other_request(database_url, redis_url, instance_path):
    """Hole: make run's 2 sync workers each wait on a body sent 1 byte a second: two such clients stall the app 30 s."""
    port = _free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        IURAN_INSTANCE=str(instance_path),
        SECRET_KEY="t",
        PYTHONPATH=str(ROOT),
    )
    argv = [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*argv, *_make_run_gunicorn_options(), "app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    slow_clients: list[threading.Thread] = []
    try:
        for _ in range(300):  # up to 30 s to start
            try:
                with urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=2):
                    break
            except OSError:
                time.sleep(0.1)

        def trickle() -> None:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                head = "POST /agen/masuk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                sock.sendall((head + "Content-Length: 100000\r\n\r\n").encode())
                for _ in range(40):  # at most 20 s
                    if stop.wait(0.5):
                        return
                    try:
                        sock.sendall(b"a")
                    except OSError:
                        return

        slow_clients = [threading.Thread(target=trickle, daemon=True) for _ in range(2)]
        for thread in slow_clients:
            thread.start()
        time.sleep(1)

        try:
            with urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=8) as answer:
                status = answer.status
        except OSError as error:  # timed out behind the two slow bodies
            status = repr(error)
        assert status == 200
    finally:
        stop.set()
        for thread in slow_clients:
            thread.join(timeout=5)
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- issue 12: the national import ---------------------------------------------------------------------


def test_a_national_row_with_an_income_past_a_bigint_is_rejected_not_a_500(client, world):
    """Hole: a declared income past 2^63 in the national export passed the row checks and broke the insert (500 on
    PostgreSQL, the import left 'failed'); it is one rejected row naming declared_income."""
    huge = line(2, "2026-06").replace(",1000000,", ",9223372036854775808,")
    response = upload(client, world["supervisor"], world["pkp"], export(line(1, "2026-06"), huge))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["created"], body["rejected"]) == (1, 1)
    [rejected] = [row for row in body["rows"] if row["outcome"] == "rejected"]
    assert rejected["field"] == "declared_income" and rejected["row"] == 3


@pytest.mark.parametrize("typed", ["٠١٢٣٤٥٦٧٨٩١", "２３１９０００００１２", "2319000001２"])
def test_a_national_kpj_of_digits_that_are_not_ascii_is_refused(typed):
    """Hole: national_kpj took any Unicode decimal digits ('٠' is a zero), so a KPJ in iuran's own block passed the
    block check, and the same number typed in ASCII and in full-width digits could be two members' KPJs."""
    with pytest.raises(KpjError):
        national_kpj(typed)


# --- issue 12: passwords in API answers ------------------------------------------------------------------


def test_every_api_answer_that_carries_a_password_or_a_token_is_no_store(client, world):
    """Hole: POST /staff and /staff/{id}/password-reset answer a temporary password, POST /branches/{id}/agents
    an agent's first password, and /auth/token a bearer token, each without Cache-Control: no-store, so a
    proxy or the browser's cache could keep a credential (the /admin pages showing the same send no-store)."""
    supervisor = world["supervisor"]
    created = client.post(
        "/api/v1/staff",
        json={"username": "kasir.dua", "full_name": "Kasir Dua", "role": "branch_finance", "branch_id": world["pkp"]},
        headers=supervisor.headers,
    )
    reset = client.post(f"/api/v1/staff/{created.get_json()['user']['id']}/password-reset", headers=supervisor.headers)
    token = client.post("/api/v1/auth/token", json={"username": "finance.pkp", "password": PASSWORD})
    with client.application.app_context():
        wadah_id = db.session.get(Agent, world["agent"].agent_id).wadah_id
    enrolled = client.post(
        f"/api/v1/branches/{world['pkp']}/agents",
        json=agent_body(wadah_id),
        headers=supervisor.headers | {"Idempotency-Key": str(uuid.uuid4())},
    )

    answers = {"staff": created, "reset": reset, "token": token, "agent": enrolled}
    assert [a.status_code for a in answers.values()] == [201, 200, 201, 201]
    assert {name: a.headers.get("Cache-Control") for name, a in answers.items()} == dict.fromkeys(answers, "no-store")


# --- issue 12: the roster's replayed enrolment ------------------------------------------------------------


def test_a_replayed_enrolment_does_not_replace_the_password_the_agent_chose(client, world):
    """Hole: a retry of an enrolment with its Idempotency-Key gave the agent a new first password whenever he had
    no session or token yet; an agent who had chosen his own password (POST /auth/password, which starts none) had
    it silently replaced by one the replaying supervisor knew, and no longer marked to be changed."""
    with client.application.app_context():
        wadah_id = db.session.get(Agent, world["agent"].agent_id).wadah_id
    url = f"/api/v1/branches/{world['pkp']}/agents"
    headers = world["supervisor"].headers | {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(url, json=agent_body(wadah_id), headers=headers).get_json()
    own = {"username": first["username"], "password": first["initial_password"], "new_password": "kopi pagi di pasar"}
    assert client.post("/api/v1/auth/password", json=own).status_code == 200

    again = client.post(url, json=agent_body(wadah_id), headers=headers)

    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    assert again.get_json().get("initial_password") is None
    login = client.post("/api/v1/auth/token", json={"username": first["username"], "password": own["new_password"]})
    assert login.status_code == 201, login.get_json()


# --- issue 12: remittance acknowledgements at once -------------------------------------------------------


@pytest.mark.postgresql_only
def test_a_second_acknowledgement_at_the_same_moment_is_a_409_and_not_audited_as_done(pinned_app, client, world, enrol):
    """Hole: two acknowledgements of a file at once, with different references: the later one's UPDATE (WHERE not yet
    acknowledged) changed nothing, yet it answered 200 and the audit log recorded its reference as the file's."""
    member = enrol()
    paid = client.post(
        "/api/v1/contributions",
        json={"member_id": member["id"], "months": 1},
        headers=world["agent"].headers | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert paid.status_code == 201
    with pinned_app.app_context():
        made = make_file(db.session, world["pkp"], NOW)
        assert made is not None
        file_id = made.id
    with pinned_app.app_context():
        engine = db.engine
    raced = []

    def other_desk_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE remittance_files") and not raced:
            raced.append(True)
            with engine.begin() as other:  # the other finance desk's request commits first
                other.execute(
                    update(RemittanceFile)
                    .where(RemittanceFile.id == file_id)
                    .values(
                        acknowledged_at=NOW, acknowledged_by_user_id=world["admin"].id, acknowledgement_reference="A-1"
                    )
                )

    event.listen(engine, "before_cursor_execute", other_desk_first)
    try:
        late = client.post(
            f"/api/v1/remittance-files/{file_id}/acknowledgement",
            json={"reference": "B-2"},
            headers=world["finance"].headers,
        )
    finally:
        event.remove(engine, "before_cursor_execute", other_desk_first)

    assert raced
    assert late.status_code == 409, late.get_json()
    with pinned_app.app_context():
        audited = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "remittance_file.acknowledged"))
        assert [e.details["after"]["acknowledgement_reference"] for e in audited] == []
        assert db.session.get(RemittanceFile, file_id).acknowledgement_reference == "A-1"


# --- issue 12: a Wadah sent twice -------------------------------------------------------------------------


def test_a_retried_wadah_creation_makes_no_second_wadah_of_that_name(pinned_app, client, world):
    """Hole: POST /wadahs sent twice (a retry after a lost answer) made two Wadah of one name in the branch, and
    `flask agent create --wadah <name>` then took either; the second is a 409 naming the first."""
    body = {"branch_id": world["pkp"], "name": "Wadah Perisai Gerunggang"}
    first = client.post("/api/v1/wadahs", json=body, headers=world["supervisor"].headers)
    again = client.post(
        "/api/v1/wadahs", json=body | {"name": " wadah perisai  gerunggang"}, headers=world["admin"].headers
    )
    other_branch = client.post(
        "/api/v1/wadahs", json=body | {"branch_id": world["ptk"]}, headers=world["admin"].headers
    )
    renamed = client.post("/api/v1/wadahs", json=body | {"name": "Wadah Dua"}, headers=world["supervisor"].headers)
    rename = client.patch(
        f"/api/v1/wadahs/{renamed.get_json()['id']}", json={"name": body["name"]}, headers=world["supervisor"].headers
    )

    assert (first.status_code, again.status_code, other_branch.status_code) == (201, 409, 201)
    assert str(first.get_json()["id"]) in again.get_json()["message"]
    assert rename.status_code == 409
    with pinned_app.app_context():
        names = db.session.scalars(select(Wadah.name).where(Wadah.branch_id == world["pkp"]))
        assert sorted(names) == ["Wadah Dua", "Wadah Perisai Gerunggang", "Wadah Test"]


# --- issue 12: a long member-agents CSV -------------------------------------------------------------------


def test_a_member_agents_csv_of_more_than_65535_kpjs_is_answered_not_a_500(client, world):
    """Hole: the member-agents CSV looked every KPJ up in one IN (...): a file under the body limit with 66,000 rows
    passed more parameters than PostgreSQL takes in a statement (65,535), and the upload was a 500."""
    text = "kpj,agent_code\n" + "".join(f"2{n:010d},A\n" for n in range(66_000))
    body = (  # made here: the test client would spool a body this large to a file it never closes
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="agents.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + text.encode() + b"\r\n--b--\r\n"
    )
    response = client.post(
        f"/api/v1/branches/{world['pkp']}/member-agents",
        data=body,
        headers=world["supervisor"].headers,
        content_type="multipart/form-data; boundary=b",
    )

    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["rows_total"], response.get_json()["rejected"]) == (66_000, 66_000)


# --- issue 12: numbers a page or the CLI cannot read -------------------------------------------------------


@pytest.mark.parametrize("page", ["/admin/staf", "/admin/wadah"])
def test_an_admins_branch_filter_of_thousands_of_digits_is_ignored_not_a_500(client, world, page):
    """Hole: /admin/staf?cabang= and /admin/wadah?cabang= passed any decimal text to int(): past 4,300 digits
    Python refuses it (ValueError) and the page was a 500."""
    web_login(client, "/admin", "admin")

    response = client.get(f"{page}?cabang={'1' * 5000}")

    assert response.status_code == 200


def test_the_cli_names_a_wadah_it_cannot_read_as_an_id_instead_of_crashing(pinned_app, world):
    """Hole: `flask agent create --wadah ²` took '²' for an id ('²'.isdigit() is true) and died in int()."""
    result = pinned_app.test_cli_runner().invoke(
        args=["agent", "create", "--branch", "PKP", "--nik", "1", "--name", "a b", "--phone", "0812", "--wadah", "²"]
    )

    assert result.exit_code != 0 and not isinstance(result.exception, ValueError), repr(result.exception)
    assert "wadah_id" in result.output
