"""Webhook signatures against known vectors, and the auto-debit rules as tables."""

from __future__ import annotations

import json
from datetime import date

import pytest

from payments.autodebit.mandates import (
    Effect,
    EventStatus,
    IllegalTransition,
    MandateStatus,
    apply_event,
    debit_day,
    next_retry_on,
    transition,
)
from payments.autodebit.providers import CallbackError, parse_midtrans_body
from payments.autodebit.signatures import (
    SignatureError,
    midtrans_signature,
    sign_generic,
    verify_generic,
    verify_midtrans,
)

# Computed with `openssl dgst -sha512` / `openssl dgst -sha256 -hmac`, not with the code under test.
MIDTRANS_VECTORS = [
    (
        ("IUR-1-1", "200", "16800.00", "SB-Mid-server-TEST"),
        "c73f60607b503eced56bf9eb61cc88f1f633a1debfc92a8e39b226939ba83501"
        "d5073b2a967a124bdb096b5e8e5ff473a121e5760120b94313bb71d31631a8c3",
    ),
    (  # the notification of Midtrans's own Python client example
        ("test-transaction-321", "201", "24145.00", "YOUR_SERVER_KEY"),
        "aff077e4dcfc7daddfa4a6ed332e6eee1b6136e4a068fa9d32180597747623a6"
        "b5096cb931c2d26982ed932e6686f0646b64db93de16d93f7e6329dfa6c8dc6b",
    ),
]
GENERIC_BODY = b'{"order_id":"IUR-7-1","transaction_status":"settlement"}'
GENERIC_T = 1763780000
GENERIC_MAC = "0d005c45a876ee9c351e9fe8d9513fa9ca65dbddb1f8053ddf8d300878d98c92"


@pytest.mark.parametrize(("fields", "expected"), MIDTRANS_VECTORS)
def test_midtrans_signatures_match_known_vectors(fields, expected):
    assert midtrans_signature(*fields) == expected
    order_id, status_code, gross_amount, key = fields
    payload = {
        "order_id": order_id,
        "status_code": status_code,
        "gross_amount": gross_amount,
        "signature_key": expected,
    }
    verify_midtrans(payload, ["old-key", key])  # the second key of a rotation also verifies


@pytest.mark.parametrize(
    "change",
    [
        {"gross_amount": "168000.00"},
        {"status_code": "201"},
        {"order_id": "IUR-1-2"},
        {"signature_key": "0" * 128},
        {"signature_key": ""},
    ],
)
def test_a_changed_midtrans_notification_is_refused(change):
    (order_id, status_code, gross_amount, key), signature = MIDTRANS_VECTORS[0]
    payload = {
        "order_id": order_id,
        "status_code": status_code,
        "gross_amount": gross_amount,
        "signature_key": signature,
    }

    with pytest.raises(SignatureError):
        verify_midtrans(payload | change, [key])


def test_the_generic_signature_matches_a_known_vector_and_accepts_either_rotation_secret():
    assert sign_generic("whsec-current", GENERIC_BODY, GENERIC_T) == f"t={GENERIC_T},v1={GENERIC_MAC}"
    header = f"t={GENERIC_T},v1={GENERIC_MAC}"

    verify_generic(header, GENERIC_BODY, ["whsec-current", "whsec-next"], now=GENERIC_T + 10)
    verify_generic(header, GENERIC_BODY, ["whsec-next", "whsec-current"], now=GENERIC_T + 10)


@pytest.mark.parametrize(
    ("header", "body", "now", "words"),
    [
        (None, GENERIC_BODY, GENERIC_T, "missing"),
        (f"v1={GENERIC_MAC}", GENERIC_BODY, GENERIC_T, "t="),
        (f"t={GENERIC_T},v1={GENERIC_MAC}", GENERIC_BODY + b" ", GENERIC_T, "does not match"),
        (f"t={GENERIC_T},v1={GENERIC_MAC}", GENERIC_BODY, GENERIC_T + 301, "off"),  # stale
        (f"t={GENERIC_T},v1={GENERIC_MAC}", GENERIC_BODY, GENERIC_T - 301, "off"),  # from the future
        (f"t={GENERIC_T + 1},v1={GENERIC_MAC}", GENERIC_BODY, GENERIC_T, "does not match"),  # replayed with a new t
    ],
)
def test_forged_or_stale_generic_signatures_are_refused(header, body, now, words):
    with pytest.raises(SignatureError, match=words):
        verify_generic(header, body, ["whsec-current"], now=now)


def test_an_unknown_secret_is_refused():
    with pytest.raises(SignatureError):
        verify_generic(f"t={GENERIC_T},v1={GENERIC_MAC}", GENERIC_BODY, ["whsec-other"], now=GENERIC_T)


