"""The finance desk's reports: arrears ageing, collections per day, coverage against targets, collections by
channel, the agent scorecard and sponsor retention, each with its CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext

from collection.sponsors import programmes as sponsors
from core.charts import Series, bar_chart, thousands
from core.clock import app_now
from core.csvexport import csv_filename
from core.errors import DomainError
from core.extensions import db
from core.i18n import label, rupiah
from payments.finance import reports
from payments.finance.desk import (
    DEFAULT_REPORT_DAYS,
    FIRST_TARGET_YEAR,
    LAST_TARGET_YEAR,
    MAX_REPORT_DAYS,
    bp,
    branch_today,
    csv_response,
    date_arg,
    finance_required,
    month_range,
    refusal_page,
    wants_csv,
)

MAX_TARGET_ROWS = 600  # as the API's TargetsRequestSchema
MAX_TARGET_BYTES = 200_000


COLLECTIONS_HEADER = (
    "date",
    "cash_idr",
    "auto_debit_idr",
    "sponsor_idr",
    "bank_transfer_idr",
    "virtual_account_idr",
    "qris_idr",
    "total_idr",
    "payments",
)


@bp.get("/setoran-harian")
@finance_required
def collections_page() -> ResponseReturnValue:
    """Settled contributions per day by channel (the last 30 days by default), with a stacked chart."""
    last = date_arg("to", branch_today())
    first = date_arg("from", last - timedelta(days=DEFAULT_REPORT_DAYS - 1))
    if first > last:
        return refusal_page(DomainError(gettext("'From' is after 'to': swap them.")), status=400)
    if (last - first).days >= MAX_REPORT_DAYS:
        return refusal_page(DomainError(gettext("At most %(days)s days at a time.", days=MAX_REPORT_DAYS)), status=400)
    days = reports.collections_per_day(db.session, g.branch, first, last)
    if wants_csv():
        rows = [[d.day, *(getattr(d, f) for f in CHANNEL_FIELDS), d.total_idr, d.payments] for d in days]
        return csv_response(csv_filename("collections", g.branch.code, first, last), COLLECTIONS_HEADER, rows)
    best = max(days, key=lambda d: d.total_idr)
    channels = (("cash", "cash_idr"), ("auto_debit", "auto_debit_idr"), ("sponsor", "sponsor_idr"))
    series = [Series(label("channel", key), [getattr(d, name) for d in days]) for key, name in channels]
    series.append(Series(gettext("Bank transfer"), [d.bank_transfer_idr for d in days]))
    for key, name in (("virtual_account", "virtual_account_idr"), ("qris", "qris_idr")):
        series.append(Series(label("channel", key), [getattr(d, name) for d in days]))
    chart = bar_chart(
        [f"{d.day:%d/%m}" for d in days],
        series,
        title=gettext("Contributions per day by channel"),
        description=gettext(
            "%(days)s days, %(total)s in all; the highest day %(best)s on %(best_day)s.",
            days=len(days),
            total=rupiah(sum(d.total_idr for d in days)),
            best=rupiah(best.total_idr),
            best_day=best.day.isoformat(),
        ),
        stacked=True,
        width=960,
        height=300,
    )
    totals = reports.ChannelTotals.sum_of(days)
    return render_template("keuangan/collections.html", days=days, first=first, last=last, chart=chart, totals=totals)


COVERAGE_HEADER = (
    "year",
    "regency_code",
    "regency_name",
    "active_members",
    "target_population",
    "coverage_percent",
    "source",
)


TARGET_COLUMNS = ("regency_code", "target_population", "source")


def _year_arg() -> int:
    text = request.args.get("year", "").strip()
    if not text:
        return branch_today().year
    if not text.isdecimal() or not FIRST_TARGET_YEAR <= int(text) <= LAST_TARGET_YEAR:
        abort(
            make_response(
                refusal_page(
                    DomainError(gettext("Not a year: write e.g. 2026 (2015–2100).") + f" (year={text[:20]})"),
                    status=400,
                )
            )
        )
    return int(text)


def percent(value: float | None) -> str:
    """``12.5`` → ``12,5%``; no target → ``–``."""
    return "–" if value is None else thousands(float(value)) + "%"


@bp.get("/cakupan")
@finance_required
def coverage_page() -> ResponseReturnValue:
    """Active members per regency or city against the target population the branch entered for a year."""
    year = _year_arg()
    if wants_csv():
        rows = [
            [year, r.regency_code, r.regency_name, r.active_members, r.target_population, r.coverage_percent, r.source]
            for r in reports.coverage_by_regency(db.session, g.branch, year)
        ]
        return csv_response(csv_filename("coverage", g.branch.code, year), COVERAGE_HEADER, rows)
    return _render_coverage(year)


def _render_coverage(
    year: int, status: int = 200, error: DomainError | None = None, row_errors: Sequence[str] = (), typed: str = ""
) -> Any:
    rows = reports.coverage_by_regency(db.session, g.branch, year)
    charted = [r for r in rows if r.coverage_percent is not None]
    chart = None
    if charted:
        values = [float(cast(float, r.coverage_percent)) for r in charted]
        chart = bar_chart(
            [r.regency_name for r in charted],
            [Series(gettext("Coverage"), values, "#2f6db5")],
            title=gettext("Active members against the target, %(year)s", year=year),
            description=gettext(
                "%(regencies)s regencies: %(text)s.",
                regencies=len(charted),
                text="; ".join(f"{r.regency_name} {percent(r.coverage_percent)}" for r in charted),
            ),
            format_value=lambda v: thousands(v) + "%",
            height=260,
        )
    totals = {
        "active_members": sum(r.active_members for r in rows),
        "target_population": sum(r.target_population or 0 for r in charted),
        "active_with_target": sum(r.active_members for r in charted),
    }
    overall = (
        round(100 * totals["active_with_target"] / totals["target_population"], 1)
        if totals["target_population"]
        else None
    )
    g.page_url = url_for("keuangan.coverage_page")
    page = render_template(
        "keuangan/coverage.html",
        year=year,
        rows=rows,
        chart=chart,
        totals=totals,
        overall=overall,
        percent=percent,
        error=error,
        row_errors=row_errors,
        typed=typed,
    )
    return page, status


@bp.post("/cakupan/target")
@finance_required
def set_coverage_targets() -> ResponseReturnValue:
    """Enter or replace the year's targets from the textarea or an uploaded CSV (regency_code,
    target_population,source); every bad row is named and nothing is saved."""
    year_text = request.form.get("year", "").strip()
    if not year_text.isdecimal() or not FIRST_TARGET_YEAR <= int(year_text) <= LAST_TARGET_YEAR:
        return refusal_page(
            DomainError(gettext("Not a year: write e.g. 2026 (2015–2100).") + f" (year={year_text[:20]})"), status=400
        )
    year = int(year_text)
    typed = request.form.get("targets", "")
    upload = request.files.get("file")
    lines: list[int] = []
    try:
        if upload is not None and upload.filename:
            content = upload.read(MAX_TARGET_BYTES + 1)
            if len(content) > MAX_TARGET_BYTES:
                raise DomainError(gettext("The file is over %(kb)s KB.", kb=MAX_TARGET_BYTES // 1000))
            text = content.decode("utf-8-sig", errors="replace")
        else:
            text = typed
        rows, lines = _target_rows(text)
        reports.set_targets(db.session, g.branch, year, rows, g.user.id)
    except DomainError as error:
        db.session.rollback()
        return _render_coverage(year, error.status, error, _target_errors(error, lines), typed)
    flash(gettext("%(rows)s targets for %(year)s saved.", rows=len(rows), year=year))
    return redirect(url_for("keuangan.coverage_page", year=year), code=303)


def _target_rows(text: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows for set_targets from CSV text (a header row is optional), and each row's line in the text.

    A target typed the Indonesian way (``120.000``) is read as a number; anything else is passed on as typed,
    so that set_targets names the row. The rows go to set_targets as they were typed: it checks them all.
    """
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, raw in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in raw]
        if not any(cells) or (number == 1 and cells[0].lower() == TARGET_COLUMNS[0]):
            continue
        code, target, source = [*cells, "", "", ""][:3]
        digits = target.replace(".", "").replace(" ", "")
        number_typed = digits.isdecimal() and len(digits) <= 10  # a longer one is passed as text, to be refused
        rows.append(
            {"regency_code": code, "target_population": int(digits) if number_typed else target, "source": source}
        )
        lines.append(number)
    if not rows:
        raise DomainError(gettext("Type or upload at least one target row."))
    if len(rows) > MAX_TARGET_ROWS:
        raise DomainError(gettext("At most %(rows)s rows at a time.", rows=MAX_TARGET_ROWS))
    return rows, lines


