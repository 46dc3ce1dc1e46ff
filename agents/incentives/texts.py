"""Incentive statements in the reader's words: the rule (rules.py) gives each line a reason code and its figures,
and these functions word them, in Bahasa Indonesia or English, for the pages, the CSVs and the API's messages.

The pages get their lines and Wadah shares through ``worded`` and ``worded_share``: the same values, with
``rate_label`` and ``explanation`` worded in the request's language.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, cast

from babel.numbers import format_decimal
from flask_babel import gettext, ngettext, pgettext

from agents.incentives.rules import AgentStatement, LineKind, Reason, StatementLine, WadahStatement
from core.i18n import day_label, language, month_label, rupiah
from core.months import Month

CSV_COLUMNS = (
    "kind",
    "member_id",
    "payment_id",
    "contribution_month",
    "base_idr",
    "rate_label",
    "amount_idr",
    "reason",
    "explanation",
)


def percent(rate_bp: int) -> str:
    """``1500`` → ``15%``; ``1250`` → ``12,5%`` (``12.5%``)."""
    return format_decimal(rate_bp / 100, format="#,##0.##", locale=language()) + "%"


def signed_rupiah(amount_idr: int) -> str:
    return ("-" if amount_idr < 0 else "") + rupiah(abs(amount_idr))


def rate_label(line: StatementLine) -> str:
    """The rate of a line: ``15% (month 7)``, ``Rp15.000 (JKK+JKM+JHT)``, or the carried amount's word."""
    if line.kind == LineKind.CARRIED:
        return pgettext("incentive_rate", "carried")
    if line.kind == LineKind.ACQUISITION:
        return gettext("%(fee)s (%(package)s)", fee=rupiah(line.base_idr), package=str(line.facts.get("package", "")))
    return gettext("%(rate)s (month %(number)s)", rate=percent(line.rate_bp or 0), number=line.month_number)


def _day(line: StatementLine, name: str) -> str:
    value = line.facts.get(name)
    return day_label(value) if isinstance(value, date) else "–"


def _month(line: StatementLine, name: str) -> str:
    value = line.facts.get(name)
    return month_label(value) if isinstance(value, Month) else "–"


def _number(line: StatementLine, name: str) -> int:
    value = line.facts.get(name)
    return value if isinstance(value, int) else 0


def explanation(line: StatementLine) -> str:
    """How the line's figure was computed, from its reason code and figures."""
    reason = line.reason
    if reason == Reason.CARRIED:
        return gettext(
            "%(amount)s carried from %(month)s, where clawbacks exceeded earnings",
            amount=signed_rupiah(line.amount_idr),
            month=_month(line, "carried_from"),
        )
    if reason == Reason.REENROLMENT:
        return gettext(
            "enrolled on %(day)s; NIK registered before: a re-enrolment earns no fee and does not count",
            day=_day(line, "enrolled_on"),
        )
    if reason == Reason.UNDER_THRESHOLD:
        return gettext(
            "enrolled on %(day)s; %(count)s new NIKs this month, fewer than %(threshold)s: no fee",
            day=_day(line, "enrolled_on"),
            count=_number(line, "new_nik_count"),
            threshold=_number(line, "threshold"),
        )
    if reason == Reason.NEW_NIK:
        return gettext(
            "enrolled on %(day)s; new NIK, one of %(count)s this month (at least %(threshold)s)",
            day=_day(line, "enrolled_on"),
            count=_number(line, "new_nik_count"),
            threshold=_number(line, "threshold"),
        )
    if reason == Reason.COLLECTED:
        return gettext(
            "%(amount)s for %(month)s collected on %(collected)s, eligible on %(eligible)s; contribution month "
            "%(number)s",
            **_collection_figures(line),
        )
    if reason == Reason.PAST_LAST_BAND:
        return gettext(
            "%(amount)s for %(month)s collected on %(collected)s, eligible on %(eligible)s; contribution month "
            "%(number)s, past the last paid band: no collection incentive",
            **_collection_figures(line),
        )
    if reason == Reason.REVERSED:
        return gettext(
            "payment reversed on %(day)s: takes back the %(earned)s it earned in %(month)s",
            day=_day(line, "reversed_on"),
            earned=rupiah(_number(line, "earned_idr")),
            month=_month(line, "earned_in"),
        )
    return gettext(
        "collected on %(day)s; earns once its cash is deposited and finance approves the batch",
        day=_day(line, "collected_on"),
    )


def share_explanation(share: WadahStatement) -> str:
    """How a Wadah's share was computed."""
    text = ngettext(
        "%(rate)s of %(base)s, what %(num)s agent is paid for %(month)s, rounded half up",
        "%(rate)s of %(base)s, what %(num)s agents are paid for %(month)s, rounded half up",
        len(share.agent_totals),
        rate=percent(share.rate_bp),
        base=rupiah(share.base_idr),
        month=month_label(share.month),
    )
    if share.carrying_agents:
        text += ngettext(
            "; %(num)s agent with a negative month adds nothing and carries it to his next month",
            "; %(num)s agents with a negative month add nothing and carry it to their next month",
            share.carrying_agents,
        )
    return text


@dataclass(frozen=True)
class Worded:
    """A statement line or a Wadah's share as the pages show it: its values, and its words in the reader's
    language (``rate_label``, ``explanation``)."""

    of: Any
    rate_label: str
    explanation: str

    def __getattr__(self, name: str) -> Any:
        if name == "of":  # not set yet (a copy being made): no value to ask
            raise AttributeError(name)
        return getattr(self.of, name)


def worded(line: StatementLine) -> Worded:
    return Worded(line, rate_label(line), explanation(line))


def worded_share(share: WadahStatement) -> Worded:
    return Worded(share, "", share_explanation(share))


def worded_statement(statement: AgentStatement) -> AgentStatement:
    """The statement with every line worded (a Worded stands in for each line: same values, and its words)."""
    return replace(
        statement,
        lines=tuple(cast(StatementLine, worded(line)) for line in statement.lines),
        pending_lines=tuple(cast(StatementLine, worded(line)) for line in statement.pending_lines),
    )


def csv_row(line: StatementLine) -> tuple[str | int, ...]:
    """The line as a CSV row, in the order of CSV_COLUMNS (blank for what does not apply), worded for the reader."""
    return (
        line.kind.value,
        "" if line.member_id is None else line.member_id,
        "" if line.payment_id is None else line.payment_id,
        "" if line.contribution_month is None else str(line.contribution_month),
        line.base_idr,
        rate_label(line),
        line.amount_idr,
        line.reason.value,
        explanation(line),
    )


def _collection_figures(line: Any) -> dict[str, object]:
    """The figures of a collected month's line, as both of its explanations word them."""
    return {
        "amount": rupiah(line.base_idr),
        "month": month_label(line.contribution_month),
        "collected": _day(line, "collected_on"),
        "eligible": _day(line, "eligible_on"),
        "number": line.month_number,
    }
