"""Benchmark: a province's sponsor file (Kalimantan Barat's size, 75,000 rows) imported into a fresh PostgreSQL, then
the bulk payment of 12 months for every member.

    .venv/bin/python -m bench.sponsor_import [--rows 75000] [--bad-every 100]

A throwaway PostgreSQL cluster (tests/servers.py) gets a migrated database with one branch (Pontianak), a supervisor,
the province of Kalimantan Barat as sponsor and a 12-month JKK+JKM programme from January 2026. The CSV has
``--rows`` workers with valid NIKs spread over the province's regencies and districts; every ``--bad-every``-th row
is broken (a bad NIK, a future birth date, a repeated NIK or a bad phone, in turn) so the rejection path is timed too.

Timed, in this process, through the same services the CLI and the API call:

- the import (``collection.sponsors.imports.import_file``: reading, checking every row, bulk inserts, the report);
- the same file again (a no-op by its hash);
- the bulk payment of the programme's 12 months for every member (``collection.sponsors.payments.pay_programme``);
- the same payment again with its Idempotency-Key (a no-op).

It writes bench/results/sponsor-import-<timestamp>.txt. It measures and reports; it passes or fails on no time
(exit 1 only when a check on the figures fails, 2 when the benchmark could not run).
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

RATE = 16_800
DUMMY_REDIS = "unix:///nonexistent/redis.sock"  # nothing here talks to Redis
NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC).replace(tzinfo=None)  # 10:00 WIB on a Monday in January 2026
JOBS = ("petani", "nelayan", "ojek online", "buruh harian", "pedagang pasar", "kurir", "penyadap karet")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sponsor_import", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=75_000, help="rows in the sponsor file (default 75000)")
    parser.add_argument("--bad-every", type=int, default=100, help="every Nth row is broken (0: none)")
    return parser.parse_args(argv)


def sponsor_file(rows: int, bad_every: int, seed: int = 61) -> tuple[bytes, int]:
    """The CSV and how many rows in it are broken on purpose."""
    from core.regions import districts_of, regencies_of

    rng = random.Random(seed)
    districts = [code for regency, _ in regencies_of("61") for code, _ in districts_of(regency)]
    lines = ["nik,nama,tanggal_lahir,telepon,pekerjaan,desa"]
    seen: set[str] = set()
    niks: list[str] = []
    bad = 0
    for n in range(1, rows + 1):
        while True:
            born = date(rng.randint(1960, 2005), rng.randint(1, 12), rng.randint(1, 28))
            female = rng.random() < 0.5
            nik = f"{rng.choice(districts)}{born.day + (40 if female else 0):02d}{born:%m%y}{rng.randint(1, 9999):04d}"
            if nik not in seen:
                seen.add(nik)
                break
        phone = f"08{rng.choice('1257')}{rng.randint(10**8, 10**9 - 1)}"
        birth = f"{born:%d-%m-%Y}"
        kind = (n // bad_every) % 4 if bad_every and n % bad_every == 0 else None
        if kind is not None:
            bad += 1
            if kind == 0:
                nik = nik[:15]
            elif kind == 1:
                birth = "01-01-2031"
            elif kind == 2:
                nik = niks[-1]
            else:
                phone = "021-5551234"
        niks.append(nik)
        lines.append(f"{nik},Warga Kalbar {n},{birth},{phone},{rng.choice(JOBS)},Desa {n % 500}")
    return ("\n".join(lines) + "\n").encode(), bad


def run(url: str, rows: int, bad_every: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app import create_app
    from collection.members.models import Member, MemberNameKey, PaymentAllocation
    from collection.sponsors.imports import import_file
    from collection.sponsors.models import ProgrammeMember
    from collection.sponsors.payments import pay_programme
    from collection.sponsors.programmes import create_programme, create_sponsor
    from core.extensions import db
    from core.months import Month
    from organisation.models import Branch, Role, StaffUser

    content, bad = sponsor_file(rows, bad_every)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": DUMMY_REDIS})
    figures: dict[str, Any] = {"rows": rows, "bad rows": bad, "file MB": round(len(content) / 1e6, 1)}
    with app.app_context():
        session = db.session
        branch = Branch(
            code="PTK",
            name="Kantor Cabang Pontianak",
            province_code="61",
            regency_code="6171",
            timezone="Asia/Pontianak",
        )
        session.add(branch)
        session.flush()
        supervisor = StaffUser(
            username="supervisor.ptk", password_hash="-", full_name="Bench", role=Role.SUPERVISOR, branch_id=branch.id
        )
        session.add(supervisor)
        session.commit()
        sponsor = create_sponsor(session, supervisor, "province", "Pemerintah Provinsi Kalimantan Barat", "61")
        programme = create_programme(
            session,
            supervisor,
            {
                "code": "KALBAR-APBD-2026",
                "name": "Pekerja rentan Kalimantan Barat 2026",
                "sponsor_id": sponsor.id,
                "package": "JKK+JKM",
                "first_month": Month(2026, 1),
                "months": 12,
                "budget_idr": rows * 12 * RATE,
            },
        )
        programme_id = programme.id

        started = time.perf_counter()
        record, _ = import_file(session, supervisor, programme, "kalbar-2026.csv", content, NOW)
        figures["import s"] = time.perf_counter() - started
        figures["created"], figures["rejected"] = record.created, record.rejected
        started = time.perf_counter()
        _, new = import_file(session, supervisor, programme, "kalbar-2026.csv", content, NOW)
        figures["re-import s"] = time.perf_counter() - started
        figures["re-import new"] = new
        figures["members"] = session.scalar(select(func.count()).select_from(Member))
        figures["name keys"] = session.scalar(select(func.count()).select_from(MemberNameKey))
        figures["programme members"] = session.scalar(
            select(func.count()).where(ProgrammeMember.programme_id == programme_id)
        )
        session.commit()

        started = time.perf_counter()
        view, _ = pay_programme(
            session,
            supervisor,
            programme_id,
            first=None,
            last=None,
            paid_on=None,
            bank_reference="SP2D-KALBAR-0001",
            branch_arrangement=False,
            idempotency_key="bench-kalbar-2026-full-year",
            now=NOW,
        )
        figures["payment s"] = time.perf_counter() - started
        figures["payment IDR"] = view.payment.amount_idr
        figures["member-months"] = view.payment.member_months
        figures["receipt"] = view.payment.receipt_number
        started = time.perf_counter()
        _, created = pay_programme(
            session,
            supervisor,
            programme_id,
            first=None,
            last=None,
            paid_on=None,
            bank_reference="SP2D-KALBAR-0001",
            branch_arrangement=False,
            idempotency_key="bench-kalbar-2026-full-year",
            now=NOW,
        )
        figures["payment retry s"] = time.perf_counter() - started
        figures["retry new"] = created
        figures["allocations"] = session.scalar(select(func.count()).select_from(PaymentAllocation))
        dispose(app)
    figures["checks ok"] = (
        figures["created"] == rows - bad
        and figures["rejected"] == bad
        and not figures["re-import new"]
        and not figures["retry new"]
        and figures["members"] == figures["programme members"] == rows - bad
        and figures["allocations"] == 12 * (rows - bad)
        and figures["payment IDR"] == 12 * (rows - bad) * RATE
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    code_at_start = code_fingerprint()

    def body(cleanup: contextlib.ExitStack, instance: Path) -> int:
        from tests import servers

        cluster = throwaway_postgres(cleanup)
        url = servers.create_database(cluster.url, "iuran_bench_sponsors")
        print("bench: migrating", flush=True)
        migrate(url, DUMMY_REDIS)
        print(f"bench: importing {args.rows:,} rows, then paying 12 months for them", flush=True)
        figures = run(url, args.rows, args.bad_every)
        rows = [
            ["import (check every row, bulk insert, report)", f"{figures['import s']:.2f}"],
            ["same file again (nothing changes)", f"{figures['re-import s']:.3f}"],
            ["bulk payment, 12 months for every member", f"{figures['payment s']:.2f}"],
            ["same payment again (Idempotency-Key)", f"{figures['payment retry s']:.3f}"],
        ]
        text = "\n".join(
            [
                f"iuran benchmark: sponsor import and bulk payment — {started_at:%Y-%m-%d %H:%M} UTC, commit "
                f"{git_describe()} (app code {code_at_start}); {os.cpu_count()} cores",
                f"PostgreSQL {Path(servers.postgres_bin_dir()).parent.name} (throwaway cluster, unix socket, "
                "fsync off); "
                "in-process service calls, as `flask import-sponsored` and the API's worker job make them",
                f"file: {figures['rows']:,} rows ({figures['file MB']} MB), {figures['bad rows']:,} broken on purpose; "
                "aim: the import under 60 s",
                "",
                format_table(["step", "seconds"], rows),
                "",
                f"created {figures['created']:,}, rejected {figures['rejected']:,}; members {figures['members']:,}, "
                f"name keys {figures['name keys']:,}, programme members {figures['programme members']:,}",
                f"payment {figures['receipt']}: Rp{figures['payment IDR']:,} for {figures['member-months']:,} "
                f"member-months; allocations {figures['allocations']:,}",
                f"checks {'ok' if figures['checks ok'] else 'FAILED'}",
            ]
        )
        write_result("sponsor-import", started_at, text)
        return 0 if figures["checks ok"] else 1

    return run_guarded(body, ("DATABASE_URL", "REDIS_URL"))


if __name__ == "__main__":
    raise SystemExit(main())
