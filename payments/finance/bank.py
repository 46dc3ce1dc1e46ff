"""The branch's bank account: statement import, matching credits to deposits and payouts, and manual matches.

Matching, for each credit not yet matched, in this order:

1. **Reference.** An agent's deposit whose bank reference (letters and digits, at least
   :data:`MIN_REFERENCE_LENGTH`) appears in the line's reference or description, declared within
   :data:`REFERENCE_WINDOW_DAYS` before the booking (or the day after). The amounts may differ: the batch
   then shows the deposit as short or over.
2. **Provider payout.** A line naming a payment provider (its name in the description) whose amount is
   exactly the sum of that provider's unmatched settlement lines for this branch's members on one day in
   the :data:`PAYOUT_WINDOW_DAYS` before the booking.
3. **Amount and date.** The one unmatched deposit of exactly that amount declared in the
   :data:`AMOUNT_WINDOW_DAYS` before the booking. Two or more candidates are never guessed between.

Anything else goes to the branch's unmatched queue. There a person proposes a match (or that the credit
is not contribution money and is ignored, with the reason), and a second person approves or rejects it:
the proposer can never decide his own proposal (maker-checker, also a database constraint).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from collection.members.models import Member
from core import audit
from core.errors import Conflict, DomainError, Forbidden, NotFound, field_error
from core.extensions import DbSession
from organisation.models import Branch, Role, StaffUser
from payments.autodebit.models import DebitAttempt, DebitRequest, SettlementLine
from payments.finance.models import (
    MatchProposal,
    StatementImport,
    StatementImportStatus,
    StatementLine,
    StatementLineStatus,
)
from payments.finance.statements import (
    BANK_FORMATS,
    BankFormat,
    ParsedLine,
    ParsedStatement,
    StatementFormatError,
    check_columns,
    normalise,
    parse_statement,
)
from payments.ledger.models import Deposit

Progress = Callable[[str, int], Callable[[int], None]]

MIN_REFERENCE_LENGTH = 4
SHORT_NUMERIC_REFERENCE = 6  # a reference of fewer digits (a slip number like 2026) must match the amount too
REFERENCE_WINDOW_DAYS = 7
PAYOUT_WINDOW_DAYS = 3
AMOUNT_WINDOW_DAYS = 2
FINANCE_ROLES = (Role.BRANCH_FINANCE, Role.SUPERVISOR, Role.ADMIN)
MAX_STATEMENT_BYTES = 20_000_000  # a busy branch's month is a few MB
MAX_REASON = 200  # match_proposals.reason
NO_MATCH = "no deposit or provider payout with this reference or amount"
CHUNK = 5000  # lines per IN list, per insert and per matching step: far below PostgreSQL's 65,535 parameters
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
        raise Forbidden("Only branch finance, a supervisor or an admin works on the branch's bank account.")
    branch = session.get(Branch, branch_id)
    if branch is None or (actor.role != Role.ADMIN and actor.branch_id != branch_id):
        raise NotFound(f"There is no branch {branch_id} among yours.")
    return branch


def read_statement(content: bytes, bank: str, progress: Progress | None = None) -> ParsedStatement:
    """The credit lines of a statement file, or a 422 naming the field or every row that cannot be read."""
    bank_format = bank_format_of(bank)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="strict") if _is_cp1252(content) else ""
        if not text:
            raise field_error(
                "file", "The file is not text in UTF-8 or Windows-1252: export it as CSV.", "files"
            ) from None
    try:
        parsed = parse_statement(text, bank_format, progress("rows", text.count("\n") + 1) if progress else None)
    except StatementFormatError as error:
        raise field_error("file", str(error), "files") from None
    if not parsed.ok:
        raise DomainError(
            f"{len(parsed.errors)} row(s) cannot be read as a '{bank}' statement; nothing was imported. "
            "Check the bank format, or fix the rows and import the file again.",
            errors={"files": {"file": parsed.errors}},
        )
    return parsed


def bank_format_of(bank: str) -> BankFormat:
    """The column mapping of a bank's code; a 422 on the form's ``bank`` for an unknown one."""
    bank_format = BANK_FORMATS.get(bank)
    if bank_format is None:
        raise field_error(
            "bank",
            location="form",
            message=f"Unknown bank format '{bank}': use one of {', '.join(sorted(BANK_FORMATS))}.",
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
                raise field_error(
                    "file", "The file is not text in UTF-8 or Windows-1252: export it as CSV.", "files"
                ) from None
        else:
            text = head[: error.start].decode("utf-8-sig")
    lines = text.splitlines()[:-1] or text.splitlines()  # the last line of the sample may be cut
    try:
        check_columns(lines, bank_format)
    except StatementFormatError as error:
        raise field_error("file", str(error), "files") from None


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
    in a statement); a large upload goes to a worker instead (payments/statement_import.py).
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
                "note": NO_MATCH,  # what matching says of most lines: it then writes only the others
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
        errors=json.loads(record.errors) if record.errors else [],
    )


def match_lines(
    session: DbSession,
    branch_id: int,
    now: datetime,
    import_id: int | None = None,
    on_line: Callable[[int], None] | None = None,
    on_chunk: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Match the branch's unmatched credits (of one import, or all); returns how many were matched.

    Two passes: first a reference with the exact amount (so of two credits naming one deposit, the one of
    its amount takes it), then everything else in booking order. Each pass goes a chunk of lines at a time,
    reading the deposits and payouts still open in the chunk's days afresh: ``on_chunk(lines)`` may commit
    between chunks (a worker's progress). The caller commits.
    """
    matched = 0
    for exact_pass in (True, False):
        after: tuple[date, int] | None = None
        while True:
            query = select(StatementLine).where(
                StatementLine.branch_id == branch_id, StatementLine.status == StatementLineStatus.UNMATCHED
            )
            if import_id is not None:
                query = query.where(StatementLine.import_id == import_id)
            if after is not None:
                query = query.where(
                    or_(
                        StatementLine.booked_on > after[0],
                        and_(StatementLine.booked_on == after[0], StatementLine.id > after[1]),
                    )
                )
            lines = list(session.scalars(query.order_by(StatementLine.booked_on, StatementLine.id).limit(chunk)))
            if not lines:
                break
            after = (lines[-1].booked_on, lines[-1].id)
            first = lines[0].booked_on - timedelta(days=REFERENCE_WINDOW_DAYS)
            last = lines[-1].booked_on + timedelta(days=1)
            deposits = _open_deposits(session, branch_id, first, last)
            if exact_pass:
                for line in lines:
                    exact = [d for d in deposits.by_reference(line) if d.amount_idr == line.amount_idr]
                    if len(exact) == 1:
                        _take_deposit(line, exact[0], deposits, "reference", now)
                        matched += 1
            else:
                payouts = _unmatched_payouts(session, branch_id, first, last)
                why_not: dict[str, list[int]] = defaultdict(list)
                for line in lines:
                    note = _match_one(line, deposits, payouts, now)
                    if note is None:
                        matched += 1
                    elif note != line.note:
                        why_not[note].append(line.id)
                    if on_line:
                        on_line(1)
                for note, ids in why_not.items():  # one UPDATE per reason, not one per line
                    session.execute(
                        update(StatementLine).where(StatementLine.id.in_(ids)).values(note=note),
                        execution_options={"synchronize_session": "evaluate"},
                    )
            session.flush()
            if on_chunk:
                on_chunk(0 if exact_pass else len(lines))
    return matched


