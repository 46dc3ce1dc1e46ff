"""A provider's settlement report: its lines checked against what their columns store, kept under the branch of
their order, and matched both ways against our settled debits and members' own charges (orders.py's kinds).

One merchant account's report holds lines of every branch. A branch's finance imports only its own branch's
lines: a line of another branch's order is counted (``not_this_branch``) and left for that branch, a line of no
order we know is counted (``unknown_order``); neither is stored. An admin imports every branch's lines, each
under its own branch. A small file is imported within the request; a large one is kept in the database
(:class:`SettlementImport`) and imported by a worker, chunk by chunk, each chunk committed with its progress.
Re-importing changes nothing: a line is unique per provider, branch and order (``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from collection.members.models import Member
from collection.members.services import Scope
from core import audit
from core.errors import DomainError, NotFound
from core.extensions import DbSession
from core.i18n import API_LANGUAGE as STORED_LANGUAGE
from core.i18n import stored_text, stored_texts
from core.words import N_
from organisation.models import StaffUser
from payments.autodebit import orders
from payments.autodebit.models import DebitAttempt, DebitRequest, Mandate, SettlementImport, SettlementLine
from payments.ledger.models import Payment

COLUMNS = ("order_id", "transaction_id", "gross_amount", "settlement_time")
CHUNK = 5000  # rows looked up and written together: IN-lists stay far below PostgreSQL's 65,535 parameters
ORDER_ID_MAX = 64  # SettlementLine.order_id
TRANSACTION_ID_MAX = 80  # SettlementLine.transaction_id
AMOUNT_MAX_IDR = 2**31 - 1  # SettlementLine.amount_idr is a 32-bit integer on PostgreSQL
ERRORS_SHOWN = 100  # rows named in a refusal; the message says how many more there are
OURS = ("settled", "refunded")  # debit attempts the provider's report should list

_AMOUNT = re.compile(r"^(\d{1,12})(?:\.0{1,2})?$")  # whole rupiah, as Midtrans writes it: 8400 or 8400.00
_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T]\S.*)?$")

Progress = Callable[[int], None]


@dataclass
class SettlementReport:
    """What a report holds, what was new, and what differs from our ledger, for the importer's branch(es)."""

    lines: int
    new_lines: int
    matched: int
    not_this_branch: int
    unknown_order: int
    missing_in_report: list[dict[str, Any]] = field(default_factory=list)
    missing_in_ours: list[dict[str, Any]] = field(default_factory=list)
    amount_mismatch: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Line:
    row: int  # the header is row 1
    order_id: str
    transaction_id: str | None
    amount_idr: int
    settled_on: date


# --- reading and checking, without the database ------------------------------------------------------------------


def _refused(message: str, errors: dict[str, Any]) -> DomainError:
    """The 422 of a file refused: its messages are written in English (stored so for a worker's import) and worded
    here in the reader's language."""
    return DomainError(stored_text(message), errors={"file": stored_texts(errors)})


def _records(content: bytes) -> Iterator[tuple[int, dict[str, str]]]:
    """The file's data rows with their row numbers, read as a stream; a 422 on the header or on a row the CSV
    reader cannot split (an unclosed quote, a field past its size limit, bytes that are not UTF-8)."""
    stream = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    reader = csv.reader(stream)
    row = 0  # the last row read
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        row = 1
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise _refused(
                N_("The CSV needs the columns %(columns)s on its first line; missing %(missing)s.")
                % {"columns": ", ".join(COLUMNS), "missing": ", ".join(missing)},
                {"columns": [N_("missing %(missing)s") % {"missing": ", ".join(missing)}]},
            )
        positions = {c: header.index(c) for c in COLUMNS}
        for record in reader:
            row += 1
            if not any(cell.strip() for cell in record):
                continue
            yield row, {c: record[i] if i < len(record) else "" for c, i in positions.items()}
    except UnicodeDecodeError:
        message = N_("The file is not UTF-8 text: export the report as CSV in UTF-8; nothing was imported.")
        raise _refused(message, {"encoding": [message]}) from None
    except csv.Error as error:
        if row == 0:
            message = N_("The first line cannot be read (%(error)s): look for an unclosed quote; nothing was imported.")
        else:
            message = N_("Row %(row)s cannot be read (%(error)s): look for an unclosed quote; nothing was imported.")
        message %= {"row": row + 1, "error": error}
        raise _refused(message, {"columns" if row == 0 else f"row {row + 1}": [message]}) from None


def check_header(content: bytes) -> None:
    """A 422 now when the file's first line lacks a column (before a large file is queued)."""
    next(_records(content), None)