def _target_errors(error: DomainError, lines: Sequence[int]) -> list[str]:
    """set_targets' messages per row, each named by its line in what was typed or uploaded."""
    per_row = ((error.errors or {}).get("json") or {}).get("targets") or {}
    found = []
    for index in sorted(per_row, key=int):
        line = lines[int(index)] if int(index) < len(lines) else int(index) + 1
        for field, messages in per_row[index].items():
            found.append(
                gettext("Line %(line)s, %(field)s: %(message)s", line=line, field=field, message=" ".join(messages))
            )
    return found


CHANNEL_FIELDS = ("cash_idr", "auto_debit_idr", "sponsor_idr", "bank_transfer_idr", "virtual_account_idr", "qris_idr")
CHANNEL_HEADER = ("month", *CHANNEL_FIELDS, "total_idr", "payments")
CHANNEL_TEXTS = ("cash", "auto_debit", "sponsor", "bank_transfer", "virtual_account", "qris")


@bp.get("/saluran")
@finance_required
def channels_page() -> ResponseReturnValue:
    """Settled contributions per month by channel (the last 12 months by default), with a stacked chart."""
    first, last = month_range(default_months=12)
    months = reports.collections_by_channel(db.session, g.branch, first, last)
    if wants_csv():
        rows = [[m.month, *(getattr(m, f) for f in CHANNEL_FIELDS), m.total_idr, m.payments] for m in months]
        return csv_response(csv_filename("collections-by-channel", g.branch.code, first, last), CHANNEL_HEADER, rows)
    channels = zip(CHANNEL_TEXTS, CHANNEL_FIELDS, strict=True)
    series = [Series(label("channel", key), [getattr(m, name) for m in months]) for key, name in channels]
    best = max(months, key=lambda m: m.total_idr)
    chart = bar_chart(
        [str(m.month) for m in months],
        series,
        title=gettext("Contributions per month by channel"),
        description=ngettext(
            "%(num)s month, %(total)s in all; the highest month %(best)s in %(best_month)s.",
            "%(num)s months, %(total)s in all; the highest month %(best)s in %(best_month)s.",
            len(months),
            total=rupiah(sum(m.total_idr for m in months)),
            best=rupiah(best.total_idr),
            best_month=str(best.month),
        ),
        stacked=True,
        width=960,
        height=300,
    )
    totals = reports.ChannelTotals.sum_of(months)
    return render_template("keuangan/channels.html", months=months, first=first, last=last, chart=chart, totals=totals)


