"""Pay links in reminder and arrears texts: the nightly reconciliation writes them, and they open the payment of
exactly the months the text names, for 7 days, without the one-time code; everything else still wants the code."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from collection.members.models import Member
from collection.members.paylinks import TOKEN_LENGTH, make_token, masked_name, read_token
from collection.members.position import member_position
from core.extensions import db
from core.months import Month
from core.outbox import OutboxMessage
from organisation.models import Branch
from payments.ledger.models import Payment
from payments.selfpay.models import SelfCharge
from tests.factories import NOW
from tests.payments.selfpay.conftest import CSRF, deliver, process, queued_bodies
from tests.test_indonesian_pages import ENGLISH, RAW_CODE, Text
from workers import jobs

LATER = NOW + timedelta(days=60)  # 21 Jan 2027: November, December and January overdue
LINK = re.compile(r"(/peserta/b/[A-Za-z0-9_-]+)")


def reconcile_as_the_job_does(app: Any, monkeypatch: Any, at: datetime) -> None:
    monkeypatch.setattr(jobs, "_app", lambda: app)
    with app.app_context():
        branch_id = db.session.scalar(select(Branch.id).where(Branch.code == "PKP"))
    jobs.reconcile_branch(branch_id, at.isoformat())


def texts(app: Any, kind: str) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (m.recipient, m.body)
            for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by("id"))
        ]


def link_in(body: str) -> str:
    found = LINK.search(body)
    assert found is not None, body
    return found.group(1)


@pytest.fixture
def in_arrears(pinned_app: Any, enrol: Any, monkeypatch: Any) -> dict[str, Any]:
    """A member three months in arrears whose arrears notice (with its link) the nightly job has written."""
    member = enrol(name="suyanto hadi", sector="other")
    reconcile_as_the_job_does(pinned_app, monkeypatch, LATER)
    pinned_app.config["CLOCK"] = lambda: LATER + timedelta(hours=3)
    [(_, body)] = texts(pinned_app, "standing_arrears_1")
    return member | {"link": link_in(body)}


def secret(app: Any) -> str:
    return str(app.config["SECRET_KEY"])


def phone_of(app: Any, member_id: int) -> str | None:
    with app.app_context():
        return db.session.scalar(select(Member.phone).where(Member.id == member_id))


def test_every_arrears_and_reminder_text_of_the_nightly_job_carries_a_short_link(pinned_app, enrol, monkeypatch):
    member = enrol(sector="other")
    reconcile_as_the_job_does(pinned_app, monkeypatch, NOW + timedelta(days=20))  # 12 Dec: Nov owed, Dec's reminder
    reconcile_as_the_job_does(pinned_app, monkeypatch, LATER)  # three months owed
    reconcile_as_the_job_does(pinned_app, monkeypatch, NOW + timedelta(days=90))  # lapsed
    kinds = ("due_reminder", "standing_arrears_1", "standing_arrears_3", "standing_lapsed")
    named = {}
    for kind in kinds:
        [(recipient, body)] = texts(pinned_app, kind)
        path = link_in(body)
        assert body.startswith("BPJS Ketenagakerjaan") and "Bayar online: http" in body
        assert len(path) - len("/peserta/b/") == TOKEN_LENGTH <= 40
        link = read_token(secret(pinned_app), path.rsplit("/", 1)[1], recipient)
        assert link is not None and link.member_id == member["id"]
        named[kind] = (str(link.first_month), link.months)
    assert named == {
        "due_reminder": ("2026-11", 2),  # the month the reminder is about, after the month owed before it
        "standing_arrears_1": ("2026-11", 1),  # the months owed when the text was written
        "standing_arrears_3": ("2026-11", 3),
        "standing_lapsed": ("2027-02", 1),  # the month that starts new cover
    }


def test_the_link_opens_without_a_code_showing_the_masked_name_and_amounts_only(pinned_app, client, in_arrears):
    page = client.get(in_arrears["link"])
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert masked_name("Suyanto Hadi") == "Su*** Ha***" and "Su*** Ha***" in body
    assert "suyanto" not in body.lower().replace("su***", "") and in_arrears["kpj"] not in body
    assert in_arrears["nik"] not in body and "0812" not in body  # no KPJ, NIK or phone
    assert "Nov 2026 – Jan 2027" in body and 'name="method" value="va"' in body
    assert 'name="months"' not in body and 'name="member_id"' not in body  # the link names them, not the form
    assert "Rp" in body and page.headers["Cache-Control"] == "no-store"


def test_the_rest_of_the_members_page_still_wants_the_code(pinned_app, client, in_arrears):
    client.get(in_arrears["link"])
    for path in ("/peserta/", "/peserta/bayar"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/peserta/masuk"), path


def test_paying_by_va_from_the_link_settles_through_to_the_receipt(pinned_app, client, in_arrears, sandbox):
    client.get(in_arrears["link"])
    opened = client.post(in_arrears["link"], data={"method": "va", "csrf_token": csrf(client)})
    assert opened.status_code == 303, opened.get_data(as_text=True)[:300]
    page = client.get(opened.headers["Location"]).get_data(as_text=True)
    [charge] = charges(pinned_app)
    assert (charge.member_id, str(charge.first_month), charge.months, charge.origin) == (
        in_arrears["id"],
        "2026-11",
        3,
        "link",
    )
    assert charge.va_number and charge.va_number in page

    sandbox.pay(charge.order_id)
    deliver(client, queued_bodies(sandbox))
    process(pinned_app)

    with pinned_app.app_context():
        paid = db.session.scalars(select(Payment)).one()
    assert (paid.channel, paid.amount_idr, paid.status) == ("virtual_account", charge.amount_idr, "settled")
    settled = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert 'id="receipt-link"' in settled and "/r/" in settled
    again = client.get(in_arrears["link"])  # the link's months are paid now
    assert again.status_code == 410 and "sudah dibayar" in again.get_data(as_text=True)


def csrf(client: Any) -> str:
    with client.session_transaction() as session:
        session["csrf"] = CSRF
    return CSRF


def charges(app: Any) -> list[SelfCharge]:
    with app.app_context():
        found = list(db.session.scalars(select(SelfCharge).order_by(SelfCharge.id)))
        db.session.expunge_all()
        return found


def test_the_amounts_are_todays(pinned_app, client, in_arrears):
    """The link names months, not amounts: what it shows is what the counter would charge today."""
    with pinned_app.app_context():
        member = db.session.get(Member, in_arrears["id"])
        position = member_position(db.session, member, LATER.date())
        expected = next(c for c in position.choices if c.months == 3).amount_idr
    assert f"{expected:,}".replace(",", ".") in client.get(in_arrears["link"]).get_data(as_text=True)


def test_an_edited_token_is_refused_like_an_unknown_one(pinned_app, client, in_arrears):
    token = in_arrears["link"].rsplit("/", 1)[1]
    edited = token[:-1] + ("A" if token[-1] != "A" else "B")
    phone = phone_of(pinned_app, in_arrears["id"])
    other_member = make_token(secret(pinned_app), in_arrears["id"] + 1, Month(2026, 11), 3, LATER, phone=phone)
    forged = make_token("not-our-secret", in_arrears["id"], Month(2026, 11), 3, LATER, phone=phone)
    answers = [client.get(f"/peserta/b/{t}") for t in (edited, other_member, forged, "short", "x" * 28)]
    assert {a.status_code for a in answers} == {404}
    assert len({a.get_data(as_text=True) for a in answers}) == 1  # one neutral page: no hint of who exists
    assert client.post(f"/peserta/b/{edited}", data={"method": "va", "csrf_token": csrf(client)}).status_code == 404
    assert charges(pinned_app) == []


def test_a_link_is_refused_after_seven_days(pinned_app, client, in_arrears):
    pinned_app.config["CLOCK"] = lambda: LATER + timedelta(days=7, minutes=-1)
    assert client.get(in_arrears["link"]).status_code == 200
    pinned_app.config["CLOCK"] = lambda: LATER + timedelta(days=7, seconds=1)
    expired = client.get(in_arrears["link"])
    assert expired.status_code == 404
    assert expired.get_data(as_text=True) == client.get("/peserta/b/" + "A" * 28).get_data(as_text=True)


def test_a_link_cannot_pay_other_months_or_another_members(pinned_app, client, enrol, in_arrears, sandbox):
    other = enrol(nik=in_arrears["nik"][:-4] + "0002", phone="0812-3456-7891", sector="other")
    client.get(in_arrears["link"])
    # whatever the form adds, the charge is for the token's member and months
    client.post(
        in_arrears["link"],
        data={"method": "va", "months": "12", "member_id": str(other["id"]), "csrf_token": csrf(client)},
    )
    [charge] = charges(pinned_app)
    assert (charge.member_id, charge.months) == (in_arrears["id"], 3)
    # a link for months that are not the member's first open ones opens his choices of today (arrears first)
    later_months = make_token(
        secret(pinned_app), in_arrears["id"], Month(2026, 12), 3, LATER, phone=phone_of(pinned_app, in_arrears["id"])
    )
    repriced = client.get(f"/peserta/b/{later_months}")
    assert repriced.status_code == 200 and 'id="link-changed"' in repriced.get_data(as_text=True)
    # another member's charge is not shown under this link
    other_link = make_token(
        secret(pinned_app), other["id"], Month(2026, 11), 3, LATER, phone=phone_of(pinned_app, other["id"])
    )
    assert client.get(f"/peserta/b/{other_link}/{charge.id}").status_code == 404


def test_refused_links_from_one_address_are_limited(pinned_app, client, in_arrears):
    for _ in range(20):
        assert client.get("/peserta/b/" + "A" * 28).status_code == 404
    limited = client.get(in_arrears["link"])  # even a good link, from that address, for a while
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3600"


@pytest.mark.sqlite_only
def test_the_link_pages_read_in_indonesian(pinned_app, client, in_arrears, sandbox):
    client.get(in_arrears["link"])
    opened = client.post(in_arrears["link"], data={"method": "qris", "csrf_token": csrf(client)})
    pages = {
        "link": client.get(in_arrears["link"]),
        "charge": client.get(opened.headers["Location"]),
        "refused": client.get("/peserta/b/" + "A" * 28),
    }
    english = {}
    for name, answer in pages.items():
        text = Text()
        text.feed(answer.get_data(as_text=True))
        found = [p for p in text.pieces if ENGLISH.search(p) or RAW_CODE.fullmatch(p)]
        if found:
            english[name] = found
    assert english == {}
    assert "Bayar iuran" in pages["link"].get_data(as_text=True)


def test_the_token_round_trips_and_any_changed_character_is_refused():
    token = make_token("secret", 123_456, Month(2026, 11), 3, NOW, phone="+6281234567890")
    link = read_token("secret", token, "+6281234567890")
    assert len(token) == TOKEN_LENGTH == 28 and link is not None
    assert (link.member_id, link.first_month, link.months, link.issued_at) == (123_456, Month(2026, 11), 3, NOW)
    assert link.covered == (Month(2026, 11), Month(2026, 12), Month(2027, 1))
    for i, ch in enumerate(token):
        changed = token[:i] + ("A" if ch != "A" else "B") + token[i + 1 :]
        assert read_token("secret", changed, "+6281234567890") is None, i
    assert read_token("another secret", token, "+6281234567890") is None
    assert read_token("secret", token, "+6281234567891") is None and read_token("secret", token, None) is None
