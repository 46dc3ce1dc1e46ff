"""Auto-debit rules: mandate states, when to debit, which failures to retry and for how long, and how a
provider's event moves a debit attempt (never backwards)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class MandateStatus(StrEnum):
    PENDING_AUTHORISATION = "pending_authorisation"
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"


LIVE_STATUSES = frozenset({MandateStatus.PENDING_AUTHORISATION, MandateStatus.ACTIVE, MandateStatus.PAUSED})

_MANDATE_MOVES: dict[MandateStatus, frozenset[MandateStatus]] = {
    MandateStatus.PENDING_AUTHORISATION: frozenset(
        {MandateStatus.ACTIVE, MandateStatus.CANCELLED, MandateStatus.EXPIRED, MandateStatus.FAILED}
    ),
    MandateStatus.ACTIVE: frozenset(
        {MandateStatus.PAUSED, MandateStatus.CANCELLED, MandateStatus.EXPIRED, MandateStatus.FAILED}
    ),
    MandateStatus.PAUSED: frozenset({MandateStatus.ACTIVE, MandateStatus.CANCELLED, MandateStatus.EXPIRED}),
    MandateStatus.CANCELLED: frozenset(),
    MandateStatus.EXPIRED: frozenset(),
    MandateStatus.FAILED: frozenset(),
}


class IllegalTransition(ValueError):
    """A status change the rules do not allow; the message (English, for logs) says what is allowed, and so do
    ``current``, ``target`` and ``allowed`` for whoever words it for a reader."""

    def __init__(self, current: MandateStatus, target: MandateStatus) -> None:
        self.current, self.target = current, target
        self.allowed = sorted(_MANDATE_MOVES[current])
        allowed = ", ".join(self.allowed) or "nothing: it is final"
        super().__init__(f"A mandate that is {current} cannot become {target}; it can become {allowed}.")


def transition(current: str, target: str) -> MandateStatus:
    """The mandate's next status, or IllegalTransition (cancelled, expired and failed are final)."""
    now, then = MandateStatus(current), MandateStatus(target)
    if then not in _MANDATE_MOVES[now]:
        raise IllegalTransition(now, then)
    return then


DEBIT_DAYS_BEFORE_DUE = 3  # the debit is sent this many days before the month's due date
RETRYABLE_REASONS = frozenset({"insufficient_funds", "timeout", "provider_timeout", "expire"})
RETRY_AFTER_DAYS = (2, 5, 10)  # after the 1st, 2nd and 3rd failure; then the agent visits
VISIT_LEAD_DAYS = 14  # retries stop at least this long before the member would lapse


def debit_day(due_on: date) -> date:
    """When the debit for a month due on ``due_on`` is sent."""
    return due_on - timedelta(days=DEBIT_DAYS_BEFORE_DUE)


def next_retry_on(failed_on: date, failures: int, reason: str, lapses_on: date) -> date | None:
    """The day to try again after the ``failures``-th failure, or None when the debit has finally failed.

    Only failures that can succeed later are retried (no money yet, a provider timeout), at most
    len(RETRY_AFTER_DAYS) times, and never later than VISIT_LEAD_DAYS before the member would lapse, so
    an agent still has time to visit.
    """
    if reason not in RETRYABLE_REASONS or failures > len(RETRY_AFTER_DAYS):
        return None
    retry_on = failed_on + timedelta(days=RETRY_AFTER_DAYS[failures - 1])
    return retry_on if retry_on <= lapses_on - timedelta(days=VISIT_LEAD_DAYS) else None


class EventStatus(StrEnum):
    """A provider's transaction status, normalised."""

    PENDING = "pending"
    SETTLED = "settled"
    FAILED = "failed"
    REFUNDED = "refunded"


class Effect(StrEnum):
    SETTLE = "settle"
    FAIL = "fail"
    REFUND = "refund"
    MARK_PENDING = "mark_pending"
    IGNORE = "ignore"  # older than what we hold, or a duplicate of it
    REVIEW = "review"  # contradicts what we hold: a person must look


# How far along an attempt is; an event never moves it back.
_RANK = {"created": 0, "pending": 1, "settled": 2, "failed": 2, "refunded": 3}


@dataclass(frozen=True)
class EventOutcome:
    effect: Effect
    new_status: str | None


def apply_event(current: str, event: EventStatus) -> EventOutcome:
    """What a provider event does to a debit attempt that is ``current``."""
    target = {"pending": "pending", "settled": "settled", "failed": "failed", "refunded": "refunded"}[event]
    if target == current or _RANK[target] < _RANK[current]:
        return EventOutcome(Effect.IGNORE, None)
    if _RANK[target] == _RANK[current]:  # settled after failed, or the other way round
        return EventOutcome(Effect.REVIEW, None)
    if target == "refunded" and current != "settled":
        return EventOutcome(Effect.REVIEW, None)  # a refund of money we never booked
    effect = {
        "pending": Effect.MARK_PENDING,
        "settled": Effect.SETTLE,
        "failed": Effect.FAIL,
        "refunded": Effect.REFUND,
    }[target]
    return EventOutcome(effect, target)
