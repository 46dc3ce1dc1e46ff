"""A pay link whose months shifted since its text (some paid another way, or cover lapsed) opens what the member owes
today instead of a refusal; a link sent to a phone the member no longer has stops working."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from collection.members.models import Member
from collection.members.paylinks import TOKEN_LENGTH, make_token, read_token
from collection.members.position import member_position
from core.clock import app_now
from core.extensions import db
from core.months import Month
from payments.selfpay.models import SelfCharge
from tests.factories import NOW
from tests.payments.selfpay import test_pay_links
from tests.payments.selfpay.test_attack4_links_texts import pay_cash
from tests.payments.selfpay.test_pay_links import (
    LATER,
    charges,
    csrf,
    link_in,
    phone_of,
    reconcile_as_the_job_does,
    secret,
    texts,
)

in_arrears = test_pay_links.in_arrears  # the fixture: a member 3 months in arrears and his arrears notice's link

REMINDED = NOW + timedelta(days=20)  # 12 December 2026: November owed, December's reminder
NEUTRAL = "/peserta/b/" + "A" * TOKEN_LENGTH  # a token of no one: the neutral refusal's page
MONTH_CHOICES = re.compile(r'name="months" value="(\d+)"')


def choices_today(app: Any, member_id: int) -> list[tuple[str, int, int]]:
    with app.app_context():
        member = db.session.get(Member, member_id)
        position = member_position(db.session, member, app_now().date())
        return [(str(c.first), c.months, c.amount_idr) for c in position.choices]


def set_phone(app: Any, member_id: int, phone: str) -> None:
    with app.app_context():
        db.session.get(Member, member_id).phone = phone
        db.session.commit()


@pytest.fixture
def reminded(pinned_app: Any, enrol: Any, monkeypatch: Any) -> dict[str, Any]:
    """A member owing November whose reminder of 12 December (with its link for November and December) the nightly
    job has written; he reads it that morning."""
    member = enrol(name="suyanto hadi", sector="other")
    reconcile_as_the_job_does(pinned_app, monkeypatch, REMINDED)
    pinned_app.config["CLOCK"] = lambda: REMINDED + timedelta(hours=3)
    [(_, body)] = texts(pinned_app, "due_reminder")
    link = link_in(body)
    token = read_token(secret(pinned_app), link.rsplit("/", 1)[1], phone_of(pinned_app, member["id"]))
    assert token is not None and (str(token.first_month), token.months) == ("2026-11", 2)
    return member | {"link": link}


def test_a_link_whose_months_were_partly_paid_in_cash_opens_what_he_owes_now(
    pinned_app, client, world, reminded, sandbox
):
    assert 'id="link-changed"' not in client.get(reminded["link"]).get_data(as_text=True)  # as the text said
    pay_cash(client, world, reminded["id"], 1)  # November at the agent; December, the reminder's month, still open
    page = client.get(reminded["link"])
    body = page.get_data(as_text=True)

    assert page.status_code == 200, body[:300]
    assert 'id="link-changed"' in body and "berubah" in body  # the short note, in Indonesian
    today = choices_today(pinned_app, reminded["id"])
    assert [(first, months) for first, months, _ in today[:2]] == [("2026-12", 1), ("2026-12", 3)]
    assert MONTH_CHOICES.findall(body) == [str(months) for _, months, _ in today]  # the member's page's choices
    assert f"Rp{today[0][2]:,}".replace(",", ".") in body
    # still only the masked name and amounts
    assert "Su*** Ha***" in body and "suyanto" not in body.lower().replace("su***", "")
    assert reminded["kpj"] not in body and reminded["nik"] not in body and "0812" not in body

    other = {"method": "va", "months": "1", "member_id": str(reminded["id"] + 1), "csrf_token": csrf(client)}
    opened = client.post(reminded["link"], data=other)
    assert opened.status_code == 303, opened.get_data(as_text=True)[:300]
    [charge] = charges(pinned_app)
    assert (charge.member_id, str(charge.first_month), charge.months, charge.origin) == (
        reminded["id"],
        "2026-12",
        1,
        "link",
    )
    assert charge.amount_idr == today[0][2]
    shown = client.get(opened.headers["Location"])  # the charge's page, under the link
    assert shown.status_code == 200 and charge.va_number in shown.get_data(as_text=True)


def test_a_shifted_link_opens_only_one_of_todays_choices(pinned_app, client, world, reminded, sandbox):
    pay_cash(client, world, reminded["id"], 1)
    for months in ("", "2", "0", "99999"):  # none of today's choices (1, 3, 6, 12): asked again, nothing opened
        answer = client.post(reminded["link"], data={"method": "va", "months": months, "csrf_token": csrf(client)})
        assert answer.status_code == 303 and answer.headers["Location"].endswith(reminded["link"]), months
    assert charges(pinned_app) == []
    assert "Pilih berapa bulan" in client.get(reminded["link"]).get_data(as_text=True)


def test_a_paid_link_says_so_until_a_new_month_falls_due(pinned_app, client, world, reminded):
    """'Already paid' (410) while the link's months are paid and nothing is overdue; once another month falls due
    within its 7 days, the link opens what he owes then."""
    phone = phone_of(pinned_app, reminded["id"])
    november = make_token(secret(pinned_app), reminded["id"], Month(2026, 11), 1, REMINDED, phone=phone)
    assert 'id="link-changed"' not in client.get(f"/peserta/b/{november}").get_data(as_text=True)
    pay_cash(client, world, reminded["id"], 1)  # November, the link's month, paid at the agent
    paid = client.get(f"/peserta/b/{november}")
    assert paid.status_code == 410 and "sudah dibayar" in paid.get_data(as_text=True)

    pinned_app.config["CLOCK"] = lambda: REMINDED + timedelta(days=5)  # 17 December: December is overdue
    page = client.get(f"/peserta/b/{november}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="link-changed"' in body
    assert choices_today(pinned_app, reminded["id"])[0][:2] == ("2026-12", 1)


def test_a_charge_of_other_months_shows_under_links_issued_before_it_only(pinned_app, client, in_arrears):
    """A charge of re-priced months is shown under the link it was opened from (issued before it), not under a link
    of other months issued after it."""
    with pinned_app.app_context():
        charge = SelfCharge(
            member_id=in_arrears["id"],
            provider="midtrans",
            method="virtual_account",
            first_month=Month(2026, 12),
            months=2,
            amount_idr=1000,
            status="pending",
            origin="link",
            expires_at=LATER + timedelta(days=1),
            created_at=LATER + timedelta(hours=3),
        )
        db.session.add(charge)
        db.session.commit()
        charge_id = charge.id
    pinned_app.config["CLOCK"] = lambda: LATER + timedelta(hours=5)
    phone = phone_of(pinned_app, in_arrears["id"])
    issued = LATER + timedelta(hours=4)
    later = make_token(secret(pinned_app), in_arrears["id"], Month(2026, 11), 3, issued, phone=phone)
    assert client.get(f"/peserta/b/{later}").status_code == 200
    assert client.get(f"{in_arrears['link']}/{charge_id}").status_code == 200
    assert client.get(f"/peserta/b/{later}/{charge_id}").status_code == 404


def test_a_link_stops_working_when_the_members_phone_changes(pinned_app, client, in_arrears, sandbox):
    old_phone = phone_of(pinned_app, in_arrears["id"])
    assert client.get(in_arrears["link"]).status_code == 200
    set_phone(pinned_app, in_arrears["id"], "+6281399990000")  # he has a new number: the old one may be someone's

    gone = client.get(in_arrears["link"])
    assert gone.status_code == 404
    assert gone.get_data(as_text=True) == client.get(NEUTRAL).get_data(as_text=True)  # the neutral refusal
    assert client.post(in_arrears["link"], data={"method": "va", "csrf_token": csrf(client)}).status_code == 404
    assert charges(pinned_app) == []

    new_link = make_token(secret(pinned_app), in_arrears["id"], Month(2026, 11), 3, LATER, phone="+6281399990000")
    assert client.get(f"/peserta/b/{new_link}").status_code == 200  # a text to the new number works
    assert len(new_link) == TOKEN_LENGTH == 28  # the phone is signed, not carried
    set_phone(pinned_app, in_arrears["id"], old_phone)
    assert client.get(in_arrears["link"]).status_code == 200  # bound to the number, not to a moment


def test_a_link_of_a_member_without_a_phone_is_refused_once_he_has_one(pinned_app, client, in_arrears):
    with pinned_app.app_context():
        member = db.session.get(Member, in_arrears["id"])
        member.phone = None
        db.session.commit()
    no_phone = make_token(secret(pinned_app), in_arrears["id"], Month(2026, 11), 3, LATER, phone=None)
    assert client.get(f"/peserta/b/{no_phone}").status_code == 200
    set_phone(pinned_app, in_arrears["id"], "+6281399990000")
    assert client.get(f"/peserta/b/{no_phone}").status_code == 404
