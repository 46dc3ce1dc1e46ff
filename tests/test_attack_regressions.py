"""The holes an attacker found (issue 10), each held shut by a test that failed before its fix.

Body limits on chunked bodies, sessions that end at logout, login timing and throttles (also with Redis
away), security headers, CR/LF in ``next``, a database outage as a 503, a hung Redis, and a form that waited
on the phone across a logout.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

import organisation.logins
from app import create_app
from core.clock import app_now, utcnow
from core.errors import is_database_outage
from core.extensions import db
from core.guards import UPLOAD_RULES
from organisation.logins import (
    SESSION_ROWS_KEPT_DAYS,
    end_sessions_of,
    end_web_session,
    purge_web_sessions,
    safe_next,
    start_web_session,
    user_for_web_session,
)
from organisation.models import Agent, Branch, Role, StaffUser, Wadah, WebSession
from organisation.services import hash_password
from payments.ledger.models import Payment
from tests import servers
from tests.agents.field.test_pages import csrf, login, payments
from tests.factories import PASSWORD

# --- 1. bodies: the limit holds for what is read, chunked or not -------------------------------------


class EndlessBody:
    """A request body with no Content-Length (chunked), counting what the app reads of it."""
    def __init__(self, total: int, filler: bytes = b" ") -> None:
        self.total = total
        self.filler = filler
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        left = self.total - self.read_bytes
        size = left if size is None or size < 0 else min(size, left)
        size = min(size, 1 << 20)
        self.read_bytes += size
        return self.filler * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def send_chunked(client: Any, path: str, body: EndlessBody, **headers: str) -> Any:
    return client.post(
        path,
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked", **headers},
        # what gunicorn hands the app for a chunked body: its stream, and that the stream ends by itself
        environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True},
    )


def test_a_chunked_body_without_a_login_is_cut_off_at_the_limit_not_read_whole(client, world):
    body = EndlessBody(64 * 1024 * 1024)

    response = send_chunked(client, "/api/v1/members", body)

    assert response.status_code == 413
    assert response.get_json()["code"] == 413
    assert body.read_bytes <= 2 * 1024 * 1024  # 1 MB and one read past it, not 64 MB


def test_a_chunked_callback_is_cut_off_at_the_callbacks_limit(client, world):
    body = EndlessBody(16 * 1024 * 1024)

    response = send_chunked(client, "/webhooks/midtrans", body)

    assert response.status_code == 413
    assert body.read_bytes <= 1024 * 1024


def test_a_body_that_says_it_is_too_large_is_refused_before_it_is_read(client, world):
    body = EndlessBody(5 * 1024 * 1024)
    response = client.post(
        "/api/v1/members",
        headers={"Content-Type": "application/json"},
        environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(body.total)},
    )

    assert response.status_code == 413
    assert "body" in response.get_json()["errors"]
    assert body.read_bytes == 0


# --- 3. a logout ends the session on the server -------------------------------------------------------


def session_cookie(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_a_cookie_copied_before_the_logout_records_no_cash_after_it(app, client, world, enrol):
    member = enrol()
    login(client)
    page = client.get(f"/agen/anggota/{member['id']}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    copied = session_cookie(client)

    assert client.post("/agen/keluar", data={"csrf_token": token}).status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", copied)
    form = {"csrf_token": token, "idempotency_key": str(uuid.uuid4()), "months": "1"}
    replayed = thief.post(f"/agen/anggota/{member['id']}/bayar", data=form)
    assert replayed.status_code == 302 and "/agen/masuk" in replayed.headers["Location"]
    assert thief.get("/agen/").status_code == 302
    assert payments(app) == 0


def test_a_finance_cookie_copied_before_the_logout_opens_no_page_after_it(app, client, world):
    token = csrf(client, "/keuangan/masuk")
    client.post("/keuangan/masuk", data={"csrf_token": token, "username": "finance.pkp", "password": PASSWORD})
    assert client.get("/keuangan/batch").status_code == 200
    copied = session_cookie(client)
    page = client.get("/keuangan/batch").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    client.post("/keuangan/keluar", data={"csrf_token": form_token})

    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/keuangan/batch").status_code == 302


def test_ending_a_users_sessions_ends_his_cookies_and_tokens_at_once(app, client, world):
    login(client)
    assert client.get("/agen/").status_code == 200
    assert client.get("/api/v1/branches", headers=world["agent"].headers).status_code == 200

    with app.app_context():
        assert end_sessions_of(db.session, world["agent"].id, world["admin"].id, app_now()) == 2
        db.session.commit()

    assert client.get("/agen/").status_code == 302
    assert client.get("/api/v1/branches", headers=world["agent"].headers).status_code == 401


# --- 4. logins: one timing, a throttle per address, kept while Redis is away ---------------------------


def test_an_unknown_username_is_checked_against_a_hash_like_a_known_one(client, world, monkeypatch):
    checked: list[str] = []
    real = organisation.logins.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(organisation.logins, "check_password_hash", counting)

    for path in ("/agen/masuk", "/keuangan/masuk"):
        data = {"csrf_token": csrf(client, path), "username": "nobody.here", "password": "wrong"}
        assert client.post(path, data=data).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"}).status_code == 401

    assert len(checked) == 3  # the dummy hash, each time: the answer takes a real check's time


def test_guessing_across_many_usernames_from_one_address_is_throttled(app, client, world):
    limit = app.config["LOGIN_FAILURES_PER_ADDRESS"]
    statuses = []
    for number in range(limit + 2):
        data = {"csrf_token": csrf(client), "username": f"guess.{number % 12}", "password": f"wrong{number}"}
        statuses.append(client.post("/agen/masuk", data=data).status_code)

    assert statuses[:limit] == [401] * limit
    assert statuses[limit:] == [429, 429]
    throttled = login(client)  # the right password of a real user, from the same address
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0


@pytest.fixture
def app_without_redis(database_url: str, instance_path: Any, tmp_path: Any) -> Any:
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": f"unix://{tmp_path}/nothing-listens-here.sock",
            "SECRET_KEY": "test",
        }
    )


@pytest.mark.sqlite_only
def test_the_login_throttle_holds_while_redis_is_down(app_without_redis, make_staff_on):
    make_staff_on(app_without_redis)
    client = app_without_redis.test_client()

    statuses = [login(client, password="wrong").status_code for _ in range(6)]

    assert statuses == [401] * 5 + [429]


@pytest.fixture
def make_staff_on() -> Any:
    """An agent account on another app than the ``app`` fixture's (an app whose Redis is away, say)."""
    def make(app: Any) -> None:
        with app.app_context():
            branch = Branch(code="PKP", name="PKP", province_code="19", regency_code="1971", timezone="Asia/Jakarta")
            db.session.add(branch)
            db.session.flush()
            user = StaffUser(
                username="agent.pkp",
                password_hash=hash_password(PASSWORD),
                full_name="Agent",
                role=Role.AGENT,
                branch_id=branch.id,
            )
            wadah = Wadah(branch_id=branch.id, name="Wadah")
            db.session.add_all([user, wadah])
            db.session.flush()
            db.session.add(Agent(user_id=user.id, branch_id=branch.id, wadah_id=wadah.id, code="A-1"))
            db.session.commit()

    return make


