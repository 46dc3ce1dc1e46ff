"""The branch's bank account: statements imported (read, checked, stored) and their credits matched
(payments/finance/matching.py; what the matcher leaves goes to payments/finance/proposals.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from core import audit
from core.errors import DomainError, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.i18n import stored_text, stored_texts
from organisation.models import Branch, Role, StaffUser
from payments.finance.matching import CHUNK, NO_MATCH, match_lines
from payments.finance.models import StatementImport, StatementImportStatus, StatementLine, StatementLineStatus
from payments.finance.statements import (
    BANK_FORMATS,
    BankFormat,
    ParsedLine,
    ParsedStatement,
    StatementFormatError,
    check_columns,
    parse_statement,
)

Progress = Callable[[str, int], Callable[[int], None]]
FINANCE_ROLES = (Role.BRANCH_FINANCE, Role.SUPERVISOR, Role.ADMIN)
MAX_STATEMENT_BYTES = 20_000_000  # a busy branch's month is a few MB
HEADER_BYTES = 64_000  # what a large upload's header is checked in before it waits for a worker


@dataclass
class ImportReport:
    import_id: int
    bank: str
    filename: str
    already_imported: bool
    credit_lines: int
    new_lines: int
    debit_lines: int
    skipped_credits: int
    first_booked_on: date | None
    last_booked_on: date | None
    matched: dict[str, int] = field(default_factory=dict)  # by match kind, among this import's new lines
    unmatched: int = 0
    status: str = StatementImportStatus.DONE  # a large file's import, by a worker: its stage
    lines_total: int = 0
    lines_done: int = 0  # of the stage: lines stored, then lines matched
    errors: list[str] = field(default_factory=list)  # why a worker refused the file (its rows) or broke off


def branch_for(session: DbSession, actor: StaffUser, branch_id: int) -> Branch:
    """The branch, if the actor may work on its finance: its own staff, or an admin."""
    if actor.role not in FINANCE_ROLES:
        raise Forbidden(gettext("Only branch finance, a supervisor or an admin works on the branch's bank account."))
    branch = session.get(Branch, branch_id)
    if branch is None or (actor.role != Role.ADMIN and actor.branch_id != branch_id):
        raise NotFound(gettext("There is no branch %(id)s among yours.", id=branch_id))
    return branch


def _not_text() -> str:
    return gettext("The file is not text in UTF-8 or Windows-1252: export it as CSV.")


def read_statement(content: bytes, bank: str, progress: Progress | None = None) -> ParsedStatement:
    """The credit lines of a statement file, or a 422 naming the field or every row that cannot be read."""
    bank_format = bank_format_of(bank)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="strict") if _is_cp1252(content) else ""
        if not text:
            raise field_error("file", _not_text(), "files") from None
    try:
        parsed = parse_statement(text, bank_format, progress("rows", text.count("\n") + 1) if progress else None)
    except StatementFormatError as error:
        raise field_error("file", stored_text(str(error)), "files") from None
    if not parsed.ok:
        raise DomainError(
            gettext(
                "%(rows)s row(s) cannot be read as a '%(bank)s' statement; nothing was imported. "
                "Check the bank format, or fix the rows and import the file again.",
                rows=len(parsed.errors),
                bank=bank,
            ),
            errors={"files": {"file": stored_texts(parsed.errors)}},  # the parse's English, worded
        )
    return parsed


def bank_format_of(bank: str) -> BankFormat:
    """The column mapping of a bank's code; a 422 on the form's ``bank`` for an unknown one."""
    bank_format = BANK_FORMATS.get(bank)
    if bank_format is None:
        raise field_error(
            "bank",
            location="form",
            message=gettext(
                "Unknown bank format '%(bank)s': use one of %(formats)s.",
                bank=bank,
                formats=", ".join(sorted(BANK_FORMATS)),
            ),
        )
    return bank_format


def check_header(content: bytes, bank: str) -> None:
    """Refuse at once (a 422) a file that is not text or has no header of the bank's format: what a large
    upload is checked for before it waits for a worker, which reads its rows."""
    bank_format = bank_format_of(bank)
    head = content[:HEADER_BYTES]
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not a character cut at the end of the sample
            text = head.decode("cp1252", errors="strict") if _is_cp1252(head) else ""
            if not text:
                raise field_error("file", _not_text(), "files") from None
        else:
            text = head[: error.start].decode("utf-8-sig")
    lines = text.splitlines()[:-1] or text.splitlines()  # the last line of the sample may be cut
    try:
        check_columns(lines, bank_format)
    except StatementFormatError as error:
        raise field_error("file", stored_text(str(error)), "files") from None


def lock_branch(session: DbSession, branch_id: int) -> None:
    """Take the branch's row lock: one writer of its statement lines and their matches at a time (an import,
    a worker's chunk, a declared deposit matching lines). A no-op on SQLite, whose BEGIN IMMEDIATE already
    serialises every writer."""
    session.execute(select(Branch.id).where(Branch.id == branch_id).with_for_update())


def import_statement(
    session: DbSession,
    branch: Branch,
    bank: str,
    filename: str,
    content: bytes,
    actor_id: int | None,
    now: datetime,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a statement file and match its new credits, in one transaction; the same file again changes nothing.

    ``progress(stage, total)`` is called as each stage starts and returns a callback that counts steps:
    the CLI's progress bars. Lines are read and written in chunks (PostgreSQL takes at most 65,535 parameters
    in a statement); a large upload goes to a worker instead (payments/finance/statement_import.py).
    """
    bank_format_of(bank)
    digest = hashlib.sha256(content).hexdigest()
    # One import per branch at a time: two overlapping statements must not both add the lines they share.
    lock_branch(session, branch.id)
    known = session.scalar(
        select(StatementImport).where(StatementImport.branch_id == branch.id, StatementImport.file_sha256 == digest)
    )
    if known is not None and known.status == StatementImportStatus.REFUSED:
        session.delete(known)  # a file a worker refused: read it again, and refuse it here if it still is bad
        session.flush()
    elif known is not None:
        return report(session, known, already_imported=True)
    parsed = read_statement(content, bank, progress)
    record = StatementImport(
        branch_id=branch.id,
        bank=bank,
        filename=filename[:200] or "statement.csv",
        file_sha256=digest,
        imported_by_user_id=actor_id,
        imported_at=now,
        status=StatementImportStatus.DONE,
        finished_at=now,
    )
    describe(record, parsed)
    session.add(record)
    try:
        session.flush()
    except IntegrityError:  # the same file, imported at this moment by someone else
        session.rollback()
        return import_statement(session, branch, bank, filename, content, actor_id, now, progress)
    record.new_lines = store_lines(session, branch.id, bank, record.id, parsed.lines)
    record.lines_done = len(parsed.lines)
    match_lines(
        session,
        branch.id,
        now,
        import_id=record.id,
        on_line=progress("credits", record.new_lines) if progress else None,
    )
    audit.record(
        session,
        "statement.imported",
        "statement_import",
        record.id,
        actor_id,
        bank=bank,
        lines=record.new_lines,
        sha=digest,
    )
    session.commit()
    return report(session, record, already_imported=False)


