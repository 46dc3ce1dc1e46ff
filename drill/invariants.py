"""After a drill: what the clients were told, against what the database holds, and the ledger's invariants.

``lost``: a request the client saw committed (a receipt for cash, a 200 for a callback) whose payment or event
is not in the database, or a callback answered 200 whose event was not applied once the workers drained.
``duplicated``: two payments for one key, order or month, or two different receipts given for one key.
The invariants, each by SQL on the ledger (both databases):

- money: every payment's amount = its allocations + its credit;
- one payment per Idempotency-Key and per debit order; one stored event per provider event;
- no (member, month) settled twice while not reversed;
- every payment has its receipt, and its receipt text (exactly one) in the outbox;
- every text was sent, and sent once (the drill's sender writes each one it sends to a file);
- no callback left unprocessed, and every debit order settled by a callback has its payment;
- every member's standing (status, paid through) equals the pure rule (``collection.members.arrears.standing_on``,
  through ``member_position``) recomputed from the ledger;
- an approved batch's frozen figures equal the ledger's cash of its day (nothing slipped in after approval);
- every agent's kept cash totals (agent_cash_totals) equal his settled cash and deposits summed.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from drill.client import Outcome


@dataclass
class Verdict:
    lost: int = 0
    duplicated: int = 0
    failures: list[str] = field(default_factory=list)  # each broken invariant, in words
    notes: list[str] = field(default_factory=list)  # details of lost and duplicated

    @property
    def invariants_ok(self) -> bool:
        return not self.failures


def _rows(conn: Any, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    return list(conn.execute(text(sql), params))


def check(
    url: str, redis_url: str, outcomes: Sequence[Outcome], texts_file: Path | None, now: datetime | None = None
) -> Verdict:
    """Compare the outcomes with the database at ``url`` and check every invariant (standings as of ``now``)."""
    from sqlalchemy import create_engine

    verdict = Verdict()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _lost_and_duplicated(conn, outcomes, verdict)
            _ledger(conn, verdict)
            _texts(conn, texts_file, verdict)
            _callbacks(conn, verdict)
            _batches(conn, verdict)
            _cash_totals(conn, verdict)
    finally:
        engine.dispose()
    _standings(url, redis_url, verdict, now)
    return verdict


def _lost_and_duplicated(conn: Any, outcomes: Sequence[Outcome], verdict: Verdict) -> None:
    payments = {
        row.idempotency_key: row
        for row in _rows(
            conn,
            "SELECT p.idempotency_key, p.id, r.number FROM payments p LEFT JOIN receipts r ON r.payment_id = p.id "
            "WHERE p.idempotency_key IS NOT NULL",
        )
    }
    events = {row.event_key: row.state for row in _rows(conn, "SELECT event_key, state FROM webhook_events")}
    receipts_told: dict[str, set[str]] = defaultdict(set)
    for outcome in outcomes:
        if not outcome.committed:
            continue
        if outcome.kind == "contribution":
            assert outcome.answer is not None
            receipts_told[outcome.key].add(str(outcome.answer["number"]))
            found = payments.get(outcome.key)
            if found is None or found.number != outcome.answer["number"]:
                verdict.lost += 1
                verdict.notes.append(f"lost: key {outcome.key} was answered receipt {outcome.answer['number']}")
        elif outcome.kind == "callback":
            state = events.get(outcome.key)
            if state is None or state == "received":
                verdict.lost += 1
                verdict.notes.append(f"lost: callback {outcome.key} was answered 200; stored event: {state}")
    for key, numbers in receipts_told.items():
        if len(numbers) > 1:
            verdict.duplicated += len(numbers) - 1
            verdict.notes.append(f"duplicated: key {key} was answered with receipts {sorted(numbers)}")
    for sql, what in (
        (
            "SELECT idempotency_key AS k, count(*) AS n FROM payments WHERE idempotency_key IS NOT NULL "
            "GROUP BY idempotency_key HAVING count(*) > 1",
            "payments for one key",
        ),
        (
            "SELECT member_id || ' ' || month AS k, count(*) AS n FROM payment_allocations WHERE NOT reversed "
            "GROUP BY member_id, month HAVING count(*) > 1",
            "live allocations of one (member, month)",
        ),
        (
            "SELECT debit_request_id AS k, count(*) AS n FROM debit_attempts a JOIN payments p "
            "ON p.idempotency_key = 'debit:' || a.order_id GROUP BY debit_request_id HAVING count(*) > 1",
            "payments for one debit request",
        ),
        (
            "SELECT provider || ' ' || event_key AS k, count(*) AS n FROM webhook_events "
            "GROUP BY provider, event_key HAVING count(*) > 1",
            "stored events for one provider event",
        ),
    ):
        for row in _rows(conn, sql):
            verdict.duplicated += row.n - 1
            verdict.notes.append(f"duplicated: {row.n} {what} ({row.k})")
    asked = {o.key for o in outcomes if o.kind == "contribution"}
    phantom = [
        row.k
        for row in _rows(conn, "SELECT idempotency_key AS k FROM payments WHERE channel = 'cash'")
        if row.k not in asked and not str(row.k).startswith("drill-seed")
    ]
    if phantom and asked:
        verdict.failures.append(f"{len(phantom)} cash payments no client asked for, e.g. {phantom[:3]}")


def _ledger(conn: Any, verdict: Verdict) -> None:
    unbalanced = _rows(
        conn,
        "SELECT p.id, p.amount_idr, p.credit_idr, coalesce(sum(a.amount_idr), 0) AS allocated FROM payments p "
        "LEFT JOIN payment_allocations a ON a.payment_id = p.id GROUP BY p.id, p.amount_idr, p.credit_idr "
        "HAVING p.amount_idr <> coalesce(sum(a.amount_idr), 0) + p.credit_idr",
    )
    if unbalanced:
        verdict.failures.append(
            f"money: {len(unbalanced)} payments whose amount is not allocations + credit, e.g. payment "
            f"{unbalanced[0].id}: {unbalanced[0].amount_idr} != {unbalanced[0].allocated} + {unbalanced[0].credit_idr}"
        )
    totals = _rows(
        conn,
        "SELECT (SELECT coalesce(sum(amount_idr), 0) FROM payments) AS paid, "
        "(SELECT coalesce(sum(amount_idr), 0) FROM payment_allocations) AS allocated, "
        "(SELECT coalesce(sum(credit_idr), 0) FROM payments) AS credit",
    )[0]
    if totals.paid != totals.allocated + totals.credit:
        verdict.failures.append(f"money: payments {totals.paid} != allocations {totals.allocated} + {totals.credit}")
    missing = _rows(conn, "SELECT p.id FROM payments p LEFT JOIN receipts r ON r.payment_id = p.id WHERE r.id IS NULL")
    if missing:
        verdict.failures.append(f"receipts: {len(missing)} payments without a receipt, e.g. payment {missing[0].id}")


def _texts(conn: Any, texts_file: Path | None, verdict: Verdict) -> None:
    receipts = [row.number for row in _rows(conn, "SELECT number FROM receipts")]
    bodies = _rows(conn, "SELECT id, recipient, body, sent_at, kind FROM outbox_messages")
    known = set(receipts)
    by_receipt: Counter[str] = Counter()
    for message in bodies:
        if message.kind == "receipt":
            for word in message.body.replace(",", " ").split():
                if word in known:
                    by_receipt[word] += 1
    without = [n for n in receipts if by_receipt[n] == 0]
    twice = [n for n in receipts if by_receipt[n] > 1]
    if without:
        verdict.failures.append(f"texts: {len(without)} receipts with no receipt text, e.g. {without[0]}")
    if twice:
        verdict.failures.append(f"texts: {len(twice)} receipts with more than one text, e.g. {twice[0]}")
    unsent = [m.id for m in bodies if m.sent_at is None]
    if unsent:
        verdict.failures.append(f"texts: {len(unsent)} texts never sent after the drain, e.g. outbox {unsent[0]}")
    if texts_file is None:
        return
    sent: Counter[tuple[str, str]] = Counter()
    if texts_file.exists():
        for line in texts_file.read_text().splitlines():
            text = json.loads(line)
            sent[(text["recipient"], text["body"])] += 1
    repeated = {k: n for k, n in sent.items() if n > 1}
    if repeated:
        example = next(iter(repeated))
        verdict.failures.append(
            f"texts: {len(repeated)} texts sent more than once ({sum(repeated.values()) - len(repeated)} extra "
            f"sends), e.g. {sent[example]}x to {example[0]}: {example[1][:60]}…"
        )
    never = [m.id for m in bodies if m.sent_at is not None and (m.recipient, m.body) not in sent]
    if never:
        verdict.failures.append(f"texts: {len(never)} marked sent but never handed to the sender, e.g. {never[0]}")


def _callbacks(conn: Any, verdict: Verdict) -> None:
    waiting = _rows(conn, "SELECT count(*) AS n FROM webhook_events WHERE state = 'received'")[0].n
    if waiting:
        verdict.failures.append(f"callbacks: {waiting} stored callbacks never processed after the drain")
    unpaid = _rows(
        conn,
        "SELECT a.order_id FROM webhook_events e JOIN debit_attempts a ON a.order_id = e.order_id "
        "LEFT JOIN payments p ON p.idempotency_key = 'debit:' || a.order_id "
        "WHERE e.event_key LIKE :settled AND e.state IN ('processed', 'ignored') AND p.id IS NULL",
        settled="%:settlement",
    )
    if unpaid:
        verdict.failures.append(f"callbacks: {len(unpaid)} settled orders without a payment, e.g. {unpaid[0][0]}")
    review = _rows(conn, "SELECT count(*) AS n, min(note) AS note FROM webhook_events WHERE state = 'review'")[0]
    if review.n:
        verdict.failures.append(f"callbacks: {review.n} went to finance's review queue, e.g. {review.note}")


def _batches(conn: Any, verdict: Verdict) -> None:
    for batch in _rows(
        conn,
        "SELECT id, agent_id, business_date, approved_snapshot FROM daily_batches WHERE status = 'approved'",
    ):
        frozen = json.loads(batch.approved_snapshot)
        live = _rows(
            conn,
            "SELECT coalesce(sum(amount_idr), 0) AS total, count(*) AS n FROM payments WHERE agent_id = :agent "
            "AND channel = 'cash' AND status = 'settled' AND paid_on = :day",
            agent=batch.agent_id,
            day=batch.business_date,
        )[0]
        if (frozen["collected_idr"], frozen["contributions"]) != (live.total, live.n):
            verdict.failures.append(
                f"batch {batch.id} ({batch.business_date}) was approved on Rp{frozen['collected_idr']} in "
                f"{frozen['contributions']} contributions; the ledger has Rp{live.total} in {live.n} for that day"
            )


def _cash_totals(conn: Any, verdict: Verdict) -> None:
    """Each agent's kept cash totals (agent_cash_totals, kept by triggers) against his history summed."""
    for row in _rows(
        conn,
        """
        SELECT a.id, coalesce(t.collected_idr, 0) AS kept_collected, coalesce(t.deposited_idr, 0) AS kept_deposited,
               (SELECT coalesce(sum(amount_idr), 0) FROM payments
                WHERE agent_id = a.id AND channel = 'cash' AND status = 'settled') AS collected,
               (SELECT coalesce(sum(amount_idr), 0) FROM deposits WHERE agent_id = a.id) AS deposited
        FROM agents a LEFT JOIN agent_cash_totals t ON t.agent_id = a.id
        """,
    ):
        if (row.kept_collected, row.kept_deposited) != (row.collected, row.deposited):
            verdict.failures.append(
                f"agent {row.id}: kept cash totals Rp{row.kept_collected} collected, Rp{row.kept_deposited} "
                f"deposited; his history sums to Rp{row.collected} and Rp{row.deposited}"
            )


