"""A debit that failed for good texts the member a pay link, as the nightly reminders do: on the one-by-one path and
in bulk alike, for the debit's months and any owed before them, opening his payment, in two SMS parts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from collection.members.paylinks import LINK_PATH, TOKEN_LENGTH, read_token, signer_of
from core.extensions import db
from core.months import Month
from core.outbox import OutboxMessage
from payments.autodebit.models import DebitRequest
from payments.autodebit.providers import configured_providers
from payments.autodebit.services import process_webhook_events
from tests.factories import NOW, sent_debit
from tests.payments.autodebit.test_batches import callback, members  # noqa: F401 (fixture)
from tests.payments.autodebit.test_batches import process as batches_process

BASE = "https://iuran.bpjsketenagakerjaan.go.id"  # a PUBLIC_BASE_URL as long as a real one (39 characters)
TWO_PARTS = 306  # characters of a two-part SMS (GSM 7-bit): the other texts with a link fit in it too


def process(app: Any, bulk: bool) -> int:
    return batches_process(app, bulk=bulk, links=signer_of(app.config))  # with the signer, as the worker job runs


def last_try_fails(app: Any, client: Any, member_id: int, tag: str, month: tuple[int, int] = (2026, 11)) -> None:
    """The member's debit for ``month`` on its last try, and the provider's refusal of it."""
    order = sent_debit(app, member_id, f"SBX-{tag}-{member_id}", first_month=month, order_id=f"IUR-{tag}-{member_id}")[
        2
    ]
    with app.app_context():
        db.session.execute(update(DebitRequest).where(DebitRequest.member_id == member_id).values(attempts=4))
        db.session.commit()
    callback(client, order, "deny")


def failed_text(app: Any) -> str:
    with app.app_context():
        [body] = db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.kind == "debit_failed")).all()
    return body


def texted_phone(app: Any) -> str:
    """The phone the failed debit's text went to (the member's on record: his link is bound to it)."""
    with app.app_context():
        [phone] = db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.kind == "debit_failed")).all()
    return phone


@pytest.mark.parametrize("bulk", [False, True], ids=["one_by_one", "bulk"])
def test_a_debit_failed_for_good_texts_a_pay_link_for_its_month(pinned_app, client, members, bulk):  # noqa: F811
    pinned_app.config["PUBLIC_BASE_URL"] = BASE
    [member_id] = members(1)
    last_try_fails(pinned_app, client, member_id, "F")
    assert process(pinned_app, bulk) == 1

    body = failed_text(pinned_app)
    assert body.startswith("BPJS Ketenagakerjaan: autodebet iuran 2026-11 gagal (saldo tidak cukup).")
    head, link = body.rsplit(" Bayar online: ", 1)
    assert "Bayar lewat agen Perisai" in head and link.startswith(BASE + LINK_PATH)
    token = link.removeprefix(BASE + LINK_PATH)
    assert len(token) == TOKEN_LENGTH and len(body) <= TWO_PARTS
    named = read_token(str(pinned_app.config["SECRET_KEY"]), token, texted_phone(pinned_app))
    assert named is not None and (named.member_id, named.first_month, named.months) == (member_id, Month(2026, 11), 1)
    assert client.get(LINK_PATH + token).status_code == 200  # it opens his payment of that month


@pytest.mark.parametrize("bulk", [False, True], ids=["one_by_one", "bulk"])
def test_the_link_takes_the_months_owed_before_the_debits_month_too(pinned_app, client, members, bulk):  # noqa: F811
    """A month owed before the debit's comes first (a link for the debit's month alone would not open)."""
    [member_id] = members(1)
    later = NOW + timedelta(days=28)  # 20 December: November is owed, December's debit failed
    pinned_app.config["CLOCK"] = lambda: later
    last_try_fails(pinned_app, client, member_id, "G", month=(2026, 12))
    assert process(pinned_app, bulk) == 1

    token = failed_text(pinned_app).rsplit(LINK_PATH, 1)[1]
    named = read_token(str(pinned_app.config["SECRET_KEY"]), token, texted_phone(pinned_app))
    assert named is not None and (named.first_month, named.months) == (Month(2026, 11), 2)
    assert client.get(LINK_PATH + token).status_code == 200


def test_without_a_signer_the_text_is_as_before(pinned_app, client, members):  # noqa: F811
    [member_id] = members(1)
    last_try_fails(pinned_app, client, member_id, "H")
    with pinned_app.app_context():
        process_webhook_events(
            db.session, configured_providers(pinned_app.config), NOW, pinned_app.config["PUBLIC_BASE_URL"]
        )
    assert "Bayar online" not in failed_text(pinned_app)
