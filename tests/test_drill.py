"""The fault drills (drill/): the checker catches what it must, and the short form loses and duplicates nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from core.extensions import db
from core.outbox import deliver_pending
from drill.client import Outcome
from drill.invariants import check
from tests.factories import NOW

ROOT = Path(__file__).resolve().parent.parent
KEY = "drill-test-0001"


def _pay_and_text(app: Any, client: Any, world: dict[str, Any], enrol: Any, texts: Path, monkeypatch: Any) -> Outcome:
    """One real cash payment through the API, its text sent by the drill's file sender; the client's outcome."""
    from drill.textsender import FileSender

    member = enrol()
    body = {"member_id": member["id"], "months": 1}
    response = client.post(
        "/api/v1/contributions", json=body, headers={**world["agent"].headers, "Idempotency-Key": KEY}
    )
    assert response.status_code == 201, response.get_json()
    monkeypatch.setenv("DRILL_TEXTS_FILE", str(texts))
    with app.app_context():
        assert deliver_pending(db.session, FileSender(), NOW) == 1
    return Outcome("contribution", KEY, body, tries=1, status=201, answer=response.get_json())


def test_the_drill_checker_passes_a_clean_ledger_and_flags_lost_duplicated_and_unreceipted_payments(
    app: Any,
    client: Any,
    world: dict[str, Any],
    enrol: Any,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    texts = tmp_path / "texts.jsonl"
    told = _pay_and_text(app, client, world, enrol, texts, monkeypatch)

    clean = check(database_url, redis_url, [told], texts, now=NOW)
    assert (clean.lost, clean.duplicated, clean.failures) == (0, 0, [])

    # A receipt the client was given that the database does not hold: lost.
    ghost = Outcome("contribution", "drill-test-ghost", {}, tries=1, status=201, answer={"number": "PKP-0-0"})
    # The same month booked a second time by a payment with no receipt, the database's own guard removed first.
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX uq_payment_allocations_member_month_live"))
        conn.execute(
            text(
                "INSERT INTO payments (member_id, channel, amount_idr, credit_idr, paid_on, status, agent_id, "
                "idempotency_key, recorded_at) SELECT member_id, channel, amount_idr, credit_idr, paid_on, status, "
                "agent_id, 'drill-test-twice', recorded_at FROM payments WHERE idempotency_key = :key"
            ),
            {"key": KEY},
        )
        conn.execute(
            text(
                "INSERT INTO payment_allocations (payment_id, member_id, month, amount_idr, reversed) "
                "SELECT (SELECT id FROM payments WHERE idempotency_key = 'drill-test-twice'), member_id, month, "
                "amount_idr, reversed FROM payment_allocations "
                "WHERE payment_id = (SELECT id FROM payments WHERE idempotency_key = :key)"
            ),
            {"key": KEY},
        )
    engine.dispose()

    broken = check(database_url, redis_url, [told, ghost], texts, now=NOW)
    assert broken.lost == 1
    assert broken.duplicated == 1
    assert any("without a receipt" in failure for failure in broken.failures), broken.failures
    assert any("no client asked for" in failure for failure in broken.failures), broken.failures


def test_the_drill_checker_flags_a_text_sent_twice(
    app: Any,
    client: Any,
    world: dict[str, Any],
    enrol: Any,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    texts = tmp_path / "texts.jsonl"
    told = _pay_and_text(app, client, world, enrol, texts, monkeypatch)
    texts.write_text(texts.read_text() * 2)  # the gateway was handed the same text twice

    verdict = check(database_url, redis_url, [told], texts, now=NOW)
    assert any("sent more than once" in failure for failure in verdict.failures), verdict.failures


def test_the_short_drill_loses_and_duplicates_nothing_on_sqlite_and_postgresql() -> None:
    """`python -m drill --short`: every scenario against real gunicorn, rq workers, Redis and both databases."""
    done = subprocess.run(
        [sys.executable, "-m", "drill", "--short", "--db", "both"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    report = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    assert "drill: passed" in done.stdout, report
    rows = [line.split() for line in done.stdout.splitlines() if line.split()[:1] and line.split()[0] in SCENARIO_NAMES]
    ran = [row for row in rows if "skipped" not in row]
    assert len(ran) == 2 * len(SCENARIO_NAMES) - 1, report  # pg_restart has no SQLite form
    assert all(row[5] == "0" and row[6] == "0" and row[7] == "yes" for row in ran), report


SCENARIO_NAMES = (
    "rq_worker_kill",
    "redis_stop",
    "redis_hang",
    "pg_restart",
    "gunicorn_kill",
    "same_key",
    "same_callback",
    "two_agents",
    "cash_vs_approval",
)


def test_the_drill_checker_flags_kept_cash_totals_that_drifted_from_the_history(
    app: Any,
    client: Any,
    world: dict[str, Any],
    enrol: Any,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    texts = tmp_path / "texts.jsonl"
    told = _pay_and_text(app, client, world, enrol, texts, monkeypatch)
    engine = create_engine(database_url)
    with engine.begin() as conn:  # a hand-made edit of the totals themselves: no trigger puts that right
        conn.execute(text("UPDATE agent_cash_totals SET collected_idr = collected_idr + 1"))
    engine.dispose()

    verdict = check(database_url, redis_url, [told], texts, now=NOW)
    assert any("kept cash totals" in failure for failure in verdict.failures), verdict.failures
