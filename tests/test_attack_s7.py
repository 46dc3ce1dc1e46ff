"""Attacks on issue 15/16's merged changes from the outside: /peserta's codes raced, the finance desk's
"approve the clean batches" clicked twice at once, the language's inputs malformed. A hole found is a test here."""

# ruff: noqa: F811  (the tests take test_desk's ``day`` fixture, imported)

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from core.extensions import db
from payments.finance.models import MatchProposal
from payments.selfpay import signin
from payments.selfpay.models import MemberCode, MemberSession
from tests.factories import nik_for
from tests.payments.finance.test_desk import (  # noqa: F401
    DAY,
    batch_id,
    batch_status,
    day,
    deposit,
    form_token,
    logged_in,
    pay,
    token,
)
from tests.payments.finance.test_desk_actions import approvals_logged
from tests.payments.selfpay.conftest import CSRF, ask_code, last_code, send_code


def _share_session(source: Any, target: Any) -> None:
    """The second browser holds the first one's signed session cookie (its challenge)."""
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)
    with target.session_transaction() as session:
        session["csrf"] = CSRF


def _in_step(monkeypatch: Any, parties: int) -> None:
    """Every caller of verify_code reads its code's row, then they compare the code together: the race made sure.
    A caller blocked by a row lock never reaches the barrier; the others go on after a moment."""
    barrier = threading.Barrier(parties)
    real = signin.same_digest

    def together(a: str, b: str) -> bool:
        try:
            barrier.wait(timeout=3)
        except threading.BrokenBarrierError:
            pass
        return real(a, b)

    monkeypatch.setattr(signin, "same_digest", together)


def _race(calls: list[Any]) -> list[Any]:
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.postgresql_only
def test_one_code_sent_twice_at_once_opens_one_session(pinned_app, client, enrol, monkeypatch):
    member = enrol()
    assert ask_code(client, member["kpj"]).status_code == 303
    code = last_code(pinned_app)
    other = pinned_app.test_client()
    _share_session(client, other)
    _in_step(monkeypatch, 2)

    answers = _race([lambda: send_code(client, code), lambda: send_code(other, code)])

    assert sorted(a.status_code for a in answers) == [303, 401]
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MemberSession)) == 1


@pytest.mark.postgresql_only
def test_wrong_codes_sent_at_once_are_each_counted_against_the_code(pinned_app, client, enrol, monkeypatch):
    member = enrol()
    assert ask_code(client, member["kpj"]).status_code == 303
    right = last_code(pinned_app)
    browsers = [client] + [pinned_app.test_client() for _ in range(3)]
    for other in browsers[1:]:
        _share_session(client, other)
    _in_step(monkeypatch, len(browsers))
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    _race([lambda b=b: send_code(b, wrong) for b in browsers])

    with pinned_app.app_context():
        assert db.session.scalar(select(MemberCode.attempts).where(MemberCode.member_id == member["id"])) == 4


# --- the finance desk -------------------------------------------------------------------------------------


@pytest.mark.postgresql_only
def test_approve_clean_clicked_twice_at_once_approves_and_audits_each_batch_once(pinned_app, client, day):
    first, second = logged_in(pinned_app, "finance.pkp"), logged_in(pinned_app, "finance.pkp")
    path = f"/keuangan/batch?date={DAY}"
    tokens = [form_token(first, path), form_token(second, path)]
    clean = batch_id(pinned_app, day, "agent_c")

    answers = _race(
        [
            lambda: first.post(f"/keuangan/batch/setujui-bersih?date={DAY}", data={"csrf_token": tokens[0]}),
            lambda: second.post(f"/keuangan/batch/setujui-bersih?date={DAY}", data={"csrf_token": tokens[1]}),
        ]
    )

    assert [a.status_code for a in answers] == [303, 303]
    assert batch_status(pinned_app, clean) == "approved"
    assert approvals_logged(pinned_app, clean) == 1
    for who in ("agent", "agent_b"):
        assert batch_status(pinned_app, batch_id(pinned_app, day, who)) == "closed"


