"""Matching a branch's bank credits: each unmatched line against the declared deposits and the providers'
payouts, by reference first, then by amount and date.

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

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select, update

from core.extensions import DbSession
from payments.autodebit.models import SettlementLine
from payments.finance.models import StatementLine, StatementLineStatus
from payments.finance.statements import normalise
from payments.ledger.models import Deposit

CHUNK = 5000  # lines per IN list, per insert and per matching step: far below PostgreSQL's 65,535 parameters
MIN_REFERENCE_LENGTH = 4
SHORT_NUMERIC_REFERENCE = 6  # a reference of fewer digits (a slip number like 2026) must match the amount too
REFERENCE_WINDOW_DAYS = 7
PAYOUT_WINDOW_DAYS = 3
AMOUNT_WINDOW_DAYS = 2
NO_MATCH = "no_match"  # no deposit or provider payout with this reference or amount (texts.py words the codes)
WhyNot = tuple[str, int | None]  # why a credit stays unmatched: a code and how many deposits it could be


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
                payouts = unmatched_payouts(session, branch_id, first, last)
                why_not: dict[WhyNot, list[int]] = defaultdict(list)
                for line in lines:
                    note = _match_one(line, deposits, payouts, now)
                    if note is None:
                        matched += 1
                    elif note != (line.note_code, line.note_count):
                        why_not[note].append(line.id)
                    if on_line:
                        on_line(1)
                for (code, count), ids in why_not.items():  # one UPDATE per reason, not one per line
                    session.execute(
                        update(StatementLine)
                        .where(StatementLine.id.in_(ids))
                        .values(note_code=code, note_count=count, note_amount_idr=None, note_on=None),
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
) -> WhyNot | None:
    """Match one credit, or say why it stays unmatched (a code and a count; the caller writes it)."""
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
                mark_line(line, "settlement", now, code="provider_payout", count=len(settled), on=day)
                line.provider = provider
                return None
    by_amount = deposits.by_amount(line)
    if len(by_amount) == 1 and not by_reference:
        _take_deposit(line, by_amount[0], deposits, "amount_date", now)
        return None
    if len(by_reference) > 1:
        return ("many_by_reference", len(by_reference))
    if by_amount:
        return ("many_by_amount", len(by_amount))
    return (NO_MATCH, None)


def _take_deposit(line: StatementLine, deposit: Deposit, deposits: OpenDeposits, kind: str, now: datetime) -> None:
    deposits.take(deposit)
    line.deposit_id = deposit.id
    if deposit.amount_idr == line.amount_idr:
        mark_line(line, kind, now)
    else:
        mark_line(line, kind, now, code="declared_differs", amount_idr=deposit.amount_idr)


def mark_line(
    line: StatementLine,
    kind: str,
    now: datetime,
    note: str | None = None,
    *,
    code: str | None = None,
    count: int | None = None,
    amount_idr: int | None = None,
    on: date | None = None,
) -> None:
    """Mark a credit matched: with finance's reason (``note``) for a match by hand, or a code and its figures."""
    line.status = StatementLineStatus.MATCHED
    line.match_kind = kind
    line.matched_at = now
    line.note = note
    line.note_code, line.note_count, line.note_amount_idr, line.note_on = code, count, amount_idr, on


def unmatched_payouts(
    session: DbSession, branch_id: int, first: date, last: date
) -> dict[str, dict[date, list[SettlementLine]]]:
    """Each provider's settlement lines for this branch's members (debits and members' own VA or QRIS charges), by
    the day they settled, not yet banked."""
    rows = session.scalars(
        select(SettlementLine).where(
            SettlementLine.branch_id == branch_id,  # kept under its order's branch: debits and members' own charges
            SettlementLine.statement_line_id.is_(None),
            SettlementLine.settled_on.between(first, last),
        )
    )
    payouts: dict[str, dict[date, list[SettlementLine]]] = defaultdict(lambda: defaultdict(list))
    for settlement in rows:
        payouts[settlement.provider][settlement.settled_on].append(settlement)
    return payouts
