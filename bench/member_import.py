"""Benchmark: a branch's existing members loaded from the national system's export (100,000 valid rows), on
PostgreSQL and on SQLite.

    .venv/bin/python -m bench.member_import [--rows 100000] [--skip-sqlite]

Each database is migrated fresh (PostgreSQL: a throwaway cluster from tests/servers.py; SQLite: a file in WAL mode)
and gets one branch (Pangkalpinang) and a supervisor. The CSV has ``--rows`` members with valid NIKs from Bangka
Belitung's districts, their own national KPJs, both packages, brackets 1-12, a quarter of them ojek drivers, a start
of membership between 2019 and 2026 and a paid-through month anywhere from nothing paid to this month (so active, in
arrears and lapsed members all occur, with 0-95 months of history each).

Timed, in this process, through the service the CLI and the RQ job call (``collection.national.imports.import_file``:
reading, checking every row, the standing of each, bulk inserts of members, name keys, periods, status changes, one
``imported`` payment per member who paid and one allocation per month paid, the report); then the same file again (a
no-op by its hash). It writes bench/results/member-import-<timestamp>.txt. It measures and reports; it passes or
fails on no time (exit 1 only when a check on the figures fails, 2 when the benchmark could not run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.harness import (
    code_fingerprint,
    dispose,
    format_table,
    git_describe,
    migrate,
    run_guarded,
    throwaway_postgres,
    write_result,
)

DUMMY_REDIS = "unix:///nonexistent/redis.sock"  # nothing here talks to Redis
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC).replace(tzinfo=None)  # 10:00 WIB, a week after November's due date
JOBS = ("petani lada", "nelayan", "ojek online", "buruh harian", "pedagang pasar", "kurir", "penambang timah")
HEADER = "kpj,nik,name,birth_date,phone,occupation,package,declared_income,period_started_on,paid_through"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.member_import", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the export (default 100000)")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    return parser.parse_args(argv)


def national_file(rows: int, seed: int = 19) -> bytes:
    """The export: every row valid, every NIK and KPJ distinct."""
    from core.regions import districts_of, regencies_of

    rng = random.Random(seed)
    districts = [code for regency, _ in regencies_of("19") for code, _ in districts_of(regency)]
    lines = [HEADER]
    seen: set[str] = set()
    this_month = NOW.year * 12 + NOW.month - 1
    for n in range(1, rows + 1):
        while True:
            born = date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28))
            female = rng.random() < 0.5
            nik = f"{rng.choice(districts)}{born.day + (40 if female else 0):02d}{born:%m%y}{rng.randint(1, 9999):04d}"
            if nik not in seen:
                seen.add(nik)
                break
        started = date(rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28))
        if started > NOW.date():
            started = date(2026, rng.randint(1, 10), rng.randint(1, 28))
        first = started.year * 12 + started.month - 1
        paid = rng.choice((this_month, this_month, this_month - 1, this_month - 2, rng.randint(first - 1, this_month)))
        paid_through = "" if paid < first else f"{paid // 12}-{paid % 12 + 1:02d}"
        income = rng.choice((900_000, 1_500_000, 2_000_000, 3_000_000, 5_000_000))
        package = "JKK+JKM+JHT" if n % 3 == 0 else "JKK+JKM"
        lines.append(
            f"2{n:010d},{nik},Peserta Babel {n},{born:%d-%m-%Y},08{rng.choice('1257')}{rng.randint(10**8, 10**9 - 1)},"
            f"{rng.choice(JOBS)},{package},{income},{started:%d-%m-%Y},{paid_through}"
        )
    return ("\n".join(lines) + "\n").encode()


def run(url: str, content: bytes) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app import create_app
    from collection.members.models import Member, PaymentAllocation
    from collection.national.imports import import_file
    from core.extensions import db
    from organisation.models import Branch, Role, StaffUser
    from payments.ledger.models import Payment

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": DUMMY_REDIS})
    figures: dict[str, Any] = {}
    with app.app_context():
        session = db.session
        branch = Branch(
            code="PKP", name="Kantor Cabang Pangkalpinang", province_code="19", regency_code="1971",
            timezone="Asia/Jakarta",
        )  # fmt: skip
        session.add(branch)
        session.flush()
        supervisor = StaffUser(
            username="supervisor.pkp", password_hash="-", full_name="Bench", role=Role.SUPERVISOR, branch_id=branch.id
        )
        session.add(supervisor)
        session.commit()
        started = time.perf_counter()
        record, _ = import_file(session, supervisor, branch, "babel-nasional.csv", content, NOW)
        figures["import s"] = time.perf_counter() - started
        figures["created"], figures["rejected"], figures["rows"] = record.created, record.rejected, record.rows_total
        started = time.perf_counter()
        _, new = import_file(session, supervisor, branch, "babel-nasional.csv", content, NOW)
        figures["again s"] = time.perf_counter() - started
        figures["again new"] = new
        figures["members"] = session.scalar(select(func.count()).select_from(Member))
        figures["payments"] = session.scalar(select(func.count()).select_from(Payment))
        figures["allocations"] = session.scalar(select(func.count()).select_from(PaymentAllocation))
        figures["allocated IDR"] = session.scalar(select(func.sum(PaymentAllocation.amount_idr)))
        figures["paid IDR"] = session.scalar(select(func.sum(Payment.amount_idr)))
        figures["by status"] = dict(session.execute(select(Member.status, func.count()).group_by(Member.status)).all())
        dispose(app)
    figures["checks ok"] = (
        figures["created"] == figures["rows"] == figures["members"]
        and figures["rejected"] == 0
        and not figures["again new"]
        and figures["allocated IDR"] == figures["paid IDR"]
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    code_at_start = code_fingerprint()

    def body(cleanup: contextlib.ExitStack, instance: Path) -> int:
        from tests import servers

        content = national_file(args.rows)
        cluster = throwaway_postgres(cleanup)
        urls = {"PostgreSQL": servers.create_database(cluster.url, "iuran_bench_national")}
        if not args.skip_sqlite:
            urls["SQLite"] = f"sqlite:///{instance / 'bench-national.db'}"
        rows, ok, details = [], True, []
        for name, url in urls.items():
            print(f"bench: {name}: migrating, then importing {args.rows:,} rows", flush=True)
            migrate(url, DUMMY_REDIS)
            f = run(url, content)
            ok = ok and f["checks ok"]
            rows.append([name, f"{f['import s']:.1f}", f"{f['rows'] / f['import s']:,.0f}", f"{f['again s']:.3f}"])
            details.append(
                f"{name}: created {f['created']:,}, rejected {f['rejected']:,}; payments {f['payments']:,}, "
                f"allocations {f['allocations']:,} (Rp{f['paid IDR']:,}); by status {f['by status']}"
            )
        text = "\n".join(
            [
                f"iuran benchmark: members from the national system — {started_at:%Y-%m-%d %H:%M} UTC, commit "
                f"{git_describe()} (app code {code_at_start}); {os.cpu_count()} cores",
                f"file: {args.rows:,} valid rows ({len(content) / 1e6:.1f} MB); in-process service calls, as "
                "`flask import-members` and the RQ job import_national_file make them; aim: under 120 s on PostgreSQL",
                "PostgreSQL: throwaway cluster, unix socket, fsync off; SQLite: a file in WAL mode",
                "",
                format_table(["database", "import s", "rows/s", "same file again s"], rows),
                "",
                *details,
                f"checks {'ok' if ok else 'FAILED'}",
            ]
        )
        write_result("member-import", started_at, text)
        return 0 if ok else 1

    return run_guarded(body, ("DATABASE_URL", "REDIS_URL"))


if __name__ == "__main__":
    raise SystemExit(main())
