"""Benchmark: the list of whom to chase, complete, for a branch of 10,000 members, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.chase_list [--members 10000] [--runs 5] [--backends sqlite,postgresql]

For each database: a migrated throwaway database (a SQLite file; a private PostgreSQL cluster from
tests/servers.py), one branch with one agent and one finance officer, and ``--members`` members seeded with
SQLAlchemy Core, each with a period from the month 11 months ago and one payment allocated to the months he
settled. The mix, by member: two thirds paid through this month; one sixth 1 to 3 months behind (in arrears);
one sixth stopped after 0 to 5 months (lapsed; a sixth of them never paid at all). The real reconciliation
(``reconcile_branch``) then stores every standing, as the nightly job does.

Then, in the same process through the Flask test client (the whole request: token, query, serialisation), as
the branch's finance officer, each timed ``--runs`` times after one warm-up, the median and the worst kept:

- the complete list: every page of ``GET /api/v1/members?status=in_arrears,lapsed&page_size=100``;
- the CSV: ``GET /api/v1/members/chase.csv``, read to its end;
- every member: every page of ``GET /api/v1/members?page_size=1000`` (by name, each with his standing's figures),
  and how many members came with them.

Checks: the list holds exactly the members the seed put in arrears or lapsed (none missing, none extra), and
the CSV has the same KPJs, months and amounts as the JSON. The aim is < 200 ms for the complete list; it
measures and reports, it fails on no time. Output: a table, also written to bench/results/chase_list-<time>.txt.
Exit code 1 when a check failed, 2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import (
    code_fingerprint,
    dispose,
    format_table,
    migrated_app,
    result_title,
    run_guarded,
    throwaway_database,
    write_result,
)

TIMEZONE = "Asia/Jakarta"
DUMMY_REDIS = "unix:///nonexistent/redis.sock"  # nothing here talks to Redis
AIM_MS = 200.0
PAGE_SIZE = 1000  # GET /members' largest page


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chase_list", description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000, help="members of the branch (default 10000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each figure (default 5)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated (default both)")
    return parser.parse_args(argv)


def plan(n: int) -> tuple[str, int]:
    """Member ``n``'s fate: ('paid', 11), ('behind', last settled offset), or ('stopped', offsets settled);
    offsets count from the period's first month (0 = 11 months ago, 11 = this month)."""
    r = (n * 7919) % 1000
    if r < 667:
        return "paid", 11
    if r < 833:
        return "behind", 9 - r % 3  # 1 to 3 months overdue (4, lapsed, once this month is due)
    return "stopped", r % 6 - 1  # settled through offset -1 (never paid) to 4: lapsed