SCORECARD_HEADER = (
    "from",
    "to",
    "agent_id",
    "agent_code",
    "agent_name",
    "status",
    "members_enrolled",
    "collected_idr",
    "payments",
    "average_deposit_delay_days",
    "undeposited_idr",
    "batches_approved",
    "batches_returned",
    "variance_idr",
    "members_lapsed",
)


SCORECARD_SUMS = (
    "members_enrolled",
    "collected_idr",
    "payments",
    "undeposited_idr",
    "batches_approved",
    "batches_returned",
    "variance_idr",
    "members_lapsed",
)


def days(value: float | None) -> str:
    """An average delay in days, ``1,5``; none to average → ``–``."""
    return "–" if value is None else thousands(float(value))


@bp.get("/kinerja")
@finance_required
def scorecard_page() -> ResponseReturnValue:
    """Each agent over the months asked (this month by default): enrolled, collected, how fast his cash
    reached the bank, what finance found in his batches, and how many of his members lapsed."""
    first, last = month_range(default_months=1)
    rows = reports.agent_scorecard(db.session, g.branch, first.first_day(), last.last_day())
    if wants_csv():
        body = [
            [
                first,
                last,
                r.agent_id,
                r.agent_code,
                r.agent_name,
                r.status,
                r.members_enrolled,
                r.collected_idr,
                r.payments,
                r.average_deposit_delay_days,
                r.undeposited_idr,
                r.batches_approved,
                r.batches_returned,
                r.variance_idr,
                r.members_lapsed,
            ]
            for r in rows
        ]
        return csv_response(csv_filename("agent-scorecard", g.branch.code, first, last), SCORECARD_HEADER, body)
    chart = None
    if rows:
        best = max(rows, key=lambda r: r.collected_idr)
        chart = bar_chart(
            [r.agent_code for r in rows],
            [
                Series(gettext("Collected"), [r.collected_idr for r in rows]),
                Series(gettext("Undeposited"), [r.undeposited_idr for r in rows], "#b00020"),
            ],
            title=gettext("Collected and undeposited per agent"),
            description=gettext(
                "%(agents)s agents, %(total)s collected in all; the highest %(best)s (%(agent)s).",
                agents=len(rows),
                total=rupiah(sum(r.collected_idr for r in rows)),
                best=rupiah(best.collected_idr),
                agent=best.agent_code,
            ),
            height=280,
        )
    totals = {name: sum(getattr(r, name) for r in rows) for name in SCORECARD_SUMS}
    return render_template(
        "keuangan/scorecard.html", rows=rows, first=first, last=last, chart=chart, totals=totals, days=days
    )


