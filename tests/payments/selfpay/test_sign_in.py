"""/peserta's sign-in: the same neutral answer for every KPJ or NIK, codes that expire, are used once and are
tried a few times only, sessions of half an hour, and a member sees only his own."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from core.extensions import db
from core.outbox import OutboxMessage
from payments.selfpay.codes import CODE_TRIES, CODES_PER_ADDRESS
from payments.selfpay.models import MemberCode, MemberSession
from payments.selfpay.signin import purge_spent
from tests.factories import NOW, nik_for
from tests.payments.selfpay.conftest import CSRF, ask_code, last_code, send_code


def texts(app: Any) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.recipient, OutboxMessage.body).where(OutboxMessage.kind == "member_code")
        )
        return [(r, b) for r, b in rows]


def test_a_known_an_unknown_and_a_wrong_birth_date_get_the_same_answer(pinned_app, client, enrol):
    member = enrol()
    answers = []
    for identifier, born in (
        (member["kpj"], "1990-01-12"),  # the member
        ("19710000099", "1990-01-12"),  # no such KPJ
        (member["kpj"], "1991-02-03"),  # his KPJ, another birth date
        (nik_for(serial=77), "1990-01-12"),  # no such NIK
        (member["nik"], "12-01-1990"),  # his NIK, the date as members write it
    ):
        fresh = pinned_app.test_client()
        first = ask_code(fresh, identifier, born)
        page = fresh.get(first.headers["Location"])
        shown = re.sub(r'name="csrf_token" value="[^"]*"', "", page.get_data(as_text=True))  # masked afresh each time
        answers.append((first.status_code, first.headers["Location"], page.status_code, shown))

    assert len(set(answers)) == 1, "the answers differ between a member and a stranger"
    assert answers[0][:3] == (303, "/peserta/kode", 200)
    sent = texts(pinned_app)
    assert [r for r, _ in sent] == [member["phone"], member["phone"]]  # only his, by KPJ and by NIK
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MemberCode)) == 5  # the same work each time
        assert (
            db.session.scalar(select(func.count()).select_from(MemberCode).where(MemberCode.member_id.is_(None))) == 3
        )


def test_a_bad_identifier_is_a_422_naming_it(client):
    answer = ask_code(client, "12345")
    assert answer.status_code == 422
    assert "KPJ" in answer.get_data(as_text=True)


def test_the_right_code_opens_the_members_page_for_thirty_minutes(pinned_app, client, enrol, sign_in, world):
    member = enrol()
    sign_in(client, member["kpj"])

    page = client.get("/peserta/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert member["name"] in body.upper() or member["name"].title() in body
    assert 'id="paid-through"' in body and 'id="next-due"' in body
    assert "Cache-Control" in page.headers and page.headers["Cache-Control"] == "no-store"

    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(minutes=29)
    assert client.get("/peserta/").status_code == 200
    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(minutes=31)
    ended = client.get("/peserta/")
    assert ended.status_code == 303 and ended.headers["Location"].endswith("/peserta/masuk")


def test_a_staff_session_does_not_open_the_members_page(pinned_app, client, world):
    with client.session_transaction() as session:
        session["sid"] = "anything"
    assert client.get("/peserta/").headers["Location"].endswith("/peserta/masuk")


def test_an_expired_code_is_refused(pinned_app, client, enrol):
    member = enrol()
    ask_code(client, member["kpj"])
    code = last_code(pinned_app)
    pinned_app.config["CLOCK"] = lambda: NOW + timedelta(minutes=5, seconds=1)

    answer = send_code(client, code)

    assert answer.status_code == 401
    assert client.get("/peserta/").status_code == 303


def test_a_used_code_is_refused_the_second_time(pinned_app, client, enrol, sign_in):
    member = enrol()
    ask_code(client, member["kpj"])
    code = last_code(pinned_app)
    with client.session_transaction() as session:
        challenge = session["peserta_challenge"]
    assert send_code(client, code).status_code == 303

    other = pinned_app.test_client()  # someone who copied the browser's challenge and saw the code
    with other.session_transaction() as session:
        session["csrf"], session["peserta_challenge"] = CSRF, challenge
    assert send_code(other, code).status_code == 401
    assert other.get("/peserta/").status_code == 303


def test_a_code_may_be_tried_a_few_times_only(pinned_app, client, enrol):
    member = enrol()
    ask_code(client, member["kpj"])
    code = last_code(pinned_app)
    wrong = "000000" if code != "000000" else "111111"

    answers = [send_code(client, wrong).status_code for _ in range(CODE_TRIES)]
    last = send_code(client, code)

    assert answers == [401] * CODE_TRIES
    assert last.status_code == 401, "the right code after every try was spent must be refused"


def test_codes_asked_from_one_address_are_limited(pinned_app, enrol):
    member = enrol()
    limit, _ = CODES_PER_ADDRESS
    answers = [ask_code(pinned_app.test_client(), f"1971000{n:04d}").status_code for n in range(limit)]
    refused = ask_code(pinned_app.test_client(), member["kpj"])

    assert answers == [303] * limit
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert texts(pinned_app) == []  # the member got nothing from the refused request


def test_codes_for_one_kpj_are_limited_whoever_asks(pinned_app, enrol):
    member = enrol()
    answers = [ask_code(pinned_app.test_client(), member["kpj"]).status_code for _ in range(4)]
    assert answers == [303, 303, 303, 429]
    assert len(texts(pinned_app)) == 3


def test_signing_out_ends_the_session_on_the_server(pinned_app, client, enrol, sign_in):
    member = enrol()
    sign_in(client, member["kpj"])
    with client.session_transaction() as session:
        token = session["peserta"]
    client.post("/peserta/keluar", data={"csrf_token": CSRF})

    copied = pinned_app.test_client()
    with copied.session_transaction() as session:
        session["peserta"] = token
    assert copied.get("/peserta/").status_code == 303


def test_the_page_is_in_indonesian_by_default_and_english_on_request(pinned_app, client, enrol, sign_in):
    member = enrol()
    sign_in(client, member["kpj"])
    indonesian = client.get("/peserta/").get_data(as_text=True)
    english = client.get("/peserta/?lang=en").get_data(as_text=True)
    assert "Kuitansi" in indonesian and "Receipts" not in indonesian
    assert "Receipts" in english


def test_spent_codes_and_ended_sessions_are_purged(pinned_app, client, enrol, sign_in):
    member = enrol()
    sign_in(client, member["kpj"])
    with pinned_app.app_context():
        assert purge_spent(db.session, NOW) == 0  # the code is used but not yet expired, the session live
        assert purge_spent(db.session, NOW + timedelta(minutes=31)) == 2
        assert db.session.scalar(select(func.count()).select_from(MemberSession)) == 0
