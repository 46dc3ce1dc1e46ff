"""Benchmark: the remittance file of a month of a 100,000-member branch, on PostgreSQL and SQLite.

    .venv/bin/python -m bench.remittance [--members 100000] [--db postgresql,sqlite]

For each database, a migrated database (a throwaway PostgreSQL cluster from tests/servers.py; a file in a temporary
folder for SQLite) is seeded through SQLAlchemy Core in batches: one branch, N members, and a month (October 2026)
of payments: each member pays once, 70% one month in cash, 10% three months in cash, 10% one month by auto-debit,
10% one month as a sponsor's breakdown payment; every cash and auto-debit payment has its receipt. Then, through the
real ``payments.remittance.services.make_file``:

1. the month's file (every allocation: about 1.2 lines per member), timed;
2. after 1,000 of those payments are reversed and 3,000 new ones are booked, the next file (a day's worth), timed;
3. the same again with nothing new (no file), timed.

It prints a table and writes it to bench/results/remittance-<timestamp>.txt. The aim is the month's file in under
30 s; it measures and reports and passes or fails on no time (exit code 1 only when a file's check fails).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import dispose, ensure_postgres_server, format_table, git_describe, migrate, write_result

DUMMY_REDIS = "unix:///nonexistent/redis.sock"  # making a file never talks to Redis
NOW = datetime(2026, 11, 1, 14, 0)  # 21:00 WIB on 1 November 2026: the day end after the month
BATCH = 5_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.remittance", description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--db", default="postgresql,sqlite", help="databases, comma-separated")
    return parser.parse_args(argv)


def _batched(rows: list[dict[str, Any]]) -> Any:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def seed(session: Any, members: int) -> dict[str, int]:
    """One branch, its members, and a month of their payments, allocations and receipts."""
    from sqlalchemy import insert

    from collection.members.models import Member, PaymentAllocation
    from core.months import Month
    from organisation.models import Branch
    from payments.ledger.models import Payment, Receipt

    session.execute(
        insert(Branch).values(
            id=1,
            code="BEN",
            name="Kantor Cabang Bench",
            province_code="19",
            regency_code="1971",
            timezone="Asia/Jakarta",
        )
    )
    first = Month(2026, 10)
    recorded = NOW - timedelta(days=2)
    member_rows = [
        {
            "id": n,
            "nik": f"1971{n:012d}",
            "kpj": f"{n:011d}",
            "name": f"anggota {n}",
            "birth_date": date(1990, 1, 1),
            "sex": "M",
            "occupation": "pedagang",
            "sector": "other",
            "district_code": "197101",
            "declared_income_idr": 1_000_000,
            "bracket": 1,
            "package": "JKK+JKM",
            "branch_id": 1,
            "enrolled_on": date(2026, 1, 5),
            "first_month": Month(2026, 1),
            "period_started_on": date(2026, 1, 5),
        }
        for n in range(1, members + 1)
    ]
    payments, allocations, receipts = [], [], []
    allocation_id = 0
    for n in range(1, members + 1):
        kind = n % 10
        channel = "auto_debit" if kind == 8 else "sponsor" if kind == 9 else "cash"
        months = 3 if kind == 7 else 1
        paid_on = date(2026, 10, 1 + n % 31)
        payments.append(
            {
                "id": n,
                "member_id": n,
                "channel": channel,
                "amount_idr": 16_800 * months,
                "credit_idr": 0,
                "paid_on": paid_on,
                "status": "settled",
                "recorded_at": recorded,
            }
        )
        for k in range(months):
            allocation_id += 1
            allocations.append(
                {
                    "id": allocation_id,
                    "payment_id": n,
                    "member_id": n,
                    "month": first + k,
                    "amount_idr": 16_800,
                    "reversed": False,
                }
            )
        if channel != "sponsor":
            receipts.append(
                {
                    "id": n,
                    "payment_id": n,
                    "number": f"BEN-{paid_on:%Y%m%d}-{n:06d}",
                    "verification_code": f"V{n:09d}",
                    "issued_at": recorded,
                }
            )
    for model, rows in (
        (Member, member_rows),
        (Payment, payments),
        (PaymentAllocation, allocations),
        (Receipt, receipts),
    ):
        for chunk in _batched(rows):
            session.execute(insert(model), chunk)
    session.commit()
    return {"members": members, "payments": len(payments), "allocations": len(allocations)}


def a_day_later(session: Any, members: int) -> None:
    """1,000 of the month's payments reversed, and 3,000 new one-month payments (the next month)."""
    from sqlalchemy import func, insert, select, update

    from collection.members.models import PaymentAllocation
    from core.months import Month
    from payments.ledger.models import Payment

    reversed_ids = list(range(1, min(members, 1_000) + 1))
    session.execute(update(Payment).where(Payment.id.in_(reversed_ids)).values(status="reversed", reversed_at=NOW))
    session.execute(
        update(PaymentAllocation).where(PaymentAllocation.payment_id.in_(reversed_ids)).values(reversed=True)
    )
    start = members + 1
    new = range(start, start + 3_000)
    session.execute(
        insert(Payment),
        [
            {
                "id": p,
                "member_id": p - members,
                "channel": "cash",
                "amount_idr": 16_800,
                "credit_idr": 0,
                "paid_on": date(2026, 11, 2),
                "status": "settled",
                "recorded_at": NOW + timedelta(hours=12),
            }
            for p in new
        ],
    )
    next_id = (session.scalar(select(func.max(PaymentAllocation.id))) or 0) + 1 - start  # explicit ids, as seeded
    session.execute(
        insert(PaymentAllocation),
        [
            {
                "id": next_id + p,
                "payment_id": p,
                "member_id": p - members,
                "month": Month(2027, 1),
                "amount_idr": 16_800,
                "reversed": False,
            }
            for p in new
        ],
    )
    session.commit()