def test_every_answer_carries_the_security_headers(client, world):
    for path in ("/agen/masuk", "/keuangan/masuk", "/api/v1/openapi.json", "/r/NOSUCHCODE"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert "'unsafe-inline'" not in client.get("/agen/masuk").headers["Content-Security-Policy"]


def test_the_session_cookie_is_secure_by_default(monkeypatch, database_url, redis_url, instance_path):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "test"})
    response = app.test_client().get("/agen/masuk")  # makes the session's CSRF token

    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


# --- 7. CR/LF in next ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_path, username, home",
    [("/agen/masuk", "agent.pkp", "/agen/"), ("/keuangan/masuk", "finance.pkp", "/keuangan/batch")],
)
@pytest.mark.parametrize(
    "next_",
    ["%2Fagen%2F%0D%0ASet-Cookie%3A%20x%3D1", "%2Fkeuangan%2F%0D%0ASet-Cookie%3A%20x%3D1", "//evil.example/agen/"],
)
def test_a_next_with_a_line_break_or_another_host_logs_in_and_goes_home(client, world, app_path, username, home, next_):
    data = {"csrf_token": csrf(client, app_path), "username": username, "password": PASSWORD}

    response = client.post(f"{app_path}?next={next_}", data=data)

    assert response.status_code in (302, 303)
    assert response.headers["Location"] == home
    assert "x=1" not in response.headers.get("Set-Cookie", "")