def _standings(url: str, redis_url: str, verdict: Verdict, now: datetime | None) -> None:
    """Each member's stored standing against the pure rule, recomputed from his allocations today."""
    from sqlalchemy import or_, select

    from app import create_app
    from collection.members.models import Member
    from collection.members.position import member_position
    from core.clock import local_today, utcnow
    from core.extensions import db
    from organisation.models import Branch
    from payments.ledger.models import Payment

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    wrong: list[str] = []
    with app.app_context():
        session = db.session
        now = now or utcnow()
        for branch in session.scalars(select(Branch)):
            today = local_today(branch.timezone, now)
            # Every member the drill could have moved: those with a payment, or whose stored standing is not
            # the seeded one (active, nothing paid); the others are as seeded, which the rule agrees with.
            touched = select(Payment.member_id)
            moved = or_(Member.id.in_(touched), Member.paid_through.is_not(None), Member.status != "active")
            for member in session.scalars(select(Member).where(Member.branch_id == branch.id, moved)):
                rule = member_position(session, member, today).standing
                if (member.status, member.paid_through) != (rule.status, rule.paid_through):
                    wrong.append(
                        f"member {member.id}: stored {member.status}/{member.paid_through}, "
                        f"rule {rule.status}/{rule.paid_through}"
                    )
        session.rollback()
        session.remove()
        for engine in db.engines.values():
            engine.dispose()
    client = app.extensions.pop("iuran_redis", None)
    if client is not None:
        client.close()
    if wrong:
        verdict.failures.append(f"standings: {len(wrong)} members differ from the rule, e.g. {wrong[0]}")


def summarise(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """requests, answered, committed, and what made clients retry."""
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        counts["requests"] += 1
        counts["answered"] += outcome.answered
        counts["committed"] += outcome.committed
        counts["tries"] += outcome.tries
        for error, n in outcome.errors.items():
            counts[f"retry:{error}"] += n
        if outcome.status is not None:
            counts[f"status:{outcome.status}"] += 1
    return dict(counts)