def tokens(text: str) -> list[str]:
    """The runs of letters and digits of a text, upper case: what references are compared by."""
    return re.findall(r"[0-9A-Z]+", text.upper())


class OpenDeposits:
    """Deposits no credit has taken yet, found by the reference words a line carries or by its amount: an
    index, so a statement of 150,000 lines against a month of deposits is not lines × deposits comparisons."""

    def __init__(self, deposits: Iterable[Deposit]) -> None:
        self._by_words: dict[str, list[Deposit]] = defaultdict(list)
        self._by_amount: dict[int, list[Deposit]] = defaultdict(list)
        self._longest = 1  # the most words a deposit's reference has
        self._words: dict[int, list[str]] = {}
        for deposit in deposits:
            wanted = tokens(deposit.bank_reference)
            self._words[deposit.id] = wanted
            if len("".join(wanted)) >= MIN_REFERENCE_LENGTH:
                self._by_words["".join(wanted)].append(deposit)
                self._longest = max(self._longest, len(wanted))
            self._by_amount[deposit.amount_idr].append(deposit)

    def by_reference(self, line: StatementLine) -> list[Deposit]:
        """Deposits whose reference the line carries as whole words, declared within the window before it.

        ``BRI-7781`` is found in ``SETORAN BRI 7781`` or ``SETORAN BRI7781``, never inside ``BRI77810`` or
        a date; a short numeric reference (under :data:`SHORT_NUMERIC_REFERENCE` digits) also needs the amount.
        """
        words = tokens(f"{line.reference or ''} {line.description}")
        runs = {"".join(words[i : i + n]) for i in range(len(words)) for n in range(1, self._longest + 1)}
        found = {d.id: d for run in runs for d in self._by_words.get(run, ())}
        return sorted(
            (d for d in found.values() if _carries(words, self._words[d.id], line, d)),
            key=lambda d: (d.deposited_on, d.id),
        )

    def by_amount(self, line: StatementLine) -> list[Deposit]:
        """Deposits of exactly the line's amount declared in the :data:`AMOUNT_WINDOW_DAYS` before it."""
        return [
            d
            for d in self._by_amount.get(line.amount_idr, ())
            if line.booked_on - timedelta(days=AMOUNT_WINDOW_DAYS) <= d.deposited_on <= line.booked_on
        ]

    def take(self, deposit: Deposit) -> None:
        self._by_amount[deposit.amount_idr].remove(deposit)
        joined = "".join(self._words[deposit.id])
        if deposit in self._by_words.get(joined, ()):
            self._by_words[joined].remove(deposit)


