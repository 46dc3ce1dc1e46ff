"""Benchmark: the standing reconciliation of every member, beside one plain aggregate over the payments.

    .venv/bin/python -m bench.reconcile [--sizes 100000,1000000] [--quick] [--branches 4] [--chunk 5000]

For each size, a throwaway PostgreSQL cluster (tests/servers.py) gets a migrated database, seeded in SQL
(generate_series, no ORM): N members spread over ``--branches`` branches (ids interleaved, as enrolments over
time leave them), one membership period each from the month 11 months ago, and a payment with its allocation
for each month they settled, 12 months for a member who is paid up. The mix, by member: 70% paid up through this
month; 8% paid 1 to 6 months ahead as well (one more payment for those months); 12% 1 to 3 months behind; 6%
stopped paying after 1 to 6 months (lapsed); 4% paid up but this month's payment reversed; 10% of all with an
active auto-debit mandate (no reminders). The cached standing on ``members`` is "active" with the right
paid_through (the reversed ones keep the month they lost), as if the last run were before the arrears began:
the first run has a night's worth of changes to write.

Then, on the same data and in the same run:

- ``SELECT member_id, sum(amount_idr) FROM payments GROUP BY member_id``, twice, the second (warm) one counted:
  fetched by the client, and (for reference) aggregated on the server only;
- the full reconciliation of every branch through the real ``collection.members.reconciliation.reconcile_branch``, in a
  child process of its own (so its peak RSS is its own): a first run, which writes the changes, and a second
  run on the same day, which should write nothing. PostgreSQL's CPU during each run is measured from /proc.

It prints a table per size and writes it to bench/results/reconcile-<timestamp>.txt. The aim is a reconciliation
no slower than 3x the aggregate, with memory flat as the members grow; it measures and reports, it passes or
fails on no time. Exit code 1 when a check failed (the re-run wrote something, the statuses are not what the mix
says), 2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench.harness import (
    ROOT,
    CpuMeter,
    code_changed,
    code_fingerprint,
    dispose,
    format_table,
    git_describe,
    migrate,
    run_guarded,
    throwaway_postgres,
    wait_until_quiet,
    write_result,
)

TIMEZONE = "Asia/Jakarta"
INCOMES = (900_000, 1_500_000, 2_500_000, 4_000_000)
AIM_RATIO = 3.0
DUMMY_REDIS = "unix:///nonexistent/redis.sock"  # the reconciliation never talks to Redis


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reconcile",
        description="The standing reconciliation beside SELECT member_id, sum(amount_idr) FROM payments GROUP BY.",
    )
    parser.add_argument("--sizes", default="100000,1000000", help="members, comma-separated (default 100000,1000000)")
    parser.add_argument("--quick", action="store_true", help="one small size (10000 members), to try it out")
    parser.add_argument("--branches", type=int, default=4, help="branches the members are spread over")
    parser.add_argument("--chunk", type=int, default=0, help="members per range (default: the code's CHUNK)")
    parser.add_argument("--quiet-wait", type=float, default=30.0, help="seconds to wait for a quiet machine")
    parser.add_argument("--child", nargs=2, metavar=("URL", "NOW"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.size_list = [10_000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    return args


# --- seeding -------------------------------------------------------------------------------------------------


def seed(url: str, members: int, branches: int, today: date) -> dict[str, Any]:
    """Branches, members, periods, payments, allocations and mandates, in SQL; returns counts and seconds."""
    import psycopg

    from collection.members.rates import Package, Sector, default_rate_table
    from collection.members.standing_sql import month_amount
    from core.months import Month
    from tests import servers

    table = default_rate_table()
    this_month = Month.of(today)
    first = this_month - 11
    started = time.monotonic()
    brackets = [table.bracket_for_income(income, this_month).number for income in INCOMES]
    amounts = [
        (bracket, str(package), str(sector), month.first_day(), month_amount(table, (bracket, package, sector), month))
        for bracket in sorted(set(brackets))
        for package in Package
        for sector in Sector
        for month in first.until(this_month + 7)
    ]
    with psycopg.connect(servers.libpq_conninfo(url), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute(
            "INSERT INTO branches (id, code, name, province_code, regency_code, timezone, cash_limit_idr, "
            "deposit_deadline_working_days, created_at) "
            "SELECT b, 'R' || lpad(b::text, 2, '0'), 'Kantor Cabang ' || b, '19', '1971', %s, 50000000, 1, now() "
            "FROM generate_series(1, %s) b",
            (TIMEZONE, branches),
        )
        conn.execute(
            "CREATE UNLOGGED TABLE bench_amounts (bracket int, package text, sector text, month date, amount int, "
            "PRIMARY KEY (bracket, package, sector, month))"
        )
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO bench_amounts VALUES (%s, %s, %s, %s, %s)", amounts)
        # The plan: what each member settled, in offsets from the period's first month (0 = 11 months ago).
        conn.execute(  # integers only, formatted in: CREATE TABLE AS takes no parameters
            f"""
            CREATE UNLOGGED TABLE bench_plan AS
            SELECT g AS id, 1 + g % {int(branches)} AS branch_id, r,
                   (ARRAY{[int(b) for b in brackets]})[1 + (g / 7) % 4] AS bracket,
                   CASE WHEN g % 7 = 0 THEN 'JKK+JKM+JHT' ELSE 'JKK+JKM' END AS package,
                   CASE WHEN g % 10 < 3 THEN 'transport' ELSE 'other' END AS sector,
                   CASE WHEN r < 700 THEN 11
                        WHEN r < 780 THEN 12 + r % 6
                        WHEN r < 900 THEN 10 - r % 3
                        WHEN r < 960 THEN r % 6
                        ELSE 11 END AS settled_to,
                   r >= 960 AS reversed_last,
                   r % 10 = 0 AS mandate
            FROM (SELECT g, ((g::bigint * 7919) % 1000)::int AS r FROM generate_series(1, {int(members)}) g) s
            """
        )
        conn.execute("ALTER TABLE bench_plan ADD PRIMARY KEY (id)")
        month_at = "(%(first)s::date + make_interval(months => k))::date"
        params = {"first": first.first_day(), "today": today}
        conn.execute(
            f"""
            INSERT INTO members (id, nik, name, birth_date, sex, phone, occupation, sector, district_code,
                declared_income_idr, bracket, package, branch_id, enrolled_on, status, first_month, paid_through,
                period_started_on, created_at, updated_at)
            SELECT p.id, lpad(p.id::text, 16, '0'), 'Peserta ' || p.id, date '1980-01-01' + p.id %% 9000, 'M',
                   '+62812' || lpad(p.id::text, 8, '0'), 'pedagang', p.sector, '197101',
                   (ARRAY{list(INCOMES)})[1 + (p.id / 7) %% 4], p.bracket, p.package, p.branch_id,
                   %(first)s::date + 3, 'active', %(first)s::date,
                   (SELECT {month_at} FROM (SELECT p.settled_to AS k) o WHERE p.settled_to >= 0),
                   %(first)s::date + 3, now(), now()
            FROM bench_plan p
            """,
            params,
        )
        conn.execute(
            "INSERT INTO membership_periods (member_id, started_on, first_month) "
            "SELECT id, %(first)s::date + 3, %(first)s::date FROM bench_plan",
            params,
        )
        # One payment a month through this month (id: member * 16 + offset), one more for the months ahead.
        conn.execute(
            f"""
            INSERT INTO payments (id, member_id, channel, amount_idr, credit_idr, paid_on, status, recorded_at,
                reversed_at, reversal_reason)
            SELECT p.id * 16 + k, p.id, 'cash', a.amount, 0, {month_at} + 8,
                   CASE WHEN p.reversed_last AND k = 11 THEN 'reversed' ELSE 'settled' END, now(),
                   CASE WHEN p.reversed_last AND k = 11 THEN now() END,
                   CASE WHEN p.reversed_last AND k = 11 THEN 'bank transfer returned' END
            FROM bench_plan p
            CROSS JOIN LATERAL generate_series(0, LEAST(p.settled_to, 11)) k
            JOIN bench_amounts a ON (a.bracket, a.package, a.sector, a.month) = (p.bracket, p.package, p.sector,
                                                                                 {month_at})
            """,
            params,
        )
        conn.execute(
            f"""
            INSERT INTO payments (id, member_id, channel, amount_idr, credit_idr, paid_on, status, recorded_at)
            SELECT p.id * 16 + 12, p.id, 'cash', sum(a.amount), 0, %(first)s::date + 340, 'settled', now()
            FROM bench_plan p
            CROSS JOIN LATERAL generate_series(12, p.settled_to) k
            JOIN bench_amounts a ON (a.bracket, a.package, a.sector, a.month) = (p.bracket, p.package, p.sector,
                                                                                 {month_at})
            WHERE p.settled_to >= 12
            GROUP BY p.id
            """,
            params,
        )
        conn.execute(
            f"""
            INSERT INTO payment_allocations (payment_id, member_id, month, amount_idr, reversed)
            SELECT p.id * 16 + LEAST(k, 12), p.id, {month_at}, a.amount, p.reversed_last AND k = 11
            FROM bench_plan p
            CROSS JOIN LATERAL generate_series(0, p.settled_to) k
            JOIN bench_amounts a ON (a.bracket, a.package, a.sector, a.month) = (p.bracket, p.package, p.sector,
                                                                                 {month_at})
            ORDER BY p.id, k
            """,
            params,
        )
        conn.execute(
            "INSERT INTO mandates (member_id, provider, provider_ref, account_label, months_per_debit, status, "
            "created_at, updated_at) SELECT id, 'midtrans', 'BENCH-' || id, 'GoPay 0812****', 1, 'active', now(), "
            "now() FROM bench_plan WHERE mandate"
        )
        for name in ("branches", "members", "payments", "membership_periods", "mandates"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
        mix: dict[str, int] = dict(
            conn.execute(
                """
                SELECT CASE WHEN r < 700 THEN 'paid up' WHEN r < 780 THEN 'paid ahead' WHEN r < 900 THEN 'behind'
                            WHEN r < 960 THEN 'stopped' ELSE 'reversed' END, count(*)
                FROM bench_plan GROUP BY 1
                """
            ).fetchall()
        )
        conn.execute("DROP TABLE bench_plan, bench_amounts")
        loaded = time.monotonic() - started
        conn.execute("VACUUM ANALYZE")  # as autovacuum leaves a table: statistics, and the visibility map
        conn.execute("VACUUM payment_allocations")  # the first pass can leave its visibility map unset
        visible = conn.execute(
            "SELECT round(100.0 * relallvisible / greatest(relpages, 1)) FROM pg_class "
            "WHERE relname = 'payment_allocations'"
        ).fetchone()
        counts = {
            name: int(conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0])  # type: ignore[index]
            for name in ("members", "payments", "payment_allocations")
        }
    seconds = time.monotonic() - started
    return {"counts": counts, "mix": mix, "load_s": loaded, "seed_s": seconds, "visible": visible[0] if visible else 0}


# --- measuring ---------------------------------------------------------------------------------------------


def time_aggregate(url: str) -> dict[str, float]:
    """The plain aggregate, twice each way; the warm (second) times."""
    import psycopg

    from tests import servers

    query = "SELECT member_id, sum(amount_idr) FROM payments GROUP BY member_id"
    times: dict[str, float] = {}
    with psycopg.connect(servers.libpq_conninfo(url), autocommit=True) as conn:
        for _ in range(2):
            started = time.monotonic()
            rows = conn.execute(query).fetchall()  # type: ignore[arg-type]
            times["fetched_s"] = time.monotonic() - started
            times["groups"] = len(rows)
            del rows
        for _ in range(2):
            started = time.monotonic()
            conn.execute(f"SELECT count(*), sum(s) FROM ({query.replace('sum(amount_idr)', 'sum(amount_idr) s')}) t")
            times["server_s"] = time.monotonic() - started
    return times


def run_child(url: str, now: datetime, instance: Path, postmaster: int) -> dict[str, Any]:
    """The reconciliation in a process of its own; its figures, with PostgreSQL's CPU meanwhile."""
    env = {**os.environ, "IURAN_INSTANCE": str(instance), "PYTHONPATH": str(ROOT)}
    meter = CpuMeter({"postgres": postmaster})
    meter.start()
    done = subprocess.run(
        [sys.executable, "-m", "bench.reconcile", "--child", url, now.isoformat()],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    use = meter.stop()
    if done.returncode != 0:
        raise RuntimeError(f"the reconciliation failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["postgres_cpu_s"] = use.cores.get("postgres", 0.0) * use.seconds
    figures["others_cores"] = use.others
    return figures


def child(url: str, on: str) -> int:
    """In the child: reconcile every branch twice (first run, re-run), print the figures as one JSON line."""
    from sqlalchemy import func, select

    from app import create_app
    from collection.members.models import MemberStatusChange, StandingFlag, VisitItem
    from collection.members.reconciliation import CHUNK, reconcile_branch, summary
    from core.extensions import db
    from core.outbox import OutboxMessage
    from organisation.models import Branch

    chunk = int(os.environ.get("BENCH_RECONCILE_CHUNK") or CHUNK)
    now = datetime.fromisoformat(on)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": DUMMY_REDIS})
    figures: dict[str, Any] = {"chunk": chunk}
    with app.app_context():
        session = db.session
        branch_ids = list(session.scalars(select(Branch.id).order_by(Branch.id)))
        session.commit()

        def written() -> dict[str, int]:
            models = {
                "status changes": MemberStatusChange,
                "flags": StandingFlag,
                "texts": OutboxMessage,
                "visits": VisitItem,
            }
            counts = {name: int(session.scalar(select(func.count()).select_from(m)) or 0) for name, m in models.items()}
            session.commit()
            return counts

        for run in ("first", "again"):
            before = written()
            started = time.monotonic()
            cpu = time.process_time()
            results = [summary(reconcile_branch(session, b, now, chunk=chunk)) for b in branch_ids]
            figures[run] = {
                "seconds": time.monotonic() - started,
                "python_cpu_s": time.process_time() - cpu,
                "members": sum(r["members"] for r in results),
                "changed": sum(r["changed"] for r in results),
                "flags": sum(r["flags"] for r in results),
                "reminders": sum(r["reminders"] for r in results),
                "by_status": {
                    s: sum(r["by_status"].get(s, 0) for r in results) for s in ("active", "in_arrears", "lapsed")
                },
                "rows written": {k: v - before[k] for k, v in written().items()},
            }
        dispose(app)
    figures["peak_rss_mb"] = own_peak_rss_mb()
    print(json.dumps(figures))
    return 0


def own_peak_rss_mb() -> float:
    """This process's own peak RSS: VmHWM, its address space's high-water mark. Not ru_maxrss, which Linux
    carries over exec from the process that started it (here the parent, after fetching every GROUP BY row:
    280 MB at 1M members, while the reconciliation's own peak stayed at 117 MB)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the run -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(*args.child)
    started_at = datetime.now(UTC)
    code_at_start = code_fingerprint()

    def body(cleanup: contextlib.ExitStack, instance: Path) -> int:
        from core.clock import local_today, utcnow
        from tests import servers

        if args.chunk:
            os.environ["BENCH_RECONCILE_CHUNK"] = str(args.chunk)
        cluster = throwaway_postgres(cleanup)
        postmaster = int((Path(cluster.data_dir) / "postmaster.pid").read_text().split()[0])
        template = servers.create_database(cluster.url, "iuran_bench_template")
        print("bench: migrating", flush=True)
        migrate(template, DUMMY_REDIS)
        now = utcnow()
        today = local_today(TIMEZONE, now)
        rows: list[list[object]] = []
        details: list[str] = []
        valid = True
        for size in args.size_list:
            name = f"iuran_bench_reconcile_{size}"
            url = servers.create_database(cluster.url, name, template="iuran_bench_template")
            print(f"bench: seeding {size:,} members", flush=True)
            seeded = seed(url, size, args.branches, today)
            print(f"bench:   seeded in {seeded['seed_s']:.1f} s: {seeded['counts']}", flush=True)
            wait_until_quiet({"postgres": postmaster}, max_wait=args.quiet_wait)
            aggregate = time_aggregate(url)
            print(f"bench:   GROUP BY {aggregate['fetched_s']:.2f} s (server only {aggregate['server_s']:.2f} s)")
            figures = run_child(url, now, instance, postmaster)
            first, again = figures["first"], figures["again"]
            print(f"bench:   reconciliation {first['seconds']:.2f} s, re-run {again['seconds']:.2f} s", flush=True)
            ok = again["changed"] == again["flags"] == again["reminders"] == 0
            ok = ok and not any(again["rows written"].values()) and first["members"] == size
            valid = valid and ok
            rows.append(
                [
                    f"{size:,}",
                    f"{seeded['counts']['payments']:,}",
                    f"{aggregate['fetched_s']:.2f}",
                    f"{aggregate['server_s']:.2f}",
                    f"{first['seconds']:.2f}",
                    f"{again['seconds']:.2f}",
                    f"{again['seconds'] / aggregate['fetched_s']:.2f}",
                    f"{first['seconds'] / aggregate['fetched_s']:.2f}",
                    f"{figures['peak_rss_mb']:.0f}",
                    f"{first['changed']:,}",
                    f"{sum(first['rows written'].values()):,}",
                    f"{sum(again['rows written'].values()):,}",
                ]
            )
            details += [
                f"{size:,} members: seeded in {seeded['seed_s']:.0f} s ({seeded['load_s']:.0f} s loading, the rest "
                f"VACUUM ANALYZE); mix {seeded['mix']}; rows {seeded['counts']}; allocations all-visible: "
                f"{seeded['visible']}% of pages",
                f"  first run: {json.dumps(first)}",
                f"  re-run:    {json.dumps(again)}",
                f"  PostgreSQL CPU over both runs {figures['postgres_cpu_s']:.1f} s; other processes used "
                f"{figures['others_cores']:.2f} cores meanwhile; chunk {figures['chunk']}; checks "
                f"{'ok' if ok else 'FAILED (the re-run wrote something, or members were missed)'}",
            ]
            servers.drop_database(cluster.url, name)
        headers = [
            "members",
            "payments",
            "GROUP BY s",
            "(server only)",
            "reconcile 1st s",
            "re-run s",
            "ratio re-run",
            "ratio 1st",
            "peak RSS MB",
            "status changes",
            "rows written 1st",
            "rows written re-run",
        ]
        text = "\n".join(
            [
                f"iuran benchmark: standing reconciliation vs one GROUP BY over payments — {started_at:%Y-%m-%d %H:%M} "
                f"UTC, commit {git_describe()} (app code {code_at_start}), reconciled as of {today} ({TIMEZONE})",
                f"PostgreSQL {Path(servers.postgres_bin_dir()).parent.name} (throwaway cluster, unix socket, fsync off,"
                f" default memory settings); {args.branches} branches, member ids interleaved; {os.cpu_count()} cores",
                "GROUP BY s: `SELECT member_id, sum(amount_idr) FROM payments GROUP BY member_id`, warm, every row "
                "fetched by psycopg; (server only): the same wrapped in count(*), nothing fetched.",
                "reconcile: collection.members.reconciliation.reconcile_branch for every branch, in a child process; "
                "1st run writes the night's changes, the re-run (same day) should write nothing. "
                "ratio = reconcile / GROUP BY "
                f"(aim: at most {AIM_RATIO:g}). peak RSS: the child's own (VmHWM).",
                "",
                format_table(headers, rows),
                "",
                *details,
                *code_changed(code_at_start),
            ]
        )
        text += "\n\nvalid\n" if valid else "\n\nNOT VALID (see above)\n"
        write_result("reconcile", started_at, text)
        return 0 if valid else 1

    return run_guarded(body, ("DATABASE_URL", "REDIS_URL"))


if __name__ == "__main__":
    sys.exit(main())
