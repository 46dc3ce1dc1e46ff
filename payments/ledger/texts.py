"""The ledger's sentences: what the services return as codes and figures (an alert), worded in the reader's
language for the API's messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from flask import g
from flask_babel import force_locale, gettext

from core.i18n import day_label, rupiah, stored_text


def alert_text(alert: Any) -> str | None:
    """A branch alert (payments/ledger/models.py ``BranchAlert``) in the reader's language."""
    if alert.held_idr is None:
        return stored_text(alert.message) if alert.message else alert.message  # raised before its figures were stored
    code = alert.agent.code if alert.agent is not None else "?"
    return cash_alert_text(code, alert.held_idr, alert.oldest_on, alert.due_by)


def cash_alert_text(code: str, held_idr: int, oldest_on: date | None, due_by: date | None) -> str:
    """An agent blocked by the cash rules: what he holds and, when it is overdue, since when."""
    if oldest_on is not None:
        return gettext(
            "Agent %(code)s holds %(amount)s undeposited, oldest from %(day)s (due by %(due)s): new cash is blocked "
            "until a deposit is recorded.",
            code=code,
            amount=rupiah(held_idr),
            day=day_label(oldest_on),
            due=day_label(due_by),
        )
    return gettext(
        "Agent %(code)s holds %(amount)s undeposited: new cash is blocked until a deposit is recorded.",
        code=code,
        amount=rupiah(held_idr),
    )


@contextmanager
def in_indonesian() -> Iterator[None]:
    """Word texts in Bahasa Indonesia whatever the request's language (a text message to the branch's people)."""
    before = g.get("lang")
    g.lang = "id"
    try:
        with force_locale("id"):
            yield
    finally:
        g.lang = before