def _carries(words: list[str], wanted: list[str], line: StatementLine, deposit: Deposit) -> bool:
    """Whether a line (its words) names a deposit (its reference's words) in the deposit's window."""
    joined = "".join(wanted)
    if len(joined) < MIN_REFERENCE_LENGTH:
        return False
    if (
        not line.booked_on - timedelta(days=REFERENCE_WINDOW_DAYS)
        <= deposit.deposited_on
        <= line.booked_on + timedelta(1)
    ):
        return False
    if joined.isdigit() and len(joined) < SHORT_NUMERIC_REFERENCE and deposit.amount_idr != line.amount_idr:
        return False
    run = len(wanted)
    return joined in words or any(words[i : i + run] == wanted for i in range(len(words) - run + 1))


def _open_deposits(session: DbSession, branch_id: int, first: date, last: date) -> OpenDeposits:
    taken = select(StatementLine.deposit_id).where(StatementLine.deposit_id.is_not(None))
    return OpenDeposits(
        session.scalars(
            select(Deposit)
            .where(Deposit.branch_id == branch_id, Deposit.deposited_on.between(first, last), Deposit.id.not_in(taken))
            .order_by(Deposit.deposited_on, Deposit.id)
        )
    )


def _match_one(
    line: StatementLine,
    deposits: OpenDeposits,
    payouts: dict[str, dict[date, list[SettlementLine]]],
    now: datetime,
) -> str | None:
    """Match one credit, or say why it stays unmatched (its note; the caller writes it)."""
    text = normalise(f"{line.reference or ''} {line.description}")
    by_reference = deposits.by_reference(line)
    if len(by_reference) == 1:
        _take_deposit(line, by_reference[0], deposits, "reference", now)
        return None
    for provider, days in payouts.items():
        if normalise(provider) not in text:
            continue
        for day in sorted(days, reverse=True):
            settled = days[day]
            if line.booked_on - timedelta(days=PAYOUT_WINDOW_DAYS) <= day <= line.booked_on and (
                sum(s.amount_idr for s in settled) == line.amount_idr
            ):
                for settlement in settled:
                    settlement.statement_line_id = line.id
                del days[day]
                _mark(line, "settlement", now, note=f"{provider} payout of {len(settled)} debit(s) settled {day}")
                line.provider = provider
                return None
    by_amount = deposits.by_amount(line)
    if len(by_amount) == 1 and not by_reference:
        _take_deposit(line, by_amount[0], deposits, "amount_date", now)
        return None
    if len(by_reference) > 1:
        return f"{len(by_reference)} deposits carry this reference: match it by hand"
    if by_amount:
        return f"{len(by_amount)} deposits of this amount in the days before: match it by hand"
    return NO_MATCH