def describe(record: StatementImport, parsed: ParsedStatement) -> None:
    """Put what the file holds on its import (its days, its credits, debits and credits with sen)."""
    record.first_booked_on = parsed.first_day
    record.last_booked_on = parsed.last_day
    record.credit_lines = record.lines_total = len(parsed.lines)
    record.debit_lines = parsed.debit_rows
    record.skipped_credits = parsed.skipped_credits


def store_lines(
    session: DbSession,
    branch_id: int,
    bank: str,
    import_id: int,
    lines: Sequence[ParsedLine],
    on_chunk: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Add the credits not known yet (from an overlapping file, or an earlier run of this import), a chunk at a
    time: one IN list and one multi-row insert each. Returns how many were added; the caller commits."""
    added = 0
    for start in range(0, len(lines), chunk):
        part = lines[start : start + chunk]
        known = set(
            session.scalars(
                select(StatementLine.line_key).where(
                    StatementLine.branch_id == branch_id,
                    StatementLine.bank == bank,
                    StatementLine.line_key.in_([line.line_key for line in part]),
                )
            )
        )
        rows = [
            {
                "branch_id": branch_id,
                "import_id": import_id,
                "bank": bank,
                "line_key": line.line_key,
                "row_number": line.row_number,
                "booked_on": line.booked_on,
                "amount_idr": line.amount_idr,
                "description": line.description,
                "reference": line.reference,
                "status": StatementLineStatus.UNMATCHED.value,
                "note_code": NO_MATCH,  # what matching says of most lines: it then writes only the others
            }
            for line in part
            if line.line_key not in known
        ]
        if rows:
            session.execute(insert(StatementLine), rows)
        added += len(rows)
        if on_chunk:
            on_chunk(len(part))
    return added


def _is_cp1252(content: bytes) -> bool:
    try:
        content.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def report(session: DbSession, record: StatementImport, already_imported: bool = False) -> ImportReport:
    """What an import did (or, for a worker's, has done so far)."""
    counts = session.execute(
        select(StatementLine.status, StatementLine.match_kind, func.count())
        .where(StatementLine.import_id == record.id)
        .group_by(StatementLine.status, StatementLine.match_kind)
    ).all()
    matched = {str(kind): n for status, kind, n in counts if status == StatementLineStatus.MATCHED}
    unmatched = sum(n for status, _, n in counts if status == StatementLineStatus.UNMATCHED)
    return ImportReport(
        import_id=record.id,
        bank=record.bank,
        filename=record.filename,
        already_imported=already_imported,
        credit_lines=record.credit_lines,
        new_lines=record.new_lines,
        debit_lines=record.debit_lines,
        skipped_credits=record.skipped_credits,
        first_booked_on=record.first_booked_on,
        last_booked_on=record.last_booked_on,
        matched=matched,
        unmatched=unmatched,
        status=record.status,
        lines_total=record.lines_total,
        lines_done=record.lines_done,
        errors=stored_texts(json.loads(record.errors)) if record.errors else [],  # stored in English
    )


# The unmatched queue and maker-checker.