def test_approve_clean_without_the_forms_token_changes_nothing(pinned_app, client, day):
    finance = logged_in(pinned_app, "finance.pkp")
    clean = batch_id(pinned_app, day, "agent_c")

    answer = finance.post(f"/keuangan/batch/setujui-bersih?date={DAY}", data={})

    assert answer.status_code in (400, 403)
    assert batch_status(pinned_app, clean) == "closed"


# --- languages ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/keuangan/masuk", "/peserta/masuk", "/api/v1/branches", "/agen/masuk"])
def test_malformed_language_inputs_are_no_500_and_set_no_cookie(client, path):
    for query, cookie, accept in (
        ("?lang=../../etc/passwd", None, None),
        ("?lang=id%0d%0aSet-Cookie:%20x=1", None, None),
        ("", "id\r\nSet-Cookie: x=1", None),
        ("", "../../../../en", None),
        ("", None, "id;q=0.9, " * 10_000),
        ("", None, "\x00\x01;q=abc"),
    ):
        if cookie is not None:
            client.set_cookie("lang", cookie)
        else:
            client.delete_cookie("lang")
        headers = {"Accept-Language": accept} if accept is not None else {}
        answer = client.get(path + query, headers=headers)
        assert answer.status_code < 500, (query, cookie, answer.status_code)
        assert all("x=1" not in h for h in answer.headers.getlist("Set-Cookie"))
        assert not any(h.startswith("lang=") for h in answer.headers.getlist("Set-Cookie"))


# --- enumeration ------------------------------------------------------------------------------------------------


def _statuses_of_wrong_codes(app: Any, identifier: str, codes: int = 3, tries: int = 4) -> list[int]:
    """Ask ``codes`` codes for ``identifier`` and send ``tries`` wrong codes to each: the statuses, in order."""
    statuses = []
    for _ in range(codes):
        browser = app.test_client()
        assert ask_code(browser, identifier).status_code == 303
        for _ in range(tries):
            statuses.append(send_code(browser, "000000" if last_code(app) != "000000" else "000001").status_code)
    return statuses


def test_wrong_codes_for_a_member_and_for_a_stranger_get_the_same_answers(pinned_app, client, enrol):
    member = enrol()

    known = _statuses_of_wrong_codes(pinned_app, member["kpj"])
    unknown = _statuses_of_wrong_codes(pinned_app, "19710000099")

    assert known == unknown


# --- a deposit by number in a proposal --------------------------------------------------------------------------


def _unmatched_line(client: Any) -> tuple[str, str]:
    page = client.get("/keuangan/mutasi").get_data(as_text=True)
    line = re.search(r'action="/keuangan/mutasi/(\d+)/usul"', page)
    assert line is not None
    return line.group(1), token(page)


def test_another_branchs_deposit_by_number_reads_as_absent(pinned_app, client, day, enrol):
    """A deposit of Pontianak named in Pangkalpinang's proposal: the same refusal as a number nobody has."""
    member = enrol(as_="ptk_agent", nik=nik_for(serial=41))
    theirs = deposit(client, day["ptk_agent"], pay(client, day["ptk_agent"], member["id"])["amount_idr"], "PTK-1")
    finance = logged_in(pinned_app, "finance.pkp")
    answers = {}
    for name, number in (("theirs", str(theirs["id"])), ("nobodys", "987654")):
        line, csrf = _unmatched_line(finance)
        form = {"csrf_token": csrf, "action": "deposit", "deposit_other": f"#{number}", "reason": "slip cocok"}
        answer = finance.post(f"/keuangan/mutasi/{line}/usul", data=form)
        text = (
            answer.get_data(as_text=True)
            .replace(f"Setoran {number} ", "Setoran N ")
            .replace(f'value="{number}"', 'value="N"')
        )
        answers[name] = (answer.status_code, re.sub(r'name="csrf_token" value="[^"]*"', "", text))

    assert answers["theirs"][0] == 422
    assert answers["theirs"] == answers["nobodys"]
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MatchProposal)) == 0


