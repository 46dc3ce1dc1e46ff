"""Benchmark: a bank statement of 150,000 credit lines imported by the worker's service, on PostgreSQL and SQLite.

    .venv/bin/python -m bench.statement_import [--lines 150000] [--deposits 1500]

Each database (a throwaway PostgreSQL cluster, and a SQLite file) gets a migrated schema with one branch, an agent
and ``--deposits`` declared deposits over November 2026; every 100th statement line carries a deposit's reference
(the rest are transfers nobody declared). Timed, in this process, through the services the RQ job and the CLI call:

- the import of the whole file (``payments.finance.statement_import.run_import``: reading, storing the lines chunk by
  chunk, matching them chunk by chunk, a commit with the progress after each chunk);
- the same file again through ``submit`` (a no-op by its hash);
- an overlapping file of the next day (the same lines and one more): reading it and finding one new line.

It writes bench/results/statement-import-<timestamp>.txt. It measures and reports; it passes or fails on no time
(exit 1 only when a check on the figures fails, 2 when the benchmark could not run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from datetime import UTC, date, datetime, timedelta
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
NOW = datetime(2026, 12, 1, 3, 0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.statement_import", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=150_000, help="credit lines in the statement (default 150000)")
    parser.add_argument("--deposits", type=int, default=1_500, help="deposits declared in the month (default 1500)")
    return parser.parse_args(argv)


def statement_file(lines: int, deposits: int) -> bytes:
    rows = ["date,description,reference,amount"]
    for n in range(lines):
        day = date(2026, 11, 1 + n % 28)
        if n % 100 == 0 and n // 100 < deposits:
            d = n // 100
            rows.append(f"{date(2026, 11, 1 + d % 28):%Y-%m-%d},SETORAN TUNAI SLIP-{d:06d},,{50_000 + d}")
        else:
            rows.append(f"{day:%Y-%m-%d},TRF MASUK DARI PEMDA {n},TRX{n:08d},{100_000 + n}")
    return ("\n".join(rows) + "\n").encode()


def run(url: str, content: bytes, deposits: int) -> dict[str, Any]:
    from sqlalchemy import func, insert, select

    from app import create_app
    from core.extensions import db
    from organisation.models import Agent, Branch, Role, StaffUser, Wadah
    from payments.finance.models import StatementLine, StatementLineStatus
    from payments.finance.statement_import import run_import, submit
    from payments.ledger.models import Deposit

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": DUMMY_REDIS})
    figures: dict[str, Any] = {}
    with app.app_context():
        session = db.session
        branch = Branch(
            code="PKP", name="KC Pangkalpinang", province_code="19", regency_code="1971", timezone="Asia/Jakarta"
        )
        session.add(branch)
        session.flush()
        user = StaffUser(username="agent", password_hash="-", full_name="A", role=Role.AGENT, branch_id=branch.id)
        finance = StaffUser(
            username="fin", password_hash="-", full_name="F", role=Role.BRANCH_FINANCE, branch_id=branch.id
        )
        session.add_all([user, finance])
        session.flush()
        wadah = Wadah(name="Wadah", branch_id=branch.id)
        session.add(wadah)
        session.flush()
        agent = Agent(user_id=user.id, code="A-1", wadah_id=wadah.id, branch_id=branch.id)
        session.add(agent)
        session.flush()
        if deposits:
            session.execute(
                insert(Deposit),
                [
                    {
                        "agent_id": agent.id,
                        "branch_id": branch.id,
                        "amount_idr": 50_000 + d,
                        "deposited_on": date(2026, 11, 1 + d % 28) - timedelta(days=1),
                        "bank_reference": f"SLIP-{d:06d}",
                        "idempotency_key": f"bench-{d}",
                        "request_fingerprint": "-",
                        "recorded_by_user_id": user.id,
                        "recorded_at": NOW,
                    }
                    for d in range(deposits)
                ],
            )
        session.commit()

        started = time.perf_counter()
        report, _ = submit(session, finance.id, branch, "generic", "november.csv", content, NOW, inline_lines=0)
        figures["register s"] = time.perf_counter() - started
        started = time.perf_counter()
        record = run_import(session, report.import_id, NOW)
        figures["import s"] = time.perf_counter() - started
        assert record is not None
        figures["status"], figures["new lines"] = record.status, record.new_lines
        figures["matched"] = session.scalar(
            select(func.count()).where(StatementLine.status == StatementLineStatus.MATCHED)
        )
        started = time.perf_counter()
        _, again = submit(session, finance.id, branch, "generic", "november.csv", content, NOW, inline_lines=0)
        figures["again s"], figures["again status"] = time.perf_counter() - started, again
        overlapping = content + b"2026-11-30,TRF MASUK BARU,TRXNEW,777777\n"
        started = time.perf_counter()
        later, _ = submit(session, finance.id, branch, "generic", "desember.csv", overlapping, NOW, inline_lines=0)
        run_import(session, later.import_id, NOW)
        figures["overlap s"] = time.perf_counter() - started
        figures["lines"] = session.scalar(select(func.count()).select_from(StatementLine))
        dispose(app)
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    code_at_start = code_fingerprint()

    def body(cleanup: contextlib.ExitStack, instance: Path) -> int:
        from tests import servers

        content = statement_file(args.lines, args.deposits)
        cluster = throwaway_postgres(cleanup)
        urls = {
            "PostgreSQL": servers.create_database(cluster.url, "iuran_bench_statements"),
            "SQLite": f"sqlite:///{instance / 'bench-statements.db'}",
        }
        rows, ok = [], True
        expected_matched = min(args.deposits, (args.lines + 99) // 100)
        for name, url in urls.items():
            print(f"bench: {name}: migrating, then importing {args.lines:,} lines", flush=True)
            migrate(url, DUMMY_REDIS)
            f = run(url, content, args.deposits)
            ok = ok and (
                f["status"] == "done"
                and f["new lines"] == args.lines
                and f["matched"] == expected_matched
                and f["again status"] == 200
                and f["lines"] == args.lines + 1
            )
            rows.append(
                [name, f"{f['register s']:.2f}", f"{f['import s']:.1f}", f"{f['again s']:.3f}", f"{f['overlap s']:.1f}"]
            )
            rows[-1].append(f"{f['matched']:,}")
        text = "\n".join(
            [
                f"iuran benchmark: bank statement import — {started_at:%Y-%m-%d %H:%M} UTC, commit {git_describe()} "
                f"(app code {code_at_start}); {os.cpu_count()} cores",
                f"file: {args.lines:,} credit lines ({len(content) / 1e6:.1f} MB), {args.deposits:,} deposits; "
                "in-process service calls, as the RQ job import_bank_statement makes them",
                "PostgreSQL: throwaway cluster, unix socket, fsync off; SQLite: a file in WAL mode",
                "",
                format_table(
                    [
                        "database",
                        "register s (request)",
                        "import s (worker)",
                        "same file s",
                        "overlapping file s",
                        "matched",
                    ],
                    rows,
                ),
                "",
                f"checks {'ok' if ok else 'FAILED'}",
            ]
        )
        write_result("statement-import", started_at, text)
        return 0 if ok else 1

    return run_guarded(body, ("DATABASE_URL", "REDIS_URL"))


if __name__ == "__main__":
    raise SystemExit(main())