@pytest.mark.parametrize(
    ("status", "expected", "reason"),
    [
        ("settlement", EventStatus.SETTLED, None),
        ("capture", EventStatus.SETTLED, None),
        ("pending", EventStatus.PENDING, None),
        ("deny", EventStatus.FAILED, "insufficient_funds"),
        ("expire", EventStatus.FAILED, "expire"),
        ("cancel", EventStatus.FAILED, "insufficient_funds"),
        ("refund", EventStatus.REFUNDED, None),
        ("chargeback", EventStatus.REFUNDED, None),
    ],
)
def test_midtrans_statuses_are_normalised(status, expected, reason):
    code = {"pending": "201", "deny": "202", "expire": "407"}.get(status, "200")  # as Midtrans signs each
    body = (
        f'{{"order_id":"IUR-1-1","transaction_status":"{status}","gross_amount":"16800.00","status_code":"{code}",'
        '"transaction_id":"t-1","status_message":"insufficient_funds"}'
    ).encode()

    event = parse_midtrans_body(body)

    assert (event.status, event.reason, event.amount_idr) == (expected, reason, 16_800)
    assert event.event_key == f"t-1:{status}"


@pytest.mark.parametrize("code", ["201", "202", "407", None])
def test_a_settlement_signed_with_another_status_code_is_refused(code):
    """The signature covers status_code, not transaction_status: a pending notification (201) edited to settlement."""
    payload = {"order_id": "IUR-1-1", "transaction_status": "settlement", "gross_amount": "16800.00"}
    payload |= {"transaction_id": "t-1"} | ({"status_code": code} if code else {})

    with pytest.raises(CallbackError, match="status_code"):
        parse_midtrans_body(json.dumps(payload).encode())


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"order_id":"x"}',
        b'{"order_id":"x","transaction_status":"weird","gross_amount":"1.00","transaction_id":"t"}',
        b'{"order_id":"x","transaction_status":"settlement","gross_amount":"100.50","transaction_id":"t"}',
    ],
)
def test_malformed_callbacks_are_refused(body):
    with pytest.raises(CallbackError):
        parse_midtrans_body(body)


@pytest.mark.parametrize(
    ("current", "target", "ok"),
    [
        ("pending_authorisation", "active", True),
        ("active", "paused", True),
        ("paused", "active", True),
        ("active", "cancelled", True),
        ("active", "failed", True),
        ("cancelled", "active", False),
        ("expired", "active", False),
        ("paused", "failed", False),
        ("pending_authorisation", "paused", False),
    ],
)
def test_mandate_transitions(current, target, ok):
    if ok:
        assert transition(current, target) == MandateStatus(target)
    else:
        with pytest.raises(IllegalTransition):
            transition(current, target)


@pytest.mark.parametrize(
    ("failures", "reason", "expected"),
    [
        (1, "insufficient_funds", date(2026, 11, 15)),
        (2, "insufficient_funds", date(2026, 11, 18)),
        (3, "insufficient_funds", date(2026, 11, 23)),
        (4, "insufficient_funds", None),  # the schedule is bounded
        (1, "expire", date(2026, 11, 15)),
        (1, "card_blocked", None),  # a failure that cannot succeed later is not retried
        (1, "mandate_revoked", None),
    ],
)
def test_retries_follow_a_bounded_schedule(failures, reason, expected):
    assert next_retry_on(date(2026, 11, 13), failures, reason, lapses_on=date(2027, 2, 16)) == expected


def test_retries_stop_before_the_member_would_lapse():
    assert next_retry_on(date(2027, 1, 28), 3, "insufficient_funds", lapses_on=date(2027, 2, 16)) is None


def test_the_debit_goes_three_days_before_the_due_date():
    assert debit_day(date(2026, 12, 15)) == date(2026, 12, 12)


@pytest.mark.parametrize(
    ("current", "event", "effect"),
    [
        ("created", EventStatus.PENDING, Effect.MARK_PENDING),
        ("pending", EventStatus.SETTLED, Effect.SETTLE),
        ("created", EventStatus.SETTLED, Effect.SETTLE),
        ("pending", EventStatus.FAILED, Effect.FAIL),
        ("settled", EventStatus.PENDING, Effect.IGNORE),  # late and out of order: never moves back
        ("settled", EventStatus.SETTLED, Effect.IGNORE),
        ("failed", EventStatus.PENDING, Effect.IGNORE),
        ("settled", EventStatus.REFUNDED, Effect.REFUND),
        ("refunded", EventStatus.SETTLED, Effect.IGNORE),
        ("failed", EventStatus.SETTLED, Effect.REVIEW),
        ("settled", EventStatus.FAILED, Effect.REVIEW),
        ("pending", EventStatus.REFUNDED, Effect.REVIEW),
    ],
)
def test_events_move_an_attempt_forward_only(current, event, effect):
    assert apply_event(current, event).effect == effect