def test_safe_next_keeps_a_plain_path_of_the_app():
    assert safe_next("/agen/anggota/7?x=1", "/agen/") == "/agen/anggota/7?x=1"
    assert safe_next("/agen/\r\nX: y", "/agen/") is None
    assert safe_next("/agen/\\evil", "/agen/") is None
    assert safe_next("/keuangan/", "/agen/") is None


# --- 8. the database away: 503 with Retry-After, and back when it is ------------------------------------


@pytest.fixture
def crashable_postgres(instance_path: Any, redis_url: str) -> Any:
    """An app on a PostgreSQL cluster of its own, which the test may crash and restart."""
    import flask_migrate

    cluster = servers.start_postgres()
    try:
        url = servers.create_database(cluster.url, "iuran_outage")
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "SECRET_KEY": "t"})
        with app.app_context():
            flask_migrate.upgrade()
        yield app, cluster
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
    finally:
        cluster.stop()


def test_a_postgresql_outage_answers_503_with_retry_after_and_the_service_comes_back(crashable_postgres, make_staff_on):
    app, cluster = crashable_postgres
    make_staff_on(app)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get("/api/v1/branches", headers=headers).status_code == 200

    servers.admin_execute(cluster.url, "CHECKPOINT")  # the test cluster commits asynchronously (fsync off)
    cluster.crash()
    try:
        down = client.get("/api/v1/branches", headers=headers)
        refused_login = client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": PASSWORD})
    finally:
        cluster.restart()

    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5"
    assert down.get_json()["code"] == 503
    assert refused_login.status_code == 503
    back = client.get("/api/v1/branches", headers=headers)  # a broken pooled connection was thrown away
    if back.status_code == 503:  # at most the one request that finds the pool's last dead connection
        back = client.get("/api/v1/branches", headers=headers)
    assert back.status_code == 200


def test_a_bad_query_is_not_mistaken_for_an_outage():
    import sqlite3

    from sqlalchemy import exc

    locked = exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))
    syntax = exc.OperationalError("SELEC 1", {}, sqlite3.OperationalError('near "SELEC": syntax error'))
    integrity = exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed"))

    assert is_database_outage(locked)
    assert not is_database_outage(syntax)
    assert not is_database_outage(integrity)


# --- 9. a hung Redis holds no committed answer -----------------------------------------------------------


@pytest.fixture
def hung_redis() -> Any:
    """A private Redis server, frozen with SIGSTOP (it accepts connections and never answers)."""
    server = servers.start_redis()
    try:
        yield server
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


def test_cash_is_recorded_while_redis_hangs_and_the_login_throttle_still_counts(
    database_url, instance_path, hung_redis, make_staff_on
):
    from tests.factories import enrolment

    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": hung_redis.url, "SECRET_KEY": "t"}
    )
    make_staff_on(app)
    client = app.test_client()
    headers = {
        "Authorization": "Bearer "
        + client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": PASSWORD}).get_json()[
            "access_token"
        ]
    }
    member = client.post("/api/v1/members", json=enrolment(), headers=headers).get_json()
    os.kill(hung_redis.process.pid, signal.SIGSTOP)

    answers: list[int] = []

    def pay_three_times() -> None:
        for _ in range(3):
            response = client.post(
                "/api/v1/contributions",
                json={"member_id": member["id"], "months": 1},
                headers=headers | {"Idempotency-Key": str(uuid.uuid4())},
            )
            answers.append(response.status_code)
        for _ in range(6):
            answers.append(login(client, password="wrong").status_code)

    worker = threading.Thread(target=pay_three_times, daemon=True)
    worker.start()
    worker.join(timeout=60)  # a bound, not a timing: before the fix the first answer never came

    assert not worker.is_alive(), f"requests still waiting on the frozen Redis after {answers}"
    assert answers[:3] == [201, 201, 201]
    assert answers[3:] == [401] * 5 + [429]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 3
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


# --- 10. a form that waited on the phone across a logout and a login -------------------------------------


def member_form(client: Any, member_id: int) -> dict[str, str]:
    page = client.get(f"/agen/anggota/{member_id}").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    owner = re.search(r'name="key_owner" value="([^"]+)"', page).group(1)
    return {"csrf_token": token, "idempotency_key": key, "key_owner": owner, "months": "1"}


def json_post(client: Any, path: str, data: dict[str, str]) -> Any:
    return client.post(path, data=data, headers={"Accept": "application/json"})