RETENTION_HEADER = (
    "on",
    "programme_id",
    "programme_code",
    "programme_name",
    "sponsor",
    "last_month",
    "members",
    "months_after",
    "month",
    "due_on",
    "measured",
    "paying",
    "share_percent",
)


def share_percent(share: float | None) -> float | None:
    """A share (0.4167) as a percentage with one decimal (41.7)."""
    return None if share is None else round(100 * share, 1)


@bp.get("/retensi")
@finance_required
def retention_page() -> ResponseReturnValue:
    """Per sponsor programme of the branch: the share of its members still paying 1, 3, 6 and 12 months
    after the sponsorship ended (a point is measured once that month's due date has passed)."""
    on = date_arg("on", branch_today())
    try:
        programmes = [f for f in sponsors.list_programmes(db.session, g.user) if f.programme.branch_id == g.branch.id]
        measured = [(f, sponsors.retention(db.session, g.user, f.programme.id, on, app_now())) for f in programmes]
    except DomainError as refused:
        return refusal_page(refused)
    if wants_csv():
        rows = [
            [
                r.on,
                r.programme_id,
                r.code,
                f.programme.name,
                f.sponsor.name,
                r.last_month,
                r.members,
                p.months_after,
                p.month,
                p.due_on,
                p.measured,
                p.paying,
                share_percent(p.share),
            ]
            for f, r in measured
            for p in r.points
        ]
        return csv_response(csv_filename("sponsor-retention", g.branch.code, on), RETENTION_HEADER, rows)
    chart = None
    if measured:
        points = sponsors.RETENTION_POINTS
        chart = bar_chart(
            [r.code for _, r in measured],
            [
                Series(
                    gettext("%(n)s mo. after", n=k),
                    [share_percent(r.points[i].share) or 0.0 for _, r in measured],
                )
                for i, k in enumerate(points)
            ],
            title=gettext("Members still paying after sponsorship"),
            description=gettext(
                "%(programmes)s programmes; points not measured yet are drawn at 0.", programmes=len(measured)
            ),
            format_value=lambda v: thousands(v) + "%",
            height=280,
        )
    return render_template(
        "keuangan/retention.html",
        measured=measured,
        on=on,
        chart=chart,
        points=sponsors.RETENTION_POINTS,
        percent=percent,
        share_percent=share_percent,
    )