def _take_deposit(line: StatementLine, deposit: Deposit, deposits: OpenDeposits, kind: str, now: datetime) -> None:
    deposits.take(deposit)
    line.deposit_id = deposit.id
    note = None if deposit.amount_idr == line.amount_idr else f"deposit declared as Rp{deposit.amount_idr}"
    _mark(line, kind, now, note)


def _mark(line: StatementLine, kind: str, now: datetime, note: str | None = None) -> None:
    line.status = StatementLineStatus.MATCHED
    line.match_kind = kind
    line.matched_at = now
    line.note = note


def _unmatched_payouts(
    session: DbSession, branch_id: int, first: date, last: date
) -> dict[str, dict[date, list[SettlementLine]]]:
    """Each provider's settlement lines for this branch's members, by the day they settled, not yet banked."""
    rows = session.scalars(
        select(SettlementLine)
        .join(DebitAttempt, DebitAttempt.order_id == SettlementLine.order_id)
        .join(DebitRequest, DebitRequest.id == DebitAttempt.debit_request_id)
        .join(Member, Member.id == DebitRequest.member_id)
        .where(
            Member.branch_id == branch_id,
            SettlementLine.statement_line_id.is_(None),
            SettlementLine.settled_on.between(first, last),
        )
    )
    payouts: dict[str, dict[date, list[SettlementLine]]] = defaultdict(lambda: defaultdict(list))
    for settlement in rows:
        payouts[settlement.provider][settlement.settled_on].append(settlement)
    return payouts


# The unmatched queue and maker-checker.


def lines_of(session: DbSession, branch_id: int, status: str, limit: int = 1000) -> list[StatementLine]:
    """The branch's credits of one status, oldest first (the unmatched queue by default)."""
    return list(
        session.scalars(
            select(StatementLine)
            .where(StatementLine.branch_id == branch_id, StatementLine.status == status)
            .order_by(StatementLine.booked_on, StatementLine.id)
            .limit(limit)
        )
    )


def with_proposals(session: DbSession, lines: list[StatementLine]) -> list[dict[str, object]]:
    """Each line as a dict with its proposal awaiting a decision (or None)."""
    proposals = open_proposals(session, [line.id for line in lines])
    return [
        {
            **{c: getattr(line, c) for c in StatementLine.__table__.columns.keys()},
            "open_proposal": proposals.get(line.id),
        }
        for line in lines
    ]


def open_proposals(session: DbSession, line_ids: list[int]) -> dict[int, MatchProposal]:
    if not line_ids:
        return {}
    return {
        p.statement_line_id: p
        for p in session.scalars(
            select(MatchProposal).where(MatchProposal.statement_line_id.in_(line_ids), MatchProposal.decision.is_(None))
        )
    }


def _line_of(session: DbSession, actor: StaffUser, line_id: int, lock: bool = False) -> StatementLine:
    query = select(StatementLine).where(StatementLine.id == line_id)
    if lock:
        query = query.with_for_update()
    line = session.scalar(query)
    if line is None:
        raise NotFound(f"There is no statement line {line_id}.")
    branch_for(session, actor, line.branch_id)
    return line