def check_line(row: int, record: dict[str, str]) -> _Line | dict[str, list[str]]:
    """One row as the columns store it, or the message for each field they cannot store (pure)."""
    problems: dict[str, list[str]] = {}
    order_id = record["order_id"].strip()
    if not order_id:
        problems["order_id"] = [N_("missing: every line names the order_id we sent the provider")]
    elif len(order_id) > ORDER_ID_MAX or not order_id.isprintable():
        problems["order_id"] = [
            N_("not one of our order ids: at most %(max)s printable characters") % {"max": ORDER_ID_MAX}
        ]
    transaction_id = record["transaction_id"].strip() or None
    if transaction_id is not None and (len(transaction_id) > TRANSACTION_ID_MAX or not transaction_id.isprintable()):
        problems["transaction_id"] = [N_("at most %(max)s printable characters") % {"max": TRANSACTION_ID_MAX}]
    amount = _AMOUNT.match(record["gross_amount"].strip())
    amount_idr = int(amount.group(1)) if amount else 0
    if not 1 <= amount_idr <= AMOUNT_MAX_IDR:
        problems["gross_amount"] = [
            N_("a whole rupiah amount from 1 to %(max)s, such as 8400 or 8400.00") % {"max": f"{AMOUNT_MAX_IDR:,}"}
        ]
    time = _TIME.match(record["settlement_time"].strip())
    settled_on = None
    if time:
        try:
            settled_on = date.fromisoformat(time.group(1))
        except ValueError:
            pass
    if settled_on is None:
        problems["settlement_time"] = [N_("a day as YYYY-MM-DD, optionally followed by the time (2026-11-22 10:00:00)")]
    if problems or settled_on is None:
        return problems
    return _Line(row, order_id, transaction_id, amount_idr, settled_on)


@dataclass
class _Summary:
    """What the first reading of a file found: its rows, its days, and each order's row (for repeats)."""

    rows: int = 0
    first: date | None = None
    last: date | None = None
    order_rows: dict[str, int] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    refused: int = 0


def _summarise(content: bytes) -> _Summary:
    """Read the whole file once, checking every row; nothing is kept but the order ids and the refusals."""
    summary = _Summary()
    for row, record in _records(content):
        line = check_line(row, record)
        if isinstance(line, _Line) and line.order_id in summary.order_rows:
            line = {
                "order_id": [N_("repeated: row %(row)s has this order") % {"row": summary.order_rows[line.order_id]}]
            }
        if not isinstance(line, _Line):
            summary.refused += 1
            if len(summary.errors) < ERRORS_SHOWN:
                summary.errors[f"row {row}"] = line
            continue
        summary.rows += 1
        summary.order_rows[line.order_id] = row
        summary.first = min(summary.first or line.settled_on, line.settled_on)
        summary.last = max(summary.last or line.settled_on, line.settled_on)
    return summary


def _refusal(summary: _Summary) -> DomainError:
    more = summary.refused - len(summary.errors)
    if more > 0:
        message = N_(
            "%(rows)s rows of the CSV cannot be stored; nothing was imported: correct them, send again. The first "
            "%(named)s are named; %(more)s more follow."
        )
    else:
        message = N_("%(rows)s rows of the CSV cannot be stored; nothing was imported: correct them, send again.")
    return _refused(message % {"rows": summary.refused, "named": len(summary.errors), "more": more}, summary.errors)


def _lines(content: bytes) -> Iterator[_Line]:
    for row, record in _records(content):
        line = check_line(row, record)
        assert isinstance(line, _Line), "the file was checked before"
        yield line


# --- matching and writing ---------------------------------------------------------------------------------------