def test_a_form_queued_before_a_logout_is_accepted_after_a_new_login_with_its_session_token(app, client, world, enrol):
    member = enrol()
    login(client)
    queued = member_form(client, member["id"])
    client.post("/agen/keluar", data={"csrf_token": queued["csrf_token"]})
    login(client)

    stale = json_post(client, f"/agen/anggota/{member['id']}/bayar", queued)
    assert stale.status_code == 400 and stale.get_json()["reason"] == "csrf"  # the phone keeps it and retries

    live = client.get("/agen/sesi").get_json()
    assert live["user_id"] == str(world["agent"].id)
    sent = json_post(client, f"/agen/anggota/{member['id']}/bayar", queued | {"csrf_token": live["csrf_token"]})
    again = json_post(client, f"/agen/anggota/{member['id']}/bayar", queued | {"csrf_token": live["csrf_token"]})

    assert sent.status_code == 201
    assert again.status_code == 200 and again.get_json()["number"] == sent.get_json()["number"]
    assert payments(app) == 1


def test_a_form_queued_by_one_agent_is_not_booked_for_another_who_logs_in_on_the_phone(
    app, client, world, enrol, make_staff
):
    member = enrol()
    other = make_staff("agent", world["pkp"], "agent2.pkp")
    login(client)
    queued = member_form(client, member["id"])
    client.post("/agen/keluar", data={"csrf_token": queued["csrf_token"]})
    login(client, "agent2.pkp")

    live = client.get("/agen/sesi").get_json()
    assert live["user_id"] == str(other.id)
    refused = json_post(client, f"/agen/anggota/{member['id']}/bayar", queued | {"csrf_token": live["csrf_token"]})

    assert refused.status_code == 409
    assert refused.get_json()["reason"] == "queued_by_other_agent"
    forged = queued | {"csrf_token": live["csrf_token"], "key_owner": f"{other.id}.{'0' * 32}"}
    assert json_post(client, f"/agen/anggota/{member['id']}/bayar", forged).status_code == 409
    assert payments(app) == 0


def test_the_session_state_needs_a_login(client, world):
    response = client.get("/agen/sesi")

    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"


def test_every_upload_rule_names_a_route_of_the_app(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()}

    assert UPLOAD_RULES <= rules  # a renamed upload route would otherwise fall back to the 1 MB limit


def test_guesses_sent_in_parallel_get_no_more_tries_than_the_throttle_allows(app, world):
    """Each try is counted before its password is checked: twelve at once still get five checks."""
    answers: list[int] = []

    def guess(number: int) -> None:
        client = app.test_client()
        response = client.post("/api/v1/auth/token", json={"username": "agent.pkp", "password": f"wrong-{number}"})
        answers.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [401] * app.config["LOGIN_ATTEMPTS"] + [429] * (12 - app.config["LOGIN_ATTEMPTS"])


def test_the_operator_ends_every_session_of_a_user_from_the_command_line(app, client, world):
    login(client)
    assert client.get("/agen/").status_code == 200

    result = app.test_cli_runner().invoke(args=["end-sessions", "agent.pkp"])
    unknown = app.test_cli_runner().invoke(args=["end-sessions", "nobody"])

    assert result.exit_code == 0 and "2 sessions and tokens ended" in result.output
    assert client.get("/agen/").status_code == 302
    assert client.get("/api/v1/branches", headers=world["agent"].headers).status_code == 401
    assert unknown.exit_code != 0 and "no user" in unknown.output


def test_the_rows_of_sessions_that_ended_a_month_ago_are_purged_and_live_ones_kept(app, world):
    now = utcnow()
    long_ago = now - timedelta(days=SESSION_ROWS_KEPT_DAYS + 5)
    with app.app_context():
        user = db.session.get(StaffUser, world["agent"].id)
        live = start_web_session(db.session, user, "agen", now, 3600)
        expired = start_web_session(db.session, user, "agen", long_ago, 3600)
        logged_out = start_web_session(db.session, user, "agen", long_ago, 90 * 24 * 3600)
        recently_out = start_web_session(db.session, user, "agen", now - timedelta(days=1), 3600)
        db.session.commit()
        end_web_session(db.session, logged_out, long_ago + timedelta(hours=1))
        end_web_session(db.session, recently_out, now - timedelta(hours=20))
        db.session.commit()

        assert purge_web_sessions(db.session, now) == 2
        assert db.session.scalar(select(func.count()).select_from(WebSession)) == 2
        assert purge_web_sessions(db.session, now) == 0
        assert user_for_web_session(db.session, live, now) is not None  # the live one still logs its user in
        assert user_for_web_session(db.session, expired, now) is None
