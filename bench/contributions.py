"""Benchmark: the cash contribution endpoint beside a bare one-INSERT endpoint, on gunicorn and PostgreSQL.

    .venv/bin/python -m bench.contributions [--members 20000] [--agents 32] [--seconds 20] [--connections 32]

It starts a throwaway PostgreSQL cluster and a private Redis (tests/servers.py), migrates a database, seeds
one branch (with a cash limit high enough never to block), agents with API tokens and members who each owe
this month, and starts `gunicorn -w 2 'app:create_app()'` on 127.0.0.1 with IURAN_BENCH=1 (which mounts
``POST /bench/insert``, bench/endpoints.py). wrk, a second process, then loads ``POST /api/v1/contributions``
(a random agent pays one month for a random member, each request with its own Idempotency-Key) and the bare
insert with the same settings, alternating the two over ``--rounds`` rounds, each measured run after a
warm-up. It prints requests/s, p50 and p99 of both and their ratio (taken from the same run), counts every
response that was not 2xx (a run with any is not a valid result), checks the database against what wrk saw,
and counts the SQL statements one request runs (``--no-profile`` skips that). The table goes to
bench/results/contributions-<timestamp>.txt too. Everything it started is stopped at the end, on Ctrl-C too.

It measures and reports; it passes or fails on no time. The exit code is 1 only when the result is not
valid (errors during the load) or the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import math
import os
import pstats
import random
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import (
    BenchError,
    CpuMeter,
    CpuUse,
    Gunicorn,
    WrkRun,
    code_changed,
    code_fingerprint,
    compare_endpoints,
    dispose,
    ensure_wrk,
    format_table,
    migrate,
    result_title,
    run_guarded,
    run_wrk,
    start_gunicorn,
    throwaway_postgres,
    throwaway_redis,
    write_result,
)

LUA = Path(__file__).with_name("contributions.lua")
BRANCH_CODE = "BEN"
REGENCY = "1971"  # Pangkalpinang
TIMEZONE = "Asia/Jakarta"
CASH_LIMIT_IDR = 2_000_000_000  # never reached (the column is a 32-bit integer): the cash rules must not block
AIM_RATIO = 0.5
AIM_P99_MS = 100.0
BARE, CONTRIBUTION = "bare insert", "contribution"
PROFILED = 25  # requests of each kind the in-process SQL count sends, before the load and after it


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.contributions",
        description="Load POST /api/v1/contributions beside a bare one-INSERT endpoint (gunicorn, PostgreSQL, wrk).",
    )
    parser.add_argument("--members", type=int, default=20_000, help="members who each owe this month (20000)")
    parser.add_argument(
        "--agents", type=int, default=32, help="agents with API tokens, picked at random per request (32)"
    )
    parser.add_argument("--seconds", type=int, default=20, help="length of each measured wrk run (20)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up before each measured run, 0 for none (5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections: concurrent clients (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of bare + contribution, order alternating (2)")
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="past cash payments per agent, all deposited, seeded before the load (0): the endpoint reads an "
        "agent's whole cash history, so this shows how its cost grows with an agent's tenure",
    )
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the in-process SQL count")
    parser.add_argument("--seed", type=int, default=20261122, help="random seed of the seeded data")
    args = parser.parse_args(argv)
    for name in ("members", "agents", "seconds", "connections", "threads", "workers", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.warmup < 0 or args.history < 0:
        parser.error("--warmup and --history must not be negative")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads (wrk gives each thread its connections)")
    return args


# --- the database -----------------------------------------------------------------------------------


@dataclass
class Seeded:
    tokens: list[str]
    member_lo: int
    member_hi: int
    counts: dict[str, int]
    seconds: float


def seed(url: str, redis_url: str, args: argparse.Namespace) -> Seeded:
    """Bulk-insert the branch, agents and their tokens, members, and any past history of each agent."""
    from sqlalchemy import insert, update

    from app import create_app
    from collection.members.arrears import MemberStatus
    from collection.members.kpj import kpj_for
    from collection.members.models import Member, MemberNameKey, MembershipPeriod, MemberStatusChange
    from collection.members.names import name_keys
    from collection.members.nik import Sex, fake_nik
    from collection.members.rates import Package, Sector
    from collection.members.services import load_rate_table
    from commands.demo import FAMILY_NAMES, FIRST_NAMES_M
    from core.clock import local_today, utcnow
    from core.extensions import db
    from core.months import Month
    from organisation.models import Agent, ApiToken, Branch, Role, StaffUser, Wadah
    from organisation.services import hash_password, sha256_hex

    started = time.monotonic()
    rng = random.Random(args.seed)
    now = utcnow()
    today = local_today(TIMEZONE, now)
    month = Month.of(today)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    with app.app_context():
        session = db.session
        table = load_rate_table(session)
        branch_id = session.scalar(
            insert(Branch)
            .values(
                code=BRANCH_CODE,
                name="Kantor Cabang Benchmark",
                province_code=REGENCY[:2],
                regency_code=REGENCY,
                timezone=TIMEZONE,
                cash_limit_idr=CASH_LIMIT_IDR,
                deposit_deadline_working_days=30,  # a run that crosses midnight must not be blocked either
            )
            .returning(Branch.id)
        )
        wadah_id = session.scalar(insert(Wadah).values(branch_id=branch_id, name="Wadah Benchmark").returning(Wadah.id))
        password_hash = hash_password(secrets.token_urlsafe(16))  # nobody logs in: the tokens are made here
        user_ids = list(
            session.scalars(
                insert(StaffUser).returning(StaffUser.id, sort_by_parameter_order=True),
                [
                    {
                        "username": f"bench.agent{i:03d}",
                        "password_hash": password_hash,
                        "full_name": f"Agen Benchmark {i}",
                        "role": Role.AGENT.value,
                        "branch_id": branch_id,
                    }
                    for i in range(1, args.agents + 1)
                ],
            )
        )
        agent_ids = list(
            session.scalars(
                insert(Agent).returning(Agent.id, sort_by_parameter_order=True),
                [
                    {"user_id": uid, "branch_id": branch_id, "wadah_id": wadah_id, "code": f"{BRANCH_CODE}-{i:03d}"}
                    for i, uid in enumerate(user_ids, 1)
                ],
            )
        )
        tokens = [secrets.token_urlsafe(24) for _ in user_ids]
        session.execute(
            insert(ApiToken),
            [
                {
                    "user_id": uid,
                    "token_sha256": sha256_hex(token),
                    "created_at": now,
                    "expires_at": now + timedelta(days=2),
                }
                for uid, token in zip(user_ids, tokens, strict=True)
            ],
        )

        def member_rows(
            count: int, first_month: Month, started_on: date, paid_through: Month | None
        ) -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []
            seen: set[str] = set()
            while len(rows) < count:
                birth = today - timedelta(days=rng.randint(18 * 365, 60 * 365))
                nik = fake_nik(rng, REGENCY, birth, Sex.MALE)
                if nik in seen:
                    continue
                seen.add(nik)
                transport = rng.random() < 0.3
                income = rng.choice([900_000, 900_000, 1_500_000, 2_000_000])
                rows.append(
                    {
                        "nik": nik,
                        "name": f"{rng.choice(FIRST_NAMES_M)} {rng.choice(FAMILY_NAMES)}".strip(),
                        "birth_date": birth,
                        "sex": Sex.MALE.value,
                        "phone": f"+628{rng.randint(11, 59)}{rng.randint(10_000_000, 99_999_999)}",
                        "occupation": "ojek online" if transport else "pedagang pasar",
                        "sector": (Sector.TRANSPORT if transport else Sector.OTHER).value,
                        "district_code": nik[:6],
                        "declared_income_idr": income,
                        "bracket": table.bracket_for_income(income, month).number,
                        "package": Package.JKK_JKM.value,
                        "branch_id": branch_id,
                        "enrolled_by_agent_id": (agent_id := rng.choice(agent_ids)),
                        "agent_id": agent_id,
                        "enrolled_on": started_on,
                        "status": MemberStatus.ACTIVE.value,
                        "first_month": first_month,
                        "paid_through": paid_through,
                        "period_started_on": started_on,
                    }
                )
            return rows

        def insert_members(rows: list[dict[str, Any]]) -> list[int]:
            ids = list(session.scalars(insert(Member).returning(Member.id, sort_by_parameter_order=True), rows))
            session.execute(update(Member), [{"id": i, "kpj": kpj_for(i)} for i in ids])
            session.execute(
                insert(MemberNameKey),
                [
                    {"member_id": i, "key": k, "branch_id": row["branch_id"]}
                    for i, row in zip(ids, rows, strict=True)
                    for k in name_keys(row["name"])
                ],
            )
            session.execute(
                insert(MembershipPeriod),
                [
                    {"member_id": i, "started_on": r["enrolled_on"], "first_month": r["first_month"]}
                    for i, r in zip(ids, rows, strict=True)
                ],
            )
            session.execute(
                insert(MemberStatusChange),
                [
                    {
                        "member_id": i,
                        "from_status": None,
                        "to_status": "active",
                        "changed_on": r["enrolled_on"],
                        "cause": "enrolled",
                    }
                    for i, r in zip(ids, rows, strict=True)
                ],
            )
            return ids

        # The members the load pays for: enrolled today, each owing this month (and up to 24 months ahead).
        # Inserted first, so they take contiguous ids (the load draws ids from a range).
        load_ids = insert_members(member_rows(args.members, month, today, None))
        assert load_ids == list(range(load_ids[0], load_ids[0] + len(load_ids))), "member ids are not contiguous"
        counts = {"agents": len(agent_ids), "members": len(load_ids), "history payments": 0}
        if args.history:
            assert branch_id is not None
            counts["history payments"] = _seed_history(
                session,
                rng,
                table,
                args.history,
                agent_ids,
                user_ids,
                branch_id,
                today,
                now,
                member_rows,
                insert_members,
            )
        session.commit()
        dispose(app)
    return Seeded(tokens, load_ids[0], load_ids[-1], counts, time.monotonic() - started)


def _seed_history(
    session: Any,
    rng: random.Random,
    table: Any,
    per_agent: int,
    agent_ids: list[int],
    user_ids: list[int],
    branch_id: int,
    today: date,
    now: datetime,
    member_rows: Any,
    insert_members: Any,
) -> int:
    """Past cash payments, one month each, of members fully paid for 24 months; each agent has deposited all of his."""
    from sqlalchemy import insert

    from collection.members.models import PaymentAllocation
    from collection.members.rates import ContributionTerms, Package, Payer, Sector, amount_due
    from core.months import Month
    from payments.ledger.models import Channel, Deposit, Payment, Receipt
    from payments.ledger.receipts import new_verification_code, receipt_number

    span = 24
    last = Month.of(today)
    first = last - (span - 1)
    total = per_agent * len(agent_ids)
    rows = member_rows(math.ceil(total / span), first, first.first_day(), last)
    ids = insert_members(rows)
    payments: list[dict[str, Any]] = []
    allocations: list[tuple[int, Month, int]] = []
    slot = 0
    for member_id, row in zip(ids, rows, strict=True):
        terms = ContributionTerms(row["bracket"], Package(row["package"]), Sector(row["sector"]), Payer.SELF)
        for m in first.until(last):
            if slot == total:
                break
            agent_index = slot % len(agent_ids)
            paid_on = min(m.first_day() + timedelta(days=rng.randint(0, 20)), today - timedelta(days=1))
            amount = amount_due(table, terms, m).total_idr
            payments.append(
                {
                    "member_id": member_id,
                    "channel": Channel.CASH.value,
                    "amount_idr": amount,
                    "credit_idr": 0,
                    "paid_on": paid_on,
                    "agent_id": agent_ids[agent_index],
                    "recorded_by_user_id": user_ids[agent_index],
                    "recorded_at": datetime.combine(paid_on, datetime.min.time()) + timedelta(hours=2, seconds=slot),
                }
            )
            allocations.append((member_id, m, amount))
            slot += 1
    payment_ids = list(session.scalars(insert(Payment).returning(Payment.id, sort_by_parameter_order=True), payments))
    session.execute(
        insert(PaymentAllocation),
        [
            {"payment_id": pid, "member_id": mid, "month": m, "amount_idr": amount}
            for pid, (mid, m, amount) in zip(payment_ids, allocations, strict=True)
        ],
    )
    session.execute(
        insert(Receipt),
        [
            {
                "payment_id": pid,
                "number": receipt_number(BRANCH_CODE, p["paid_on"], pid),
                "verification_code": new_verification_code(rng.randrange),
                "issued_at": p["recorded_at"],
            }
            for pid, p in zip(payment_ids, payments, strict=True)
        ],
    )
    held: dict[int, int] = {}
    for p in payments:
        held[p["agent_id"]] = held.get(p["agent_id"], 0) + p["amount_idr"]
    session.execute(
        insert(Deposit),
        [
            {
                "agent_id": agent_id,
                "branch_id": branch_id,
                "amount_idr": amount,
                "deposited_on": today - timedelta(days=1),
                "bank_reference": f"BENCH-{agent_id}",
                "recorded_by_user_id": user_ids[agent_ids.index(agent_id)],
                "recorded_at": now - timedelta(hours=12),
            }
            for agent_id, amount in held.items()
        ],
    )
    return len(payment_ids)


# --- the load ---------------------------------------------------------------------------------------


@dataclass
class Measured:
    round: int
    endpoint: str
    run: WrkRun
    warmup: WrkRun | None
    cpu: CpuUse

    def cpu_ms_per_request(self, group: str) -> float:
        """CPU milliseconds a request cost ``group`` (gunicorn, postgres, ...) in this run."""
        return 1000 * self.cpu.cores.get(group, 0.0) * self.cpu.seconds / max(self.run.requests, 1)


def load(wrk: str, server: Gunicorn, datafile: Path, args: argparse.Namespace, meter: CpuMeter) -> list[Measured]:
    """Alternate bare and contribution runs (bare first in odd rounds, contribution first in even ones)."""
    tag = secrets.token_hex(3)
    results = []
    for round_ in range(1, args.rounds + 1):
        order = [BARE, CONTRIBUTION] if round_ % 2 else [CONTRIBUTION, BARE]
        for endpoint in order:
            mode = "bare" if endpoint == BARE else "contribution"
            path = "/bench/insert" if endpoint == BARE else "/api/v1/contributions"
            common = {"connections": args.connections, "threads": args.threads}
            warm = None
            if args.warmup:
                print(f"bench: round {round_}: {endpoint}: {args.warmup} s warm-up", flush=True)
                warm = run_wrk(
                    wrk,
                    server.base_url + path,
                    LUA,
                    [mode, f"{tag}r{round_}w", str(datafile)],
                    label=f"{endpoint} warm-up",
                    seconds=args.warmup,
                    **common,
                )
            print(f"bench: round {round_}: {endpoint}: {args.seconds} s measured", flush=True)
            meter.start()
            run = run_wrk(
                wrk,
                server.base_url + path,
                LUA,
                [mode, f"{tag}r{round_}m", str(datafile)],
                label=endpoint,
                seconds=args.seconds,
                **common,
            )
            cpu = meter.stop()
            print(
                f"bench:   {run.rps:8.1f} req/s  p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms  "
                f"non-2xx {run.non_2xx}  socket errors {sum(run.socket_errors.values())}  "
                f"other processes {cpu.others:.2f} cores",
                flush=True,
            )
            results.append(Measured(round_, endpoint, run, warm, cpu))
    return results


# --- checks against the database ------------------------------------------------------------------


def database_checks(url: str, measured: list[Measured], seeded: Seeded, connections: int, profiled: int) -> list[str]:
    """Does the database hold what wrk saw succeed? And how far ahead did the busiest member get paid?

    ``profiled``: requests of each kind the in-process SQL count sent before the load (not counted as load).
    """
    import psycopg

    from tests import servers

    def count_2xx(endpoint: str) -> int:
        total = 0
        for m in measured:
            if m.endpoint != endpoint:
                continue
            for run in (m.run, m.warmup):
                if run is not None:
                    total += sum(n for status, n in run.statuses.items() if 200 <= status <= 299)
        return total

    with psycopg.connect(servers.libpq_conninfo(url)) as conn:
        payments = conn.execute("SELECT count(*) FROM payments WHERE idempotency_key LIKE 'bench-%'").fetchone()
        inserts = conn.execute("SELECT count(*) FROM audit_events WHERE action = 'bench.insert'").fetchone()
        busiest = conn.execute(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM payment_allocations "
            "WHERE member_id BETWEEN %s AND %s GROUP BY member_id) AS t",
            (seeded.member_lo, seeded.member_hi),
        ).fetchone()
        outbox = conn.execute("SELECT count(*) FROM outbox_messages WHERE kind = 'receipt'").fetchone()
    assert payments and inserts and busiest and outbox
    runs = sum(1 + (m.warmup is not None) for m in measured if m.endpoint == CONTRIBUTION)
    in_flight = f"up to {connections} x {runs} runs = {connections * runs} more: requests in flight when a run ends"
    return [
        f"contributions: wrk saw {count_2xx(CONTRIBUTION):,} 2xx (warm-ups included); the database holds "
        f"{payments[0]:,} payments from the load and {outbox[0] - profiled:,} receipt texts in the outbox for them "
        f"(it may hold {in_flight}, which wrk does not count)",
        f"bare insert: wrk saw {count_2xx(BARE):,} 2xx; the database holds {inserts[0] - profiled:,} rows "
        "from the load (likewise)",
        f"the most months paid for one member: {busiest[0]} (at most 25 can be: this month and 24 ahead)",
    ]


# --- counting SQL in-process ------------------------------------------------------------------------


@dataclass
class SqlProfile:
    label: str
    requests: int = 0
    statements: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    db_s: float = 0.0
    wall_s: float = 0.0
    last: list[tuple[str, int, float]] = field(default_factory=list)  # the last request: sql, rows, ms
    cprofile: str = ""

    def line(self) -> str:
        n = max(self.requests, 1)
        kinds = ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(self.by_kind.items(), key=lambda kv: -kv[1]))
        return (
            f"{self.label}: {self.statements / n:.1f} SQL statements a request ({kinds}); "
            f"{self.rows / n:.1f} rows returned; {1000 * self.wall_s / n:.2f} ms a request in-process, "
            f"of which {1000 * self.db_s / n:.2f} ms waiting on PostgreSQL"
        )


def _normalise(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def sql_profile(
    url: str, redis_url: str, token: str, member_ids: list[int], label: str, with_cprofile: bool = False
) -> tuple[SqlProfile, SqlProfile]:
    """Send contribution and bare-insert requests one at a time through the app in this process, counting SQL.

    The same app and database as gunicorn's; the numbers are per request, with no concurrency.
    """
    from sqlalchemy import event

    from app import create_app
    from core.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "BENCH_ENDPOINTS": True})
    client = app.test_client()
    contribution = SqlProfile(f"contribution ({label})")
    bare = SqlProfile(f"bare insert ({label})")
    current: list[SqlProfile] = [contribution]
    clock: dict[str, float] = {}
    with app.app_context():
        engine = db.engine

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        clock["start"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        elapsed = time.perf_counter() - clock["start"]
        profile = current[0]
        text = _normalise(statement)
        kind = text.split(" ", 1)[0].upper()
        rows = cursor.rowcount if kind == "SELECT" and cursor.rowcount and cursor.rowcount > 0 else 0
        profile.statements += 1
        profile.by_kind[kind] = profile.by_kind.get(kind, 0) + 1
        profile.rows += rows
        profile.db_s += elapsed
        profile.last.append((text, rows, elapsed * 1000))

    client.get("/api/v1/rates?on=2026-01-01")  # connects and initialises the dialect before counting starts
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for i, member_id in enumerate(member_ids):
            # statements outside a request (connection set-up, the first request's) are counted too: a few
            for profile, path, body in (
                (contribution, "/api/v1/contributions", {"member_id": member_id, "months": 1}),
                (bare, "/bench/insert", {}),
            ):
                current[0] = profile
                profile.last = []
                key = f"benchprofile-{label.replace(' ', '-')}-{i}-{secrets.token_hex(4)}"  # not counted as load
                started = time.perf_counter()
                response = client.post(path, json=body, headers={**headers, "Idempotency-Key": key})
                profile.wall_s += time.perf_counter() - started
                if response.status_code != 201:
                    body_text = response.get_data(as_text=True)
                    raise BenchError(f"{path} answered {response.status_code} in-process: {body_text}")
                profile.requests += 1
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        if with_cprofile:
            profiler = cProfile.Profile()
            profiler.enable()
            for i, member_id in enumerate(member_ids):
                key = f"benchprofile-c-{label.replace(' ', '-')}-{i}-{secrets.token_hex(4)}"
                client.post(
                    "/api/v1/contributions",
                    json={"member_id": member_id, "months": 1},
                    headers={**headers, "Idempotency-Key": key},
                )
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(40)
            stats.sort_stats("tottime").print_stats(25)
            contribution.cprofile = out.getvalue()
    finally:
        for name, listener in (("before_cursor_execute", before), ("after_cursor_execute", after)):
            if event.contains(engine, name, listener):
                event.remove(engine, name, listener)
        dispose(app)
    return contribution, bare


# --- the report -------------------------------------------------------------------------------------


def report(
    args: argparse.Namespace,
    seeded: Seeded,
    measured: list[Measured],
    checks: list[str],
    profiles: list[SqlProfile],
    started_at: datetime,
    code_at_start: str,
) -> tuple[str, str, bool]:
    """The text to print and save, details for the file only, and whether the result is valid (no errors)."""
    lines = [
        result_title("cash contribution vs bare insert", started_at, code_at_start),
        *code_changed(code_at_start),
        f"gunicorn -w {args.workers} (sync) on 127.0.0.1; PostgreSQL (throwaway cluster, unix socket, fsync off); "
        "private Redis",
        f"wrk -t{args.threads} -c{args.connections} --latency; {args.rounds} rounds x {args.seconds} s measured "
        f"per endpoint, each after a {args.warmup} s warm-up; bare and contribution alternate",
        f"seeded in {seeded.seconds:.1f} s: 1 branch (cash limit Rp{CASH_LIMIT_IDR:,}), "
        f"{seeded.counts['agents']} agents with tokens, {seeded.counts['members']:,} members each owing this month, "
        f"{seeded.counts['history payments']:,} past deposited cash payments ({args.history} per agent)",
        "",
    ]
    rows = []
    for m in measured:
        run = m.run
        rows.append(
            [
                f"round {m.round}: {m.endpoint}",
                f"{run.rps:.1f}",
                f"{run.p50_ms:.1f}",
                f"{run.p90_ms:.1f}",
                f"{run.p99_ms:.1f}",
                f"{run.max_ms:.0f}",
                run.non_2xx,
                sum(run.socket_errors.values()),
                f"{run.requests:,}",
                f"{m.cpu_ms_per_request('gunicorn'):.2f}",
                f"{m.cpu_ms_per_request('postgres'):.2f}",
                f"{m.cpu.others:.2f}",
            ]
        )
    headers = [
        "run",
        "requests/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "non-2xx",
        "socket err",
        "requests",
        "app cpu ms/req",
        "pg cpu ms/req",
        "others cores",
    ]
    lines.append(format_table(headers, rows))
    lines.append(
        "(app/pg cpu ms/req: CPU time the gunicorn workers / PostgreSQL spent per request; others cores: CPU "
        f"that processes this benchmark did not start used meanwhile, of {os.cpu_count()} cores: more than "
        "~0.1 means something else was running and the absolute figures are low; the ratio suffers less)"
    )
    lines.append("")

    comparison = compare_endpoints(measured, CONTRIBUTION, BARE, args.rounds, "contribution")
    lines += comparison.lines
    ratio = comparison.ratio
    contribution_p99 = max(r.p99_ms for r in comparison.by_endpoint[CONTRIBUTION])
    met = ratio >= AIM_RATIO and contribution_p99 < AIM_P99_MS
    lines.append(
        f"aim (ratio >= {AIM_RATIO}, contribution p99 < {AIM_P99_MS:.0f} ms at {args.connections} clients): "
        + ("met" if met else f"NOT met (ratio {ratio:.2f}, p99 {contribution_p99:.1f} ms)")
    )
    p50, p99 = "p50 is the median of the rounds' p50s", "p99 the worst round's p99"
    lines.append(f"(all-rounds rows: requests/s = all requests / all measured seconds; {p50}; {p99})")

    errors = [(m, r) for m in measured for r in (m.run, m.warmup) if r is not None and r.errors]
    valid = not errors
    lines.append("")
    if valid:
        lines.append("valid: every response in every run (warm-ups included) was 2xx, with no socket errors")
    else:
        lines.append("NOT VALID: some runs had responses that were not 2xx or socket errors:")
        for m, r in errors:
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(r.statuses.items()))
            lines.append(f"  round {m.round} {r.label}: statuses {statuses}; socket errors {r.socket_errors}")
            lines.extend(f"    {sample}" for sample in r.samples)
    lines.append("")
    lines.extend(checks)
    if profiles:
        lines.append("")
        lines.append("SQL a request runs (in-process, one request at a time, same database):")
        lines.extend(f"  {p.line()}" for p in profiles)
        lines.append("  (the file has each statement of one request, wrk's own output and a cProfile of the endpoint)")
    details = []
    for profile in profiles:
        if profile.label.startswith("contribution"):
            details.append(f"\n--- the statements of one request, {profile.label}: rows returned, ms, SQL ---")
            details.extend(f"{rows_:5d} {ms:6.2f}  {sql[:200]}" for sql, rows_, ms in profile.last)
    return "\n".join(lines) + "\n", "\n".join(details) + "\n", valid


# --- main ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    code_at_start = code_fingerprint()

    def body(cleanup: contextlib.ExitStack, instance: Path) -> int:
        from tests import servers

        wrk = ensure_wrk()
        cluster = throwaway_postgres(cleanup)
        redis = throwaway_redis(cleanup)
        url = servers.create_database(cluster.url, "iuran_bench")
        print("bench: migrating", flush=True)
        migrate(url, redis.url)
        print(f"bench: seeding {args.members:,} members, {args.agents} agents, {args.history} past payments each")
        seeded = seed(url, redis.url, args)
        print(f"bench: seeded in {seeded.seconds:.1f} s", flush=True)
        datafile = instance / "load.txt"
        datafile.write_text(f"{seeded.member_lo} {seeded.member_hi}\n" + "\n".join(seeded.tokens) + "\n")

        profile_ids = random.Random(args.seed + 1).sample(range(seeded.member_lo, seeded.member_hi + 1), 2 * PROFILED)
        profiles: list[SqlProfile] = []
        if args.profile:
            print("bench: counting SQL in-process before the load", flush=True)
            profiles.extend(sql_profile(url, redis.url, seeded.tokens[0], profile_ids[:PROFILED], "before the load"))

        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": redis.url,
            "IURAN_BENCH": "1",
            "IURAN_INSTANCE": str(instance),
            "SECRET_KEY": secrets.token_hex(16),
        }
        print(f"bench: starting gunicorn -w {args.workers}", flush=True)
        server = start_gunicorn(env, instance / "gunicorn.log", workers=args.workers)
        cleanup.callback(server.stop)
        postmaster = int((Path(cluster.data_dir) / "postmaster.pid").read_text().split()[0])
        meter = CpuMeter({"gunicorn": server.process.pid, "postgres": postmaster, "redis": redis.process.pid})
        measured = load(wrk, server, datafile, args, meter)
        server.stop()

        checks = database_checks(url, measured, seeded, args.connections, PROFILED if args.profile else 0)
        if args.profile:
            print("bench: counting SQL in-process after the load", flush=True)
            profiles.extend(
                sql_profile(
                    url, redis.url, seeded.tokens[0], profile_ids[PROFILED:], "after the load", with_cprofile=True
                )
            )
        text, details, valid = report(args, seeded, measured, checks, profiles, started_at, code_at_start)
        if not valid:
            text += "\ngunicorn's log, last lines:\n" + server.log_tail(60)
        extra = "".join(f"\n--- wrk output, round {m.round} {m.endpoint} ---\n{m.run.raw}" for m in measured)
        cprofile = "".join(f"\n--- cProfile, {p.label} ---\n{p.cprofile}" for p in profiles if p.cprofile)
        write_result("contributions", started_at, text, details + extra + cprofile)
        return 0 if valid else 1

    return run_guarded(body, ("DATABASE_URL", "REDIS_URL", "IURAN_BENCH"))


if __name__ == "__main__":
    sys.exit(main())