@dataclass
class _Matcher:
    """Matches a checked file's lines, a chunk at a time, against the debits of one branch (or all)."""

    session: DbSession
    provider: str
    branch_id: int | None
    summary: _Summary
    now: datetime
    report: SettlementReport = field(default_factory=lambda: SettlementReport(0, 0, 0, 0, 0))

    def window(self) -> tuple[date, date]:
        assert self.summary.first is not None and self.summary.last is not None
        return self.summary.first - timedelta(days=1), self.summary.last + timedelta(days=1)

    def chunk(self, lines: list[_Line], write: bool) -> None:
        """Classify the chunk's lines; store this branch's (unless ``write`` is False: a resumed run did)."""
        first, last = self.window()
        attempt = DebitAttempt
        owners: dict[str, tuple[int, int, str, date | None]] = {
            order_id: (branch_id, amount_idr, status, paid_on)
            for order_id, branch_id, amount_idr, status, paid_on in self.session.execute(
                select(attempt.order_id, Member.branch_id, attempt.amount_idr, attempt.status, Payment.paid_on)
                .join(DebitRequest, DebitRequest.id == DebitAttempt.debit_request_id)
                .join(Mandate, Mandate.id == DebitRequest.mandate_id)
                .join(Member, Member.id == DebitRequest.member_id)
                .outerjoin(Payment, Payment.id == DebitRequest.payment_id)
                .where(Mandate.provider == self.provider, DebitAttempt.order_id.in_([ln.order_id for ln in lines]))
            )
        }
        for kind in orders.registered():  # members' own charges (SP-…) settle through the same merchant account
            named = [ln.order_id for ln in lines if ln.order_id.startswith(kind.prefix)]
            if named:
                owners.update(
                    (order_id, (o.branch_id, o.amount_idr, o.status, o.paid_on))
                    for order_id, o in kind.owners(self.session, self.provider, named).items()
                )
        report, keep = self.report, []
        for line in lines:
            report.lines += 1
            owner = owners.get(line.order_id)
            if owner is None:
                report.unknown_order += 1
                continue
            branch_id, ours_idr, status, paid_on = owner
            if self.branch_id is not None and branch_id != self.branch_id:
                report.not_this_branch += 1
                continue
            keep.append((line, branch_id))
            if status not in OURS or paid_on is None or not first <= paid_on <= last:
                report.missing_in_ours.append(
                    {"order_id": line.order_id, "amount_idr": line.amount_idr, "settled_on": str(line.settled_on)}
                )
            elif ours_idr != line.amount_idr:
                report.amount_mismatch.append(
                    {"order_id": line.order_id, "ours_idr": ours_idr, "report_idr": line.amount_idr}
                )
            else:
                report.matched += 1
        if write:
            report.new_lines += _insert_new(self.session, self.provider, keep, self.now)

    def finish(self) -> SettlementReport:
        """Name our settled debits of the file's days that the file leaves out."""
        if self.summary.rows:
            first, last = self.window()
            query = (
                select(DebitAttempt.order_id, DebitAttempt.amount_idr, Payment.paid_on)
                .join(DebitRequest, DebitRequest.id == DebitAttempt.debit_request_id)
                .join(Mandate, Mandate.id == DebitRequest.mandate_id)
                .join(Payment, Payment.id == DebitRequest.payment_id)
                .where(Mandate.provider == self.provider, DebitAttempt.status.in_(OURS))
                .where(Payment.paid_on.between(first, last))
                .order_by(DebitAttempt.order_id)
            )
            if self.branch_id is not None:
                query = query.join(Member, Member.id == DebitRequest.member_id).where(
                    Member.branch_id == self.branch_id
                )
            booked = [tuple(row) for row in self.session.execute(query)]
            for kind in orders.registered():
                booked += kind.booked_between(self.session, self.provider, first, last, self.branch_id)
            self.report.missing_in_report = [
                {"order_id": order_id, "amount_idr": amount_idr, "paid_on": str(paid_on)}
                for order_id, amount_idr, paid_on in sorted(booked)
                if order_id not in self.summary.order_rows
            ]
        self.report.missing_in_ours.sort(key=lambda m: m["order_id"])
        self.report.amount_mismatch.sort(key=lambda m: m["order_id"])
        return self.report


def _insert_new(session: DbSession, provider: str, lines: list[tuple[_Line, int]], now: datetime) -> int:
    """Store lines not stored yet (a line is unique per provider, branch and order); how many were new.

    ``ON CONFLICT DO NOTHING`` rather than a read first: a twin upload committing at the same moment waits on
    the unique index, then adds nothing, and neither request fails."""
    if not lines:
        return 0
    rows = [
        {
            "provider": provider,
            "branch_id": branch_id,
            "order_id": line.order_id,
            "transaction_id": line.transaction_id,
            "amount_idr": line.amount_idr,
            "settled_on": line.settled_on,
            "imported_at": now,
        }
        for line, branch_id in lines
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(SettlementLine)
        .on_conflict_do_nothing(index_elements=["provider", "branch_id", "order_id"])
        .returning(SettlementLine.id)
    )
    return len(session.connection().execute(statement, rows).all())


def _chunks(content: bytes) -> Iterator[list[_Line]]:
    lines = _lines(content)
    while chunk := list(islice(lines, CHUNK)):
        yield chunk


def import_settlement(
    session: DbSession, actor: StaffUser, provider: str, content: bytes, now: datetime
) -> SettlementReport:
    """Import a report within the request, in one transaction: every row checked first (a 422 naming each row
    and field, nothing stored), then the caller's branch's lines stored and matched a chunk at a time."""
    summary = _summarise(content)
    if summary.refused:
        raise _refusal(summary)
    matcher = _Matcher(session, provider, Scope.of(actor).branch_id, summary, now)
    for chunk in _chunks(content):
        matcher.chunk(chunk, write=True)
    report = matcher.finish()
    session.commit()
    return report


# --- large files: kept in the database, imported by a worker -----------------------------------------------------