def propose_match(
    session: DbSession,
    actor: StaffUser,
    line_id: int,
    *,
    action: str,
    deposit_id: int | None,
    provider: str | None,
    settled_on: date | None,
    reason: str,
    now: datetime,
) -> MatchProposal:
    """The maker: propose what an unmatched credit is. Nothing changes until a second person approves."""
    reason = reason.strip()
    if not 3 <= len(reason) <= MAX_REASON:
        raise field_error("reason", f"Say in 3 to {MAX_REASON} characters why this credit is what you propose.")
    line = _line_of(session, actor, line_id, lock=True)
    if line.status != StatementLineStatus.UNMATCHED:
        raise Conflict(f"Statement line {line_id} is already {line.status}.")
    if action == "deposit":
        _check_deposit_for(session, line, deposit_id)
    elif action == "settlement":
        _check_payout_for(session, line, provider, settled_on)
    elif action != "ignore":
        raise field_error("action", "Choose deposit, settlement or ignore.")
    proposal = MatchProposal(
        statement_line_id=line.id,
        action=action,
        deposit_id=deposit_id if action == "deposit" else None,
        provider=provider if action == "settlement" else None,
        settled_on=settled_on if action == "settlement" else None,
        reason=reason,
        proposed_by_user_id=actor.id,
        proposed_at=now,
    )
    session.add(proposal)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"Statement line {line_id} already has a proposal waiting for a decision.") from None
    audit.record(session, "statement.match_proposed", "statement_line", line.id, actor.id, proposed=action)
    session.commit()
    return proposal


def _check_deposit_for(session: DbSession, line: StatementLine, deposit_id: int | None) -> Deposit:
    if deposit_id is None:
        raise field_error("deposit_id", "Name the deposit this credit is (its id from the batch or deposit list).")
    deposit = session.get(Deposit, deposit_id)
    if deposit is None or deposit.branch_id != line.branch_id:
        raise field_error("deposit_id", f"There is no deposit {deposit_id} in this branch.")
    taken = session.scalar(select(StatementLine.id).where(StatementLine.deposit_id == deposit_id))
    if taken is not None and taken != line.id:
        raise field_error("deposit_id", f"Deposit {deposit_id} is already matched to statement line {taken}.")
    return deposit


def _check_payout_for(
    session: DbSession, line: StatementLine, provider: str | None, settled_on: date | None
) -> list[SettlementLine]:
    if not provider or settled_on is None:
        raise field_error("provider", "Name the provider and the settled_on day of the payout.")
    settled = _unmatched_payouts(session, line.branch_id, settled_on, settled_on).get(provider, {}).get(settled_on, [])
    if not settled:
        raise field_error("settled_on", f"{provider} has no unbanked settlement lines on {settled_on} for this branch.")
    return settled


def decide_proposal(
    session: DbSession, actor: StaffUser, proposal_id: int, *, approve: bool, note: str | None, now: datetime
) -> MatchProposal:
    """The checker: a second person approves (the match is made) or rejects (the line stays unmatched)."""
    proposal = session.scalar(select(MatchProposal).where(MatchProposal.id == proposal_id).with_for_update())
    if proposal is None:
        raise NotFound(f"There is no match proposal {proposal_id}.")
    line = _line_of(session, actor, proposal.statement_line_id, lock=True)
    if proposal.decision is not None:
        if proposal.decision == ("approved" if approve else "rejected"):
            return proposal  # the same decision again: a retry
        raise Conflict(f"Proposal {proposal_id} was already {proposal.decision}.")
    if proposal.proposed_by_user_id == actor.id:
        raise Forbidden("You proposed this match: a second person must approve or reject it (maker-checker).")
    deposit, settled = None, []
    if approve:  # every check before anything changes
        if line.status != StatementLineStatus.UNMATCHED:
            raise Conflict(f"Statement line {line.id} is already {line.status}.")
        if proposal.action == "deposit":
            deposit = _check_deposit_for(session, line, proposal.deposit_id)
        elif proposal.action == "settlement":
            settled = _check_payout_for(session, line, proposal.provider, proposal.settled_on)
    proposal.decision = "approved" if approve else "rejected"
    proposal.decided_by_user_id = actor.id
    proposal.decided_at = now
    proposal.decision_note = (note or "").strip()[:200] or None
    if approve and proposal.action == "ignore":
        line.status = StatementLineStatus.IGNORED
        line.note = proposal.reason
        line.matched_at = now
    elif approve:
        if deposit is not None:
            line.deposit_id = deposit.id
        for settlement in settled:
            settlement.statement_line_id = line.id
        line.provider = proposal.provider
        _mark(line, "manual", now, note=proposal.reason)
    audit.record(
        session,
        f"statement.match_{proposal.decision}",
        "statement_line",
        line.id,
        actor.id,
        proposal_id=proposal.id,
        proposed_by=proposal.proposed_by_user_id,
    )
    session.commit()
    return proposal