def seed(app: Any, members: int, now: datetime) -> tuple[Any, int]:
    """The branch, its staff, members, periods, payments and allocations; returns finance's token and the branch."""
    from sqlalchemy import insert

    from collection.members.models import Member, MembershipPeriod, PaymentAllocation
    from collection.members.rates import Package, Sector
    from collection.members.services import load_rate_table
    from collection.members.standing_sql import month_amount
    from core.clock import local_today
    from core.extensions import db
    from core.months import Month
    from organisation.models import Branch
    from payments.ledger.models import Payment
    from tests.factories import create_staff

    with app.app_context():
        branch = Branch(
            code="PKP", name="Kantor Cabang PKP", province_code="19", regency_code="1971", timezone=TIMEZONE
        )
        db.session.add(branch)
        db.session.commit()
        branch_id = branch.id
    finance = create_staff(app, "branch_finance", branch_id, "finance.pkp")
    agent = create_staff(app, "agent", branch_id, "agent.pkp")
    with app.app_context():
        today = local_today(TIMEZONE, now)
        first = Month.of(today) - 11
        table = load_rate_table(db.session)
        rows, periods, payments, allocations = [], [], [], []
        for n in range(1, members + 1):
            bracket, package, sector = 1 + n % 4, str(list(Package)[n % 7 == 0]), str(list(Sector)[n % 10 < 3])
            _fate, settled_to = plan(n)
            rows.append(
                {
                    "id": n,
                    "nik": f"{n:016d}",
                    "kpj": f"{n:011d}",
                    "name": f"Peserta {n}",
                    "birth_date": first.first_day() - timedelta(days=10_000 + n % 9000),
                    "sex": "M",
                    "phone": f"+62812{n:08d}",
                    "occupation": "pedagang",
                    "village": f"Desa {n % 40}",
                    "sector": sector,
                    "district_code": "197101",
                    "declared_income_idr": 1_000_000,
                    "bracket": bracket,
                    "package": package,
                    "branch_id": branch_id,
                    "agent_id": agent.agent_id,
                    "enrolled_on": first.first_day() + timedelta(days=3),
                    "status": "active",
                    "first_month": first,
                    "paid_through": None,
                    "period_started_on": first.first_day() + timedelta(days=3),
                }
            )
            periods.append({"member_id": n, "started_on": first.first_day() + timedelta(days=3), "first_month": first})
            months = [first + k for k in range(settled_to + 1)]
            amounts = [month_amount(table, (bracket, package, sector), m) for m in months]
            if months:
                payments.append(
                    {
                        "id": n,
                        "member_id": n,
                        "channel": "cash",
                        "amount_idr": sum(amounts),
                        "paid_on": first.first_day() + timedelta(days=5),
                    }
                )
                allocations += [
                    {"payment_id": n, "member_id": n, "month": m, "amount_idr": a}
                    for m, a in zip(months, amounts, strict=True)
                    if a > 0
                ]
        for model, values in ((Member, rows), (MembershipPeriod, periods), (Payment, payments)):
            for start in range(0, len(values), 2000):
                db.session.execute(insert(model), values[start : start + 2000])
        for start in range(0, len(allocations), 5000):
            db.session.execute(insert(PaymentAllocation), allocations[start : start + 5000])
        if db.session.get_bind().dialect.name == "postgresql":
            for name in ("members", "payments"):
                db.session.execute(
                    db.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
                )
        db.session.commit()
        if db.session.get_bind().dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(db.text("VACUUM ANALYZE"))
    return finance, branch_id