def start_settlement_import(
    session: DbSession, actor: StaffUser, provider: str, content: bytes, now: datetime
) -> tuple[SettlementImport, bool]:
    """Keep a large report for a worker and commit; the same file from the same scope again returns its import
    and False (twin uploads at the same moment too). A file whose first line lacks a column is a 422 now."""
    check_header(content)
    branch_id = Scope.of(actor).branch_id
    scope = "all" if branch_id is None else f"branch:{branch_id}"
    digest = hashlib.sha256(content).hexdigest()

    def known() -> SettlementImport | None:
        return session.scalar(
            select(SettlementImport).where(
                SettlementImport.provider == provider,
                SettlementImport.scope == scope,
                SettlementImport.file_sha256 == digest,
            )
        )

    existing = known()
    if existing is not None:
        return existing, False
    record = SettlementImport(
        provider=provider,
        branch_id=branch_id,
        scope=scope,
        file_sha256=digest,
        size_bytes=len(content),
        content=content,
        status="queued",
        uploaded_by_user_id=actor.id,
        created_at=now,
    )
    session.add(record)
    try:
        session.commit()
    except IntegrityError:  # the same file, registered at this moment by a twin request: that one is ours
        session.rollback()
        twin = known()
        if twin is None:
            raise
        return twin, False
    return record, True


def run_settlement_import(
    session: DbSession, import_id: int, now: datetime, progress: Progress | None = None
) -> SettlementImport:
    """Check the kept file, then store and match it chunk by chunk, each chunk committed with ``rows_done`` and
    ``new_lines``: a run after a killed one skips the writes already committed and counts on from them."""
    record = session.get(SettlementImport, import_id)
    if record is None:
        raise ValueError(f"there is no settlement import {import_id}")
    if record.status in ("done", "invalid"):
        return record
    content = record.content
    assert content is not None, "an unfinished import keeps its file"
    record.status = "running"
    session.commit()
    try:
        try:
            with force_locale(STORED_LANGUAGE):  # stored for every reader: in English, worded when shown
                summary = _summarise(content)
        except DomainError as unreadable:  # not UTF-8, or a broken CSV row past the header the request checked
            record.status = "invalid"
            record.errors = json.dumps({"message": unreadable.message} | (unreadable.errors or {}))
            record.content, record.finished_at = None, now
            session.commit()
            return record
        if summary.refused:
            with force_locale(STORED_LANGUAGE):
                refusal = _refusal(summary)
            record.status, record.errors = "invalid", json.dumps({"message": refusal.message} | summary.errors)
        else:
            record.rows_total = summary.rows
            matcher = _Matcher(session, record.provider, record.branch_id, summary, now)
            matcher.report.new_lines = record.new_lines
            done = 0
            for chunk in _chunks(content):
                write = done + len(chunk) > record.rows_done
                matcher.chunk(chunk, write=write)
                done += len(chunk)
                if write:
                    record.rows_done, record.new_lines = done, matcher.report.new_lines
                    session.commit()
                    if progress:
                        progress(done)
            record.rows_done = summary.rows
            record.report = json.dumps(asdict(matcher.finish()), separators=(",", ":"))
            record.status = "done"
            audit.record(
                session,
                "settlement_import.done",
                "settlement_import",
                record.id,
                record.uploaded_by_user_id,
                provider=record.provider,
                lines=summary.rows,
                new_lines=record.new_lines,
            )
    except Exception:
        session.rollback()
        failed = session.get(SettlementImport, import_id)
        if failed is not None:
            failed.status = "failed"
            session.commit()
        raise
    record.content = None  # imported or refused: the file is not needed again
    record.finished_at = now
    session.commit()
    return record


def settlement_import_for(session: DbSession, actor: StaffUser, import_id: int) -> SettlementImport:
    """An import the caller may see: his branch's (an admin's of every branch only to admins)."""
    record = session.get(SettlementImport, import_id)
    branch_id = Scope.of(actor).branch_id
    if record is None or (branch_id is not None and record.branch_id != branch_id):
        raise NotFound(gettext("There is no settlement import %(id)s in your branch.", id=import_id))
    return record


def describe_import(record: SettlementImport) -> dict[str, Any]:
    """An import as the API shows it: progress, and once finished the report or the rows refused."""
    return {
        "id": record.id,
        "provider": record.provider,
        "branch_id": record.branch_id,
        "status": record.status,
        "rows_total": record.rows_total,
        "rows_done": record.rows_done,
        "size_bytes": record.size_bytes,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "report": json.loads(record.report) if record.report else None,
        "errors": stored_texts(json.loads(record.errors)) if record.errors else None,  # stored in English
    }


def refusal_of(record: SettlementImport) -> DomainError:
    """The 422 of an import whose rows were refused (its file uploaded again)."""
    errors = json.loads(record.errors or "{}")
    message = errors.pop("message", N_("Rows of the CSV cannot be stored; nothing was imported."))
    return _refused(message, errors)