@pytest.mark.parametrize("number", ["9999999999", "99999999999999999999", "\u0663", "-1", "#", "1e3", "0", "1\x00"])
def test_a_malformed_deposit_number_is_a_4xx_not_a_500(pinned_app, client, day, number):
    finance = logged_in(pinned_app, "finance.pkp")
    line, csrf = _unmatched_line(finance)

    answer = finance.post(
        f"/keuangan/mutasi/{line}/usul",
        data={"csrf_token": csrf, "action": "deposit", "deposit_other": number, "reason": "slip cocok"},
    )

    assert 400 <= answer.status_code < 500, answer.status_code
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MatchProposal)) == 0


# --- huge and malformed input, error pages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/peserta/masuk", "/peserta/kode", "/keuangan/batch/setujui-bersih", "/api/v1/branches/1/batches/approve-clean"],
)
def test_a_ten_megabyte_body_is_refused_without_a_500(client, path):
    answer = client.post(
        path, data=b"identifier=" + b"1" * (10 * 1024 * 1024), content_type="application/x-www-form-urlencoded"
    )

    assert 400 <= answer.status_code < 500, answer.status_code
    assert "Traceback" not in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "field",
    [
        {"identifier": "1971000\x000099", "birth_date": "1990-01-12"},
        {"identifier": "19710000099", "birth_date": "1990\x00-01-12"},
    ],
)
def test_nul_in_the_members_sign_in_is_a_4xx(pinned_app, client, field):
    with client.session_transaction() as session:
        session["csrf"] = CSRF

    answer = client.post("/peserta/masuk", data=field | {"csrf_token": CSRF})

    assert 400 <= answer.status_code < 500
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MemberCode)) == 0


@pytest.mark.parametrize(
    ("path", "html"),
    [
        ("/agen/tidak-ada", True),
        ("/keuangan/tidak-ada", True),
        ("/admin/tidak-ada", True),
        ("/api/v1/tidak-ada", False),
    ],
)
def test_an_unknown_path_answers_in_its_desks_form(client, path, html):
    answer = client.get(path, headers={"Accept": "*/*"})

    assert answer.status_code == 404
    assert answer.mimetype == ("text/html" if html else "application/json")
    assert "Traceback" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("on", ["0001-01-01", "9999-12-31", "1900-02-29", "2026-13-01"])
def test_approve_clean_for_a_day_at_the_calendars_edge_is_no_500(pinned_app, client, world, on):
    branch = world["finance"].branch_id
    api = client.post(
        f"/api/v1/branches/{branch}/batches/approve-clean", json={"date": on}, headers=world["finance"].headers
    )
    finance = logged_in(pinned_app, "finance.pkp")
    page = finance.get(f"/keuangan/batch?date={on}")
    csrf = form_token(finance, "/keuangan/batch")
    posted = finance.post(f"/keuangan/batch/setujui-bersih?date={on}", data={"csrf_token": csrf})

    assert [a.status_code < 500 for a in (api, page, posted)] == [True] * 3, (
        api.status_code,
        page.status_code,
        posted.status_code,
    )


@pytest.mark.parametrize(
    "query", ["page=99999999999999999999", "page=-1", "page=abc", "page=" + "1" * 5000, "page=\u0663"]
)
@pytest.mark.parametrize("path", ["/keuangan/tunggakan", "/keuangan/mutasi", "/keuangan/batch"])
def test_the_desks_pages_take_any_page_number_without_a_500(pinned_app, world, path, query):
    finance = logged_in(pinned_app, "finance.pkp")

    answer = finance.get(f"{path}?{query}")

    assert answer.status_code < 500, answer.status_code
    assert "Traceback" not in answer.get_data(as_text=True)