def measure(app: Any, members: int, runs: int, now: datetime) -> dict[str, Any]:
    """Seed, reconcile, then time the complete JSON list and the CSV; the figures and the checks."""
    from sqlalchemy import func, select

    from collection.members.models import Member
    from collection.members.reconciliation import reconcile_branch
    from core.extensions import db

    started = time.monotonic()
    finance, branch_id = seed(app, members, now)
    with app.app_context():
        result = reconcile_branch(db.session, branch_id, now)
        stored = dict(
            db.session.execute(select(Member.status, func.count()).group_by(Member.status)).all()  # type: ignore[arg-type]
        )
        expected_ids = set(db.session.scalars(select(Member.id).where(Member.status.in_(["in_arrears", "lapsed"]))))
    seeded_s = time.monotonic() - started
    client = app.test_client()
    headers = finance.headers

    def every_page(filters: dict[str, str]) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = []
        page = 1
        while True:
            response = client.get(
                "/api/v1/members", query_string=filters | {"page": page, "page_size": PAGE_SIZE}, headers=headers
            )
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
            body = response.get_json()
            listed += body
            if len(body) < PAGE_SIZE:
                return listed
            page += 1

    def whole_list() -> list[dict[str, Any]]:
        return every_page({"status": "in_arrears,lapsed"})

    def every_member() -> list[dict[str, Any]]:
        return every_page({})

    def whole_csv() -> str:
        response = client.get("/api/v1/members/chase.csv", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return response.get_data(as_text=True)

    def timed(work: Any) -> tuple[list[float], Any]:
        out = work()  # warm-up
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            out = work()
            times.append((time.perf_counter() - t0) * 1000)
        return times, out

    list_ms, listed = timed(whole_list)
    csv_ms, text = timed(whole_csv)
    all_ms, everyone = timed(every_member)
    with_figures = sum(1 for m in everyone if m["months_in_arrears"] is not None and m["arrears_idr"] is not None)
    lines = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    listed_ids = {m["id"] for m in listed}
    missing = expected_ids - listed_ids
    extra = listed_ids - expected_ids
    behind_or_stopped = sum(1 for n in range(1, members + 1) if plan(n)[0] != "paid")
    never = sum(1 for n in range(1, members + 1) if plan(n) == ("stopped", -1))
    same_csv = [(r["kpj"], int(r["months_owed"]), int(r["amount_owed_idr"])) for r in lines] == [
        (m["kpj"], m["months_in_arrears"], m["arrears_idr"]) for m in listed
    ]
    never_listed = all(n in listed_ids for n in range(1, members + 1) if plan(n) == ("stopped", -1))
    return {
        "seed_s": seeded_s,
        "by_status": stored,
        "reconciled": result.members,
        "listed": len(listed),
        "expected": len(expected_ids),
        "seeded_behind_or_stopped": behind_or_stopped,
        "never_paid": never,
        "never_paid_listed": never_listed,
        "missing": len(missing),
        "extra": len(extra),
        "csv_same": same_csv,
        "csv_bytes": len(text.encode()),
        "list_ms": list_ms,
        "csv_ms": csv_ms,
        "all_ms": all_ms,
        "all_listed": len(everyone),
        "with_figures": with_figures,
    }


def run_backend(name: str, args: argparse.Namespace, cleanup: contextlib.ExitStack, instance: Path) -> dict[str, Any]:
    url, version = throwaway_database(name, cleanup, instance, "iuran_bench_chase")
    print(f"bench: {name}: migrating", flush=True)
    app = migrated_app(url, DUMMY_REDIS)
    now = datetime.now(UTC).replace(tzinfo=None)
    print(f"bench: {name}: seeding {args.members:,} members and reconciling", flush=True)
    figures = measure(app, args.members, args.runs, now)
    figures["version"] = version
    dispose(app)
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    code_at_start = code_fingerprint()

    def body(cleanup: contextlib.ExitStack, instance: Path) -> int:
        rows, details, valid = [], [], True
        for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
            f = run_backend(name, args, cleanup, instance)
            ok = f["missing"] == f["extra"] == 0 and f["csv_same"] and f["never_paid_listed"]
            ok = ok and f["listed"] == f["expected"] and f["reconciled"] == args.members
            valid = valid and ok
            rows.append(
                [
                    name,
                    f"{args.members:,}",
                    f"{f['listed']:,}",
                    f"{statistics.median(f['list_ms']):.0f}",
                    f"{max(f['list_ms']):.0f}",
                    f"{statistics.median(f['csv_ms']):.0f}",
                    f"{max(f['csv_ms']):.0f}",
                    f"{statistics.median(f['all_ms']):.0f}",
                    f"{f['with_figures']:,}/{f['all_listed']:,}",
                    f"{f['missing']}/{f['extra']}",
                    "yes" if f["csv_same"] else "NO",
                ]
            )
            details.append(
                f"{name}: {f['version']}; seeded and reconciled in {f['seed_s']:.1f} s; stored standings "
                f"{f['by_status']}; seeded behind or stopped {f['seeded_behind_or_stopped']:,} (never paid "
                f"{f['never_paid']:,}, all listed: {f['never_paid_listed']}); CSV {f['csv_bytes']:,} bytes; "
                f"list runs ms {[round(t) for t in f['list_ms']]}; CSV runs ms {[round(t) for t in f['csv_ms']]}; "
                f"all runs ms {[round(t) for t in f['all_ms']]}; "
                f"checks {'ok' if ok else 'FAILED'}"
            )
        headers = [
            "database",
            "members",
            "listed",
            "list median ms",
            "list worst ms",
            "CSV median ms",
            "CSV worst ms",
            "all median ms",
            "with figures",
            "missing/extra",
            "CSV = JSON",
        ]
        text = "\n".join(
            [
                result_title("the list of whom to chase", started_at, code_at_start),
                f"list: every page of GET /api/v1/members?status=in_arrears,lapsed&page_size={PAGE_SIZE} as the "
                "branch's finance officer (Flask test client, in process); CSV: GET /api/v1/members/chase.csv read "
                f"to its end; all: every page of GET /api/v1/members?page_size={PAGE_SIZE} (every member, by "
                "name, each with his standing's figures: 'with figures' counts those that have them). "
                f"{args.runs} timed runs after a warm-up. Aim: list < {AIM_MS:g} ms.",
                "",
                format_table(headers, rows),
                "",
                *details,
            ]
        )
        text += "\n\nvalid\n" if valid else "\n\nNOT VALID (see above)\n"
        write_result("chase_list", started_at, text)
        return 0 if valid else 1

    return run_guarded(body, ("DATABASE_URL", "REDIS_URL"))


if __name__ == "__main__":
    sys.exit(main())