def run_one(backend: str, members: int, stack: ExitStack) -> list[list[Any]]:
    from app import create_app
    from core.extensions import db
    from payments.remittance.rules import check_file
    from payments.remittance.services import make_file
    from tests import servers

    if backend == "postgresql":
        ensure_postgres_server()
        cluster = servers.start_postgres()
        stack.callback(cluster.stop)
        url = servers.create_database(cluster.url, "iuran_bench_remittance")
    else:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="iuran-bench-remittance-"))
        url = f"sqlite:///{folder}/iuran.db"
    migrate(url, DUMMY_REDIS)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": DUMMY_REDIS})
    rows: list[list[Any]] = []
    with app.app_context():
        started = time.monotonic()
        counts = seed(db.session, members)
        print(f"bench: {backend}: seeded {counts} in {time.monotonic() - started:.1f} s", flush=True)
        if backend == "postgresql":
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        steps = (
            ("the month's file", NOW),
            ("next day: 1,000 reversed, 3,000 new", NOW + timedelta(days=1)),
            ("nothing new", NOW + timedelta(days=2)),
        )
        for label, at in steps:
            if label.startswith("next day"):
                a_day_later(db.session, members)
            started = time.monotonic()
            made = make_file(db.session, 1, at)
            seconds = time.monotonic() - started
            if made is None:
                rows.append([backend, label, 0, 0, "–", f"{seconds:.2f}"])
                continue
            checked = check_file(made.content or b"")
            rows.append(
                [backend, label, checked.line_count, f"{checked.total_idr:,}", f"{made.size_bytes:,}", f"{seconds:.2f}"]
            )
        dispose(app)
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    all_rows: list[list[Any]] = []
    for backend in [b.strip() for b in args.db.split(",") if b.strip()]:
        with ExitStack() as stack:
            all_rows += run_one(backend, args.members, stack)
    header = ["database", "file", "lines", "total_idr", "bytes", "seconds"]
    table = format_table(header, all_rows)
    report = f"bench.remittance, {args.members:,} members, {git_describe()}\n{table}\n"
    write_result("remittance", started_at, report)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
