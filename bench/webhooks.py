"""Benchmark: provider callbacks, taken in on gunicorn and PostgreSQL and then processed in batches.

    .venv/bin/python -m bench.webhooks [--sizes 20000[,100000]] [--ledger 0] [--rq-workers 2] [--seconds 20]

Part 1, intake. A throwaway PostgreSQL cluster and a private Redis (tests/servers.py), a migrated database and
`gunicorn -w 2 'app:create_app()'` on 127.0.0.1 with IURAN_BENCH=1 (which mounts ``POST /bench/insert``,
bench/endpoints.py). wrk, a second process, loads ``POST /webhooks/midtrans`` and the bare insert with the same
settings, alternating them over ``--rounds`` rounds, each measured run after a warm-up. wrk's Lua has no
SHA-512, so every callback is signed here beforehand (a correct Midtrans ``signature_key`` over a unique
order_id and transaction_id) and written to a file per wrk run and thread that bench/webhooks.lua walks
through. ``--max-rate`` bodies a second of each run are written; a thread that sends more starts its file
again, and those requests are redeliveries (answered 200 ``duplicate: true``), whose share is reported.
The order ids are unknown to the database, which is fine for intake: the events are stored (and would go to
the review queue). It reports requests/s, p50, p99, non-2xx and the ratio (the aim is at least 0.8 of the
bare insert), checks the events stored against what wrk saw, counts the RQ jobs intake scheduled, and
counts the SQL and time of one request of each kind in-process.

Part 2, processing, for each of ``--sizes``. Members (bench/contributions.py's bulk seeding), an active
Midtrans mandate, a debit request and a pending debit attempt for each, for this month's contribution, and one
stored settlement callback per attempt (a signed Midtrans body, state "received"), all inserted in bulk. That
database is then copied (CREATE DATABASE ... TEMPLATE) for each way of processing it:

  (a) in-process: ``payments.autodebit.services.process_webhook_events`` called once in this process;
  (b) ``--rq-workers`` real `rq worker --burst` processes, one ``workers.jobs.process_webhook_events`` job
      enqueued for each: the jobs share the backlog through SELECT ... FOR UPDATE SKIP LOCKED.

Each reports events per second (and how the rate moved while the backlog drained), CPU per event, the tables
PostgreSQL read sequentially (pg_stat_user_tables: a per-event query that reads a whole table grows with the
ledger), and checks that every attempt was settled exactly once (one payment, allocation, receipt and receipt
text each; every event processed; every member paid through this month). ``--ledger N`` first puts N past cash
payments of other members on the ledger, as production has. A third copy, cut down to ``--profile-events``
events, is processed once counting SQL statements and once under cProfile, to show what the cost is made of.

Before each measured run it waits (``--quiet-wait``, 60 s at most) until processes it did not start use under
0.2 cores: another session's test run on this 2-core machine lowers every figure. The "others cores" columns
say how busy the machine was during each run anyway.

Everything goes to a table that is printed and written to bench/results/webhooks-<timestamp>.txt, with the
details (wrk's output, the statements, the profiles) in the file only. Everything it started is stopped at the
end, on Ctrl-C too. It measures and reports; it passes or fails on no time. The exit code is 1 when a result is
not valid (errors during the load, or a processing check failed), 2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import hashlib
import io
import json
import math
import os
import pstats
import random
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import (
    ROOT,
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
    wait_until_quiet,
    write_result,
)

LUA = Path(__file__).with_name("webhooks.lua")
AIM_RATIO = 0.8
BARE, WEBHOOK = "bare insert", "webhook"
PROVIDER = "midtrans"
PROFILED_REQUESTS = 50  # in-process requests of each kind for the intake SQL count
TEMPLATE_DB = "iuran_bench_template"
BATCH = 500  # process_webhook_events's default batch, which the profile run uses


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhooks",
        description="Provider callbacks: intake beside a bare insert (gunicorn, PostgreSQL, wrk), then batch "
        "processing in-process and on real rq workers.",
    )
    parser.add_argument("--seconds", type=int, default=20, help="length of each measured wrk run (20)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up before each measured run, 0 for none (5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections: concurrent clients (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of bare + webhook, order alternating (2)")
    parser.add_argument(
        "--max-rate",
        type=int,
        default=1500,
        help="signed bodies prepared per second of each wrk run (1500); requests beyond them are redeliveries",
    )
    parser.add_argument(
        "--sizes",
        default="20000",
        help="comma-separated backlog sizes to process, one stored settlement per debit attempt (20000); "
        "e.g. 20000,100000 (100,000 takes about half an hour per way of processing on 2 cores)",
    )
    parser.add_argument(
        "--ledger",
        type=int,
        default=0,
        help="past cash payments already on the ledger before the debit run (0), each with its allocation and "
        "receipt, of other members paid up for 24 months (bench/contributions.py's history seeding): production "
        "has years of them, and a query that reads the whole ledger per event shows only then",
    )
    parser.add_argument("--rq-workers", type=int, default=2, help="rq worker processes sharing the backlog (2)")
    parser.add_argument("--batch", type=int, default=500, help="events a transaction in the in-process run (500)")
    parser.add_argument(
        "--profile-events", type=int, default=1000, help="events of the SQL count and the cProfile, 0 for none (1000)"
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=90.0,
        help="the rq workers are stopped after this long (90): a bound, not an expectation",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each measured run, wait up to this many seconds for other processes to use under 0.2 "
        "cores (60; 0 to start at once)",
    )
    parser.add_argument("--no-intake", dest="intake", action="store_false", help="skip part 1 (HTTP intake)")
    parser.add_argument("--no-processing", dest="processing", action="store_false", help="skip part 2")
    parser.add_argument("--no-in-process", dest="in_process", action="store_false", help="skip processing run (a)")
    parser.add_argument("--seed", type=int, default=20261122, help="random seed of the seeded data")
    args = parser.parse_args(argv)
    for name in ("seconds", "connections", "threads", "workers", "rounds", "max_rate", "rq_workers", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0 or args.profile_events < 0 or args.ledger < 0:
        parser.error("--warmup, --profile-events and --ledger must not be negative")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads (wrk gives each thread its connections)")
    try:
        args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes whole numbers separated by commas")
    if args.processing and (not args.size_list or min(args.size_list) < 1):
        parser.error("--sizes needs at least one size of at least 1")
    return args


# --- signed callbacks ---------------------------------------------------------------------------------


def server_key() -> str:
    """The Midtrans server key the app will check against (settings' default unless the environment sets one)."""
    from core import settings

    return str(settings.payment_providers()[PROVIDER]["server_keys"][0])


def notification(order_id: str, transaction_id: str, amount_idr: int, when: datetime, key: str) -> str:
    """A Midtrans settlement notification as it arrives: compact JSON with a correct ``signature_key``."""
    gross = f"{amount_idr}.00"
    status_code = "200"
    stamp = when.strftime("%Y-%m-%d %H:%M:%S")
    body = {
        "transaction_time": stamp,
        "transaction_status": "settlement",
        "transaction_id": transaction_id,
        "status_message": "midtrans payment notification",
        "status_code": status_code,
        "signature_key": hashlib.sha512(f"{order_id}{status_code}{gross}{key}".encode()).hexdigest(),
        "settlement_time": stamp,
        "payment_type": "gopay",
        "order_id": order_id,
        "merchant_id": "G000000000",
        "gross_amount": gross,
        "fraud_status": "accept",
        "currency": "IDR",
    }
    return json.dumps(body, separators=(",", ":"))


def transaction_id(rng: random.Random) -> str:
    """A Midtrans-looking transaction id (a UUID's shape)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def write_bodies(prefix: Path, tag: str, per_thread: int, threads: int, key: str, rng: random.Random) -> int:
    """``prefix``-t<n>.txt for each wrk thread: ``per_thread`` signed notifications a line, none alike."""
    now = datetime.now(UTC).replace(tzinfo=None)
    for tid in range(1, threads + 1):
        lines = (
            notification(f"IUR-X{tag}-t{tid}-{i}", transaction_id(rng), 8_400, now, key) for i in range(per_thread)
        )
        Path(f"{prefix}-t{tid}.txt").write_text("\n".join(lines) + "\n")
    return per_thread * threads


# --- counting SQL --------------------------------------------------------------------------------------


@dataclass
class SqlCount:
    """Statements (by kind and by text), time waiting on PostgreSQL, and wall time, over some units of work."""

    label: str
    unit: str
    units: int = 0
    statements: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_text: Counter[str] = field(default_factory=Counter)
    db_by_text: dict[str, float] = field(default_factory=dict)  # seconds waiting on PostgreSQL, by text
    db_s: float = 0.0
    wall_s: float = 0.0

    def line(self) -> str:
        n = max(self.units, 1)
        kinds = ", ".join(f"{k} {v / n:.1f}" for k, v in self.by_kind.most_common())
        return (
            f"{self.label}: {self.statements / n:.1f} SQL statements {self.unit} ({kinds}); "
            f"{1000 * self.wall_s / n:.2f} ms {self.unit} in-process, of which {1000 * self.db_s / n:.2f} ms "
            f"waiting on PostgreSQL ({100 * self.db_s / max(self.wall_s, 1e-9):.0f}%)"
        )

    def top(self, count: int = 12) -> list[str]:
        n = max(self.units, 1)
        return [
            f"{1000 * v / n:8.1f}  {1000 * 1000 * self.db_by_text.get(text, 0.0) / n:8.1f} ms  {text}"
            for text, v in self.by_text.most_common(count)
        ]


@contextlib.contextmanager
def counting_sql(engine: Any, count: SqlCount) -> Any:
    from sqlalchemy import event

    clock: dict[str, float] = {}

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        clock["start"] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        waited = time.perf_counter() - clock["start"]
        count.db_s += waited
        text = re.sub(r"\s+", " ", statement).strip()
        count.statements += 1
        count.by_kind[text.split(" ", 1)[0].upper()] += 1
        text = re.sub(r"sa_savepoint_\d+", "sa_savepoint_N", text)
        key = re.sub(r"IN \(__\[POSTCOMPILE_[^)]*\]\)", "IN (...)", text)[:160]
        count.by_text[key] += 1
        count.db_by_text[key] = count.db_by_text.get(key, 0.0) + waited

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def cprofile_summary(profiler: cProfile.Profile, top: int = 30) -> tuple[str, list[tuple[str, float]]]:
    """pstats text (cumulative and own time) and own time summed by where the code lives."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    groups: Counter[str] = Counter()
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        groups[_where(filename, function)] += tottime
    total = sum(groups.values()) or 1.0
    return out.getvalue(), [(name, t / total) for name, t in groups.most_common()]


def _where(filename: str, function: str) -> str:
    path = filename.replace("\\", "/")
    if "psycopg" in path:
        return "psycopg (sending SQL, waiting for PostgreSQL, reading rows)"
    if "/sqlalchemy/orm/" in path:
        return "SQLAlchemy ORM (unit of work, identity map, loading objects)"
    if "/sqlalchemy/sql/" in path:
        return "SQLAlchemy Core (building and compiling statements)"
    if "/sqlalchemy/" in path:
        return "SQLAlchemy engine and the rest"
    if path.startswith(str(ROOT)) and "/.venv/" not in path:
        rel = Path(path).relative_to(ROOT).parts
        return f"app code: {rel[0]}/" if rel else "app code"
    if path.startswith("~") and function.startswith("<"):
        return "Python built-ins (" + ("method calls" if "method" in function else "functions") + ")"
    if "/json/" in path:
        return "json"
    return "other Python (stdlib, other packages)"


@dataclass
class Quiet:
    """Waiting for a quiet machine before each measured run (another session's tests, say)."""

    roots: dict[str, int]
    max_wait: float
    waits: list[tuple[str, float, float]] = field(default_factory=list)  # label, seconds waited, others' cores

    def wait(self, label: str) -> None:
        if self.max_wait <= 0:
            return
        others, waited = wait_until_quiet(self.roots, max_wait=self.max_wait)
        self.waits.append((label, waited, others))
        if others >= 0.2:
            print(f"bench: other processes still use {others:.2f} cores after {waited:.0f} s; going on", flush=True)

    def line(self) -> str:
        if not self.waits:
            return "did not wait for a quiet machine (--quiet-wait 0)"
        busy = [w for w in self.waits if w[2] >= 0.2]
        text = (
            f"waited for a quiet machine (others < 0.2 cores over 3 s) before {len(self.waits)} runs, "
            f"{sum(w[1] for w in self.waits):.0f} s in all"
        )
        if busy:
            text += f"; {len(busy)} started busy anyway ({', '.join(f'{w[0]}: {w[2]:.2f}' for w in busy)})"
        return text


# --- part 1: intake -----------------------------------------------------------------------------------


@dataclass
class Measured:
    round: int
    endpoint: str
    run: WrkRun
    warmup: WrkRun | None
    cpu: CpuUse
    bodies: int  # signed bodies the run's files held (webhook runs)

    def cpu_ms_per_request(self, group: str) -> float:
        return 1000 * self.cpu.cores.get(group, 0.0) * self.cpu.seconds / max(self.run.requests, 1)


def intake_load(
    wrk: str, server: Gunicorn, folder: Path, args: argparse.Namespace, meter: CpuMeter, key: str, quiet: Quiet
) -> list[Measured]:
    """Alternate bare and webhook runs (bare first in odd rounds, webhook first in even ones)."""
    rng = random.Random(args.seed)
    tag = secrets.token_hex(3)
    results = []
    for round_ in range(1, args.rounds + 1):
        order = [BARE, WEBHOOK] if round_ % 2 else [WEBHOOK, BARE]
        for endpoint in order:
            mode = "bare" if endpoint == BARE else "webhook"
            path = "/bench/insert" if endpoint == BARE else f"/webhooks/{PROVIDER}"
            common = {"connections": args.connections, "threads": args.threads}
            prefix = folder / f"bodies-{tag}-r{round_}"

            def script_args(stage: str, seconds: int, mode: str = mode, prefix: Path = prefix) -> list[str]:
                """Write the stage's signed bodies (webhook runs); the Lua script's arguments."""
                if mode == "webhook":
                    per_thread = math.ceil(args.max_rate * seconds / args.threads)
                    write_bodies(Path(f"{prefix}{stage}"), f"{prefix.name}{stage}", per_thread, args.threads, key, rng)
                return [mode, f"{prefix}{stage}"]

            warm = None
            quiet.wait(f"round {round_} {endpoint}")
            if args.warmup:
                print(f"bench: round {round_}: {endpoint}: {args.warmup} s warm-up", flush=True)
                warm = run_wrk(
                    wrk,
                    server.base_url + path,
                    LUA,
                    script_args("w", args.warmup),
                    label=f"{endpoint} warm-up",
                    seconds=args.warmup,
                    **common,
                )
            measured_args = script_args("m", args.seconds)
            print(f"bench: round {round_}: {endpoint}: {args.seconds} s measured", flush=True)
            meter.start()
            run = run_wrk(
                wrk, server.base_url + path, LUA, measured_args, label=endpoint, seconds=args.seconds, **common
            )
            cpu = meter.stop()
            print(
                f"bench:   {run.rps:8.1f} req/s  p50 {run.p50_ms:6.1f} ms  p99 {run.p99_ms:6.1f} ms  "
                f"non-2xx {run.non_2xx}  socket errors {sum(run.socket_errors.values())}  "
                f"duplicates {run.counts.get('duplicates', 0)}  other processes {cpu.others:.2f} cores",
                flush=True,
            )
            bodies = math.ceil(args.max_rate * args.seconds / args.threads) * args.threads if mode == "webhook" else 0
            results.append(Measured(round_, endpoint, run, warm, cpu, bodies))
    return results


def intake_checks(
    url: str, redis_url: str, measured: list[Measured], connections: int, profiled: int
) -> tuple[list[str], bool]:
    """Does the database hold what wrk saw stored? How many processing jobs did intake schedule?"""
    import psycopg
    from redis import Redis
    from rq import Queue

    from tests import servers
    from workers.queues import ALL

    def runs(endpoint: str) -> list[WrkRun]:
        return [r for m in measured if m.endpoint == endpoint for r in (m.run, m.warmup) if r is not None]

    def ok(run: WrkRun) -> int:
        return sum(n for status, n in run.statuses.items() if 200 <= status <= 299)

    webhook_2xx = sum(ok(r) for r in runs(WEBHOOK))
    bare_sent = sum(r.counts.get("sent", 0) for r in runs(BARE))
    duplicates = sum(r.counts.get("duplicates", 0) for r in runs(WEBHOOK))
    wrapped = sum(r.counts.get("wrapped", 0) for r in runs(WEBHOOK))
    bare_2xx = sum(ok(r) for r in runs(BARE))
    with psycopg.connect(servers.libpq_conninfo(url)) as conn:
        stored = conn.execute("SELECT count(*) FROM webhook_events WHERE order_id LIKE 'IUR-X%'").fetchone()
        states = conn.execute("SELECT state, count(*) FROM webhook_events GROUP BY state ORDER BY 1").fetchall()
        inserts = conn.execute("SELECT count(*) FROM audit_events WHERE action = 'bench.insert'").fetchone()
        refused = conn.execute("SELECT count(*) FROM audit_events WHERE action = 'webhook.refused'").fetchone()
    assert stored and inserts and refused
    with Redis.from_url(redis_url) as client:
        jobs = {name: Queue(name, connection=client).count for name in ALL}
    sent_new = sum(r.counts.get("sent", 0) - r.counts.get("wrapped", 0) for r in runs(WEBHOOK))
    stored_load = stored[0]
    answered_new = webhook_2xx - duplicates
    share = duplicates / webhook_2xx if webhook_2xx else 0.0
    seconds = sum(r.duration_s for r in runs(WEBHOOK))
    consistent = answered_new <= stored_load <= sent_new
    return [
        f"webhook: wrk saw {webhook_2xx:,} 2xx (warm-ups included), {duplicates:,} of them answered duplicate "
        f"({100 * share:.1f}%; {wrapped:,} requests re-sent a body after a thread's file ran out); the database "
        f"holds {stored_load:,} events from the load: "
        + (
            "exactly the 2xx minus duplicates"
            if stored_load == answered_new
            else f"the 2xx minus duplicates {stored_load - answered_new:+,}, requests that were in flight when a run "
            f"ended (wrk sent {sent_new:,} new bodies, {sent_new - answered_new:,} of them unanswered when it stopped)"
        )
        + ("" if consistent else " — INCONSISTENT: outside [2xx - duplicates, bodies sent]")
        + f"; states {dict(states)}; {refused[0]} refused (bad signature)",
        f"bare insert: wrk saw {bare_2xx:,} 2xx; the database holds {inserts[0] - profiled:,} rows from the load "
        f"(wrk sent {bare_sent:,})",
        f"processing jobs scheduled by intake (one at most every 5 s, no worker running): "
        f"{', '.join(f'{k} {v}' for k, v in jobs.items())} for {stored_load:,} events over {seconds:.0f} s of load",
    ], consistent


def intake_profile(url: str, redis_url: str, key: str, count: int) -> tuple[list[SqlCount], str]:
    """Send webhook and bare-insert requests one at a time through the app in this process, counting SQL."""
    from app import create_app
    from core.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "BENCH_ENDPOINTS": True})
    client = app.test_client()
    rng = random.Random(7)
    tag = secrets.token_hex(3)
    now = datetime.now(UTC).replace(tzinfo=None)
    with app.app_context():
        engine = db.engine
    client.get("/api/v1/rates?on=2026-01-01")  # connects and initialises the dialect before counting
    webhook = SqlCount(f"webhook ({PROVIDER})", "a request")
    bare = SqlCount("bare insert", "a request")
    profiler = cProfile.Profile()
    try:
        for i in range(count):
            body = notification(f"IUR-P{tag}-{i}", transaction_id(rng), 8_400, now, key).encode()
            for counter, path, data in ((webhook, f"/webhooks/{PROVIDER}", body), (bare, "/bench/insert", b"{}")):
                with counting_sql(engine, counter):
                    started = time.perf_counter()
                    response = client.post(path, data=data, headers={"Content-Type": "application/json"})
                    counter.wall_s += time.perf_counter() - started
                if not 200 <= response.status_code <= 299:
                    raise BenchError(f"{path} answered {response.status_code} in-process: {response.get_data(True)}")
                counter.units += 1
        profiler.enable()
        for i in range(count):
            body = notification(f"IUR-Q{tag}-{i}", transaction_id(rng), 8_400, now, key).encode()
            client.post(f"/webhooks/{PROVIDER}", data=body, headers={"Content-Type": "application/json"})
        profiler.disable()
    finally:
        dispose(app)
    text, _groups = cprofile_summary(profiler, 25)
    return [webhook, bare], handler_breakdown(profiler, count) + "\n" + text


HANDLER_PARTS = (  # (file ending, function): the parts of POST /webhooks/<provider>, in the order it runs them
    ("flask/app.py", "full_dispatch_request"),
    ("core/guards.py", "check_request"),
    ("payments/autodebit/webhooks.py", "receive_webhook"),
    ("payments/autodebit/providers.py", "configured_providers"),
    ("payments/autodebit/providers.py", "verify"),
    ("payments/autodebit/providers.py", "parse_midtrans_body"),
    ("payments/autodebit/services.py", "store_webhook_event"),
    ("workers/queues.py", "schedule_webhook_processing"),
    ("flask/json/__init__.py", "jsonify"),
)


def handler_breakdown(profiler: cProfile.Profile, requests: int) -> str:
    """Milliseconds a request (with the profiler's overhead) in each part of the webhook handler."""
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    lines = [f"--- the webhook handler's parts, ms a request under cProfile ({requests} requests) ---"]
    for ending, function in HANDLER_PARTS:
        total = sum(ct for (f, _l, fn), (_cc, _nc, _tt, ct, _c) in raw.items() if fn == function and f.endswith(ending))
        lines.append(f"{1000 * total / max(requests, 1):7.3f}  {ending}:{function}")
    return "\n".join(lines)


# --- part 2: processing ---------------------------------------------------------------------------------


@dataclass
class Backlog:
    size: int
    template: str  # the seeded database's name, copied for each run
    month: str
    amounts: dict[int, int]  # amount in rupiah -> attempts of that amount
    seconds: float
    ledger: int  # past payments on the ledger before the run


def seed_backlog(cluster_url: str, redis_url: str, size: int, seed: int, key: str, ledger: int = 0) -> Backlog:
    """Members, one active mandate, sent debit request, pending attempt and stored settlement callback each."""
    from sqlalchemy import insert, select

    from app import create_app
    from bench import contributions
    from collection.members.models import Member
    from collection.members.rates import ContributionTerms, Package, Payer, Sector, amount_due
    from collection.members.services import load_rate_table
    from core.clock import local_today, utcnow
    from core.extensions import db
    from core.months import Month
    from payments.autodebit.models import DebitAttempt, DebitRequest, Mandate, WebhookEvent
    from tests import servers

    started = time.monotonic()
    name = f"iuran_bench_backlog_{size}"
    url = servers.create_database(cluster_url, name, template=TEMPLATE_DB)
    agents = 8
    options = argparse.Namespace(members=size, agents=agents, history=math.ceil(ledger / agents), seed=seed)
    seeded = contributions.seed(url, redis_url, options)  # members enrolled today, each owing this month
    rng = random.Random(seed + size)
    now = utcnow()
    today = local_today(contributions.TIMEZONE, now)
    month = Month.of(today)
    amounts: Counter[int] = Counter()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    with app.app_context():
        session = db.session
        table = load_rate_table(session)
        members = session.execute(
            select(Member.id, Member.bracket, Member.package, Member.sector)
            .where(Member.id.between(seeded.member_lo, seeded.member_hi))
            .order_by(Member.id)
        ).all()
        chunk = 10_000
        for start in range(0, len(members), chunk):
            part = members[start : start + chunk]
            due = []
            for row in part:
                terms = ContributionTerms(row.bracket, Package(row.package), Sector(row.sector), Payer.SELF)
                due.append(amount_due(table, terms, month).total_idr)
            amounts.update(due)
            mandate_ids = list(
                session.scalars(
                    insert(Mandate).returning(Mandate.id, sort_by_parameter_order=True),
                    [
                        {
                            "member_id": row.id,
                            "provider": PROVIDER,
                            "provider_ref": f"BENCH-M-{row.id}",
                            "account_label": "GoPay 0812****",
                            "months_per_debit": 1,
                            "status": "active",
                        }
                        for row in part
                    ],
                )
            )
            request_ids = list(
                session.scalars(
                    insert(DebitRequest).returning(DebitRequest.id, sort_by_parameter_order=True),
                    [
                        {
                            "mandate_id": mandate_id,
                            "member_id": row.id,
                            "first_month": month,
                            "months": 1,
                            "amount_idr": amount,
                            "due_on": today,
                            "status": "sent",
                            "attempts": 1,
                            "next_attempt_on": None,
                        }
                        for mandate_id, row, amount in zip(mandate_ids, part, due, strict=True)
                    ],
                )
            )
            orders = [
                (f"IUR-{rid}-1", transaction_id(rng), amount) for rid, amount in zip(request_ids, due, strict=True)
            ]
            session.execute(
                insert(DebitAttempt),
                [
                    {
                        "debit_request_id": rid,
                        "order_id": order_id,
                        "attempt_no": 1,
                        "amount_idr": amount,
                        "status": "pending",
                        "provider_transaction_id": trx,
                        "sent_at": now,
                    }
                    for rid, (order_id, trx, amount) in zip(request_ids, orders, strict=True)
                ],
            )
            session.execute(
                insert(WebhookEvent),
                [
                    {
                        "provider": PROVIDER,
                        "event_key": f"{trx}:settlement",
                        "order_id": order_id,
                        "raw_body": notification(order_id, trx, amount, now, key),
                        "received_at": now,
                        "state": "received",
                    }
                    for order_id, trx, amount in orders
                ],
            )
        session.commit()
        dispose(app)
    servers.admin_execute(url, "VACUUM ANALYZE")  # planner statistics as after autovacuum, not an empty table's
    return Backlog(size, name, str(month), dict(amounts), time.monotonic() - started, seeded.counts["history payments"])


class Progress:
    """Samples how many events are no longer "received", every ``every`` seconds, from a separate connection."""

    def __init__(self, url: str, every: float = 2.0) -> None:
        from tests import servers

        self.conninfo = servers.libpq_conninfo(url)
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while not self._stop.is_set():
                row = conn.execute("SELECT count(*) FROM webhook_events WHERE state <> 'received'").fetchone()
                self.samples.append((time.monotonic(), int(row[0]) if row else 0))
                self._stop.wait(self.every)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def rates(self, total: int) -> list[float]:
        """Events/s over each quarter of the backlog (by events done), from the samples."""
        out = []
        for q in range(4):
            lo, hi = total * q / 4, total * (q + 1) / 4
            inside = [(t, n) for t, n in self.samples if lo <= n <= hi]
            if len(inside) >= 2 and inside[-1][1] > inside[0][1]:
                out.append((inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]))
            else:
                out.append(float("nan"))
        return out


@dataclass
class Processed:
    size: int
    mode: str
    events: int  # handled, as the function or the jobs returned
    wall_s: float  # from the call (a) or from starting the workers (b) until done
    span_s: float  # (b): first job started to last job ended, from RQ; (a): the same as wall_s
    cpu: CpuUse
    quarters: list[float]
    checks: list[str]
    valid: bool
    jobs: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.span_s if self.span_s else 0.0

    def cpu_ms_per_event(self, group: str) -> float:
        return 1000 * self.cpu.cores.get(group, 0.0) * self.cpu.seconds / max(self.events, 1)


def _copy(cluster_url: str, backlog: Backlog, suffix: str) -> str:
    from tests import servers

    return servers.create_database(cluster_url, f"{backlog.template}_{suffix}", template=backlog.template)


def process_in_process(cluster_url: str, redis_url: str, backlog: Backlog, batch: int, meter: CpuMeter) -> Processed:
    """(a): ``process_webhook_events`` called once here, on a fresh copy of the backlog."""
    from sqlalchemy import text

    from app import create_app
    from core.clock import utcnow
    from core.extensions import db
    from payments.autodebit.providers import configured_providers
    from payments.autodebit.services import process_webhook_events

    url = _copy(cluster_url, backlog, "a")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    progress = Progress(url)
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # connected before the clock starts
        db.session.rollback()
        progress.start()
        meter.start()
        started = time.monotonic()
        handled = process_webhook_events(
            db.session, configured_providers(app.config), utcnow(), app.config["PUBLIC_BASE_URL"], batch=batch
        )
        wall = time.monotonic() - started
        cpu = meter.stop()
        progress.stop()
        dispose(app)
    scans = table_scans(url, handled)
    valid, checks = settle_checks(url, backlog)
    checks += scans
    quarters = progress.rates(backlog.size)
    return Processed(backlog.size, "in-process, 1 process", handled, wall, wall, cpu, quarters, checks, valid)


def process_rq(
    cluster_url: str, redis_url: str, backlog: Backlog, workers: int, meter: CpuMeter, folder: Path, max_s: float
) -> Processed:
    """(b): ``workers`` real `rq worker --burst` processes, one process_webhook_events job each."""
    from redis import Redis
    from rq import Queue
    from rq.job import Job

    from workers.queues import HIGH

    url = _copy(cluster_url, backlog, "b")
    with Redis.from_url(redis_url) as client:
        client.flushdb()  # jobs intake scheduled against another database must not run here
        target = Queue(HIGH, connection=client)
        # Production enqueues with RQ's default job timeout (180 s); here the job must outlive the backlog.
        jobs = [
            target.enqueue("workers.jobs.process_webhook_events", job_timeout=int(max_s) + 60, result_ttl=24 * 3600)
            for _ in range(workers)
        ]
        job_ids = [job.id for job in jobs]
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(ROOT),
    }
    binary = Path(sys.executable).parent / "rq"
    progress = Progress(url)
    progress.start()
    meter.start()
    started = time.monotonic()
    logs, procs = [], []
    for i in range(workers):
        log = open(folder / f"rq-worker-{backlog.size}-{i}.log", "wb")
        logs.append(log)
        argv = [str(binary), "worker", "--burst", "-u", redis_url, "--name", f"bench-{backlog.size}-{i}", HIGH]
        procs.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        for proc in procs:
            remaining = max(1.0, max_s - (time.monotonic() - started))
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                print(f"bench: rq worker {proc.pid} still running after {max_s:.0f} s: stopping it", flush=True)
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
    wall = time.monotonic() - started
    cpu = meter.stop()
    progress.stop()
    handled, starts, ends, notes = 0, [], [], []
    with Redis.from_url(redis_url) as client:
        for job_id in job_ids:
            job = Job.fetch(job_id, connection=client)
            status = job.get_status()
            value = job.return_value()
            if isinstance(value, int):
                handled += value
            if job.started_at and job.ended_at:
                starts.append(job.started_at)
                ends.append(job.ended_at)
                took = (job.ended_at - job.started_at).total_seconds()
                notes.append(f"job {job_id[:8]}: {status}, handled {value}, ran {took:.1f} s")
            else:
                notes.append(f"job {job_id[:8]}: {status}, handled {value}")
    span = (max(ends) - min(starts)).total_seconds() if starts and ends else wall
    scans = table_scans(url, handled)
    valid, checks = settle_checks(url, backlog)
    checks += scans
    if handled != backlog.size:
        valid = False
    mode = f"{workers} rq workers (--burst)"
    return Processed(backlog.size, mode, handled, wall, span, cpu, progress.rates(backlog.size), checks, valid, notes)


def table_scans(url: str, events: int) -> list[str]:
    """Which tables PostgreSQL read row by row (sequential scans) during the run, per event processed.

    Each run has a database of its own, so its statistics are the run's (plus the checks' own few scans)."""
    import psycopg

    from tests import servers

    time.sleep(1.5)  # backends report their counters within a second of going idle
    with psycopg.connect(servers.libpq_conninfo(url)) as conn:
        rows = conn.execute(
            "SELECT relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0), n_live_tup, n_dead_tup, "
            "autovacuum_count, autoanalyze_count FROM pg_stat_user_tables "
            "WHERE seq_tup_read > 0 ORDER BY seq_tup_read DESC LIMIT 6"
        ).fetchall()
    n = max(events, 1)
    parts = [
        f"{name} {seq / n:.2f} seq scans reading {read / n:,.0f} rows an event ({idx / n:.2f} index scans; "
        f"{live:,} live, {dead:,} dead rows; autovacuum {vac}, autoanalyze {ana})"
        for name, seq, read, idx, live, dead, vac, ana in rows
    ]
    return ["sequential scans: " + ("; ".join(parts) if parts else "none")]


def settle_checks(url: str, backlog: Backlog) -> tuple[bool, list[str]]:
    """Was every attempt settled exactly once, with everything a payment comes with?"""
    import psycopg

    from tests import servers

    size = backlog.size
    with psycopg.connect(servers.libpq_conninfo(url)) as conn:

        def one(sql: str) -> int:
            row = conn.execute(sql).fetchone()  # type: ignore[arg-type]  # our own literal SQL
            return int(row[0]) if row and row[0] is not None else 0

        states: dict[str, int] = dict(
            conn.execute("SELECT state, count(*) FROM webhook_events GROUP BY state").fetchall()
        )
        attempts: dict[str, int] = dict(
            conn.execute("SELECT status, count(*) FROM debit_attempts GROUP BY status").fetchall()
        )
        figures = {
            "payments": one("SELECT count(*) FROM payments WHERE channel = 'auto_debit' AND status = 'settled'"),
            "attempts with exactly one payment": one(
                "SELECT count(*) FROM (SELECT a.id FROM debit_attempts a "
                "JOIN payments p ON p.idempotency_key = 'debit:' || a.order_id GROUP BY a.id HAVING count(*) = 1) t"
            ),
            "members paid twice": one(
                "SELECT count(*) FROM (SELECT member_id FROM payments WHERE channel = 'auto_debit' "
                "GROUP BY member_id HAVING count(*) > 1) t"
            ),
            "requests settled with their payment": one(
                "SELECT count(*) FROM debit_requests r JOIN payments p ON p.id = r.payment_id "
                "WHERE r.status = 'settled' AND p.idempotency_key LIKE 'debit:IUR-' || r.id || '-%'"
            ),
            "allocations": one(
                "SELECT count(*) FROM payment_allocations pa JOIN payments p ON p.id = pa.payment_id "
                "WHERE p.channel = 'auto_debit' AND NOT pa.reversed AND pa.amount_idr = p.amount_idr"
            ),
            "receipts": one(
                "SELECT count(*) FROM receipts r JOIN payments p ON p.id = r.payment_id WHERE p.channel = 'auto_debit'"
            ),
            "receipt texts": one("SELECT count(*) FROM outbox_messages WHERE kind = 'receipt'"),
            "members paid through this month": one(
                "SELECT count(*) FROM members m JOIN mandates md ON md.member_id = m.id "
                f"WHERE m.paid_through = DATE '{backlog.month}-01'"
            ),
            "money booked = money charged": int(
                one("SELECT sum(amount_idr) FROM payments WHERE channel = 'auto_debit'")
                == sum(a * n for a, n in backlog.amounts.items())
            )
            * size,
        }
    expected = {k: (0 if k == "members paid twice" else size) for k in figures}
    wrong = {k: v for k, v in figures.items() if v != expected[k]}
    good = (
        not wrong
        and states.get("processed", 0) == size
        and len(states) == 1
        and attempts.get("settled", 0) == size
        and len(attempts) == 1
    )
    lines = [
        f"events {dict(states)}; attempts {dict(attempts)}",
        ", ".join(f"{k} {v:,}" for k, v in figures.items() if k != "money booked = money charged")
        + f"; money booked {'=' if 'money booked = money charged' not in wrong else '!='} money charged",
        ("every attempt settled exactly once, with its allocation, receipt and text" if good else f"WRONG: {wrong}"),
    ]
    return good, lines


class GcClock:
    """Time spent in Python's cyclic garbage collector, by generation, while installed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections: Counter[int] = Counter()
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start
            self.collections[info["generation"]] += 1

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


@dataclass
class ProcessingProfile:
    gc: GcClock
    counts: SqlCount
    groups: list[tuple[str, float]]
    text: str
    profiled_events: int
    profiled_wall_s: float


def profile_processing(cluster_url: str, redis_url: str, backlog: Backlog, events: int) -> ProcessingProfile:
    """On a copy cut down to ``events`` events: once counting SQL, once (other events) under cProfile."""
    from sqlalchemy import text

    from app import create_app
    from core.clock import utcnow
    from core.extensions import db
    from payments.autodebit.providers import configured_providers
    from payments.autodebit.services import process_webhook_events
    from tests import servers

    events = min(events, backlog.size // 2)
    url = _copy(cluster_url, backlog, "p")
    hold = "UPDATE webhook_events SET state = 'hold' WHERE id > (SELECT min(id) FROM webhook_events) + %d"
    servers.admin_execute(url, hold % (events - 1))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    counts = SqlCount("settlement processing", "an event")
    profiler = cProfile.Profile()
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        providers = configured_providers(app.config)
        with counting_sql(db.engine, counts), GcClock() as gc_clock:
            started = time.perf_counter()
            counts.units = process_webhook_events(db.session, providers, utcnow(), app.config["PUBLIC_BASE_URL"])
            counts.wall_s = time.perf_counter() - started
        servers.admin_execute(
            url,
            "UPDATE webhook_events SET state = 'received' WHERE id IN "
            f"(SELECT id FROM webhook_events WHERE state = 'hold' ORDER BY id LIMIT {events})",
        )
        started = time.perf_counter()
        profiler.enable()
        profiled = process_webhook_events(db.session, providers, utcnow(), app.config["PUBLIC_BASE_URL"])
        profiler.disable()
        profiled_wall = time.perf_counter() - started
        dispose(app)
    text_, groups = cprofile_summary(profiler, 40)
    return ProcessingProfile(gc_clock, counts, groups, text_, profiled, profiled_wall)


# --- the report -------------------------------------------------------------------------------------------


def intake_report(args: argparse.Namespace, measured: list[Measured]) -> tuple[list[str], bool, float]:
    rows = []
    for m in measured:
        run = m.run
        dup = run.counts.get("duplicates", 0)
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
                f"{100 * dup / max(run.requests, 1):.1f}%" if m.endpoint == WEBHOOK else "-",
                f"{m.cpu_ms_per_request('gunicorn'):.2f}",
                f"{m.cpu_ms_per_request('postgres'):.2f}",
                f"{m.cpu_ms_per_request('redis'):.3f}",
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
        "duplicates",
        "app cpu ms/req",
        "pg cpu ms/req",
        "redis cpu ms/req",
        "others cores",
    ]
    lines = [format_table(headers, rows)]
    lines.append(
        "(app/pg/redis cpu ms/req: CPU the gunicorn workers / PostgreSQL / Redis spent per request; others cores: "
        f"CPU that processes this benchmark did not start used meanwhile, of {os.cpu_count()} cores: more than "
        "~0.1 means something else was running and the absolute figures are low; the ratio suffers less)"
    )
    lines.append("")
    comparison = compare_endpoints(measured, WEBHOOK, BARE, args.rounds, "webhook")
    lines += comparison.lines
    ratio = comparison.ratio
    lines.append(
        f"aim (webhook >= {AIM_RATIO} of the bare insert at {args.connections} clients): "
        + ("met" if ratio >= AIM_RATIO else f"NOT met ({ratio:.2f})")
    )
    lines.append(
        "(all-rounds rows: requests/s = all requests / all measured seconds; p50 is the median of the rounds' "
        "p50s; p99 the worst round's p99)"
    )
    errors = [(m, r) for m in measured for r in (m.run, m.warmup) if r is not None and r.errors]
    lines.append("")
    if not errors:
        lines.append("valid: every response in every run (warm-ups included) was 2xx, with no socket errors")
    else:
        lines.append("NOT VALID: some runs had responses that were not 2xx or socket errors:")
        for m, r in errors:
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(r.statuses.items()))
            lines.append(f"  round {m.round} {r.label}: statuses {statuses}; socket errors {r.socket_errors}")
            lines.extend(f"    {sample}" for sample in r.samples)
    return lines, not errors, ratio


def processing_report(processed: list[Processed], backlogs: list[Backlog]) -> list[str]:
    rows = []
    for p in processed:
        quarters = " / ".join("-" if math.isnan(q) else f"{q:.0f}" for q in p.quarters)
        rows.append(
            [
                f"{p.size:,} events: {p.mode}",
                f"{p.events:,}",
                f"{p.span_s:.1f}",
                f"{p.wall_s:.1f}",
                f"{p.rate:.1f}",
                f"{1000 / p.rate:.2f}" if p.rate else "-",
                quarters,
                f"{p.cpu_ms_per_event('wrk and this script'):.2f}",
                f"{p.cpu_ms_per_event('postgres'):.2f}",
                f"{p.cpu.others:.2f}",
                "yes" if p.valid else "NO",
            ]
        )
    headers = [
        "backlog: how",
        "handled",
        "seconds",
        "wall s",
        "events/s",
        "ms/event",
        "events/s by quarter",
        "app cpu ms/ev",
        "pg cpu ms/ev",
        "others cores",
        "settled once",
    ]
    lines = [format_table(headers, rows)]
    lines.append(
        "(seconds: the function's run (a), or the first job's start to the last job's end as RQ recorded them (b), "
        "which events/s divides by; wall s for (b) also counts starting the worker processes; events/s by quarter: "
        "the rate while each quarter of the backlog drained, sampled every 2 s; app cpu: this process (a) or the "
        "rq workers and their work horses (b); others cores: CPU used meanwhile by processes this benchmark did "
        "not start)"
    )
    for backlog in backlogs:
        amounts = ", ".join(f"Rp{a:,} x {n:,}" for a, n in sorted(backlog.amounts.items()))
        lines.append(
            f"backlog of {backlog.size:,}: seeded in {backlog.seconds:.1f} s; members each owing {backlog.month}, "
            f"one settlement callback per attempt ({amounts}); {backlog.ledger:,} past payments on the ledger before"
        )
    for p in processed:
        lines.append(f"{p.size:,} events, {p.mode}:")
        lines.extend(f"  {line}" for line in p.jobs + p.checks)
    return lines


# --- main -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    code_at_start = code_fingerprint()

    def body(cleanup: contextlib.ExitStack, instance: Path) -> int:
        from tests import servers

        wrk = ensure_wrk() if args.intake else ""
        key = server_key()
        cluster = throwaway_postgres(cleanup)
        redis = throwaway_redis(cleanup)
        postmaster = int((Path(cluster.data_dir) / "postmaster.pid").read_text().split()[0])
        template = servers.create_database(cluster.url, TEMPLATE_DB)
        print("bench: migrating", flush=True)
        migrate(template, redis.url)

        header = [
            result_title("provider callbacks, intake and processing", started_at, code_at_start),
            "PostgreSQL (throwaway cluster, unix socket, fsync off); private Redis",
        ]
        sections: list[str] = []
        details: list[str] = []
        valid = True

        if args.intake:
            url = servers.create_database(cluster.url, "iuran_bench_intake", template=TEMPLATE_DB)
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
            meter = CpuMeter({"gunicorn": server.process.pid, "postgres": postmaster, "redis": redis.process.pid})
            quiet = Quiet(dict(meter.roots), args.quiet_wait)
            measured = intake_load(wrk, server, instance, args, meter, key, quiet)
            server.stop()
            checks, consistent = intake_checks(url, redis.url, measured, args.connections, 0)
            print("bench: counting SQL of intake in-process", flush=True)
            counts, intake_cprofile = intake_profile(url, redis.url, key, PROFILED_REQUESTS)
            table, ok, _ratio = intake_report(args, measured)
            valid = valid and ok and consistent
            sections.append(
                "\n".join(
                    [
                        f"== 1. intake: POST /webhooks/{PROVIDER} (signed Midtrans settlement, unique order ids) "
                        "vs POST /bench/insert ==",
                        f"gunicorn -w {args.workers} (sync) on 127.0.0.1; wrk -t{args.threads} -c{args.connections} "
                        f"--latency; {args.rounds} rounds x {args.seconds} s measured per endpoint, each after a "
                        f"{args.warmup} s warm-up; bare and webhook alternate; {args.max_rate} signed bodies a "
                        "second of each run prepared",
                        "",
                        *table,
                        quiet.line(),
                        "",
                        *checks,
                        "",
                        "SQL a request runs (in-process, one request at a time, same database):",
                        *(f"  {c.line()}" for c in counts),
                    ]
                )
            )
            if not ok:
                sections.append("gunicorn's log, last lines:\n" + server.log_tail(60))
            details.append("\n--- the statements of the webhook request (count a request, SQL) ---")
            details.extend(counts[0].top())
            details.append(f"\n--- cProfile of {PROFILED_REQUESTS} webhook requests in-process ---\n{intake_cprofile}")
            details.extend(f"\n--- wrk output, round {m.round} {m.endpoint} ---\n{m.run.raw}" for m in measured)

        if args.processing:
            meter = CpuMeter({"postgres": postmaster, "redis": redis.process.pid})
            quiet = Quiet(dict(meter.roots), args.quiet_wait)
            processed: list[Processed] = []
            backlogs: list[Backlog] = []
            profile: ProcessingProfile | None = None
            for size in args.size_list:
                print(f"bench: seeding a backlog of {size:,} debit attempts with a stored settlement each", flush=True)
                backlog = seed_backlog(cluster.url, redis.url, size, args.seed, key, args.ledger)
                backlogs.append(backlog)
                print(f"bench: seeded in {backlog.seconds:.1f} s", flush=True)
                if args.in_process:
                    quiet.wait(f"{size:,} in-process")
                    print(f"bench: {size:,} events: processing in-process", flush=True)
                    p = process_in_process(cluster.url, redis.url, backlog, args.batch, meter)
                    print(f"bench:   {p.rate:.1f} events/s ({p.span_s:.1f} s); settled once: {p.valid}", flush=True)
                    processed.append(p)
                quiet.wait(f"{size:,} rq workers")
                print(f"bench: {size:,} events: processing with {args.rq_workers} rq workers", flush=True)
                p = process_rq(cluster.url, redis.url, backlog, args.rq_workers, meter, instance, 60 * args.max_minutes)
                print(f"bench:   {p.rate:.1f} events/s ({p.span_s:.1f} s); settled once: {p.valid}", flush=True)
                processed.append(p)
                if profile is None and args.profile_events and size >= 2:
                    print(f"bench: profiling {min(args.profile_events, size // 2)} events twice", flush=True)
                    profile = profile_processing(cluster.url, redis.url, backlog, args.profile_events)
                servers.drop_database(cluster.url, backlog.template)
                for suffix in ("a", "b", "p"):
                    servers.drop_database(cluster.url, f"{backlog.template}_{suffix}")
            valid = valid and all(p.valid for p in processed)
            section = [
                "== 2. processing stored settlement callbacks (payments.autodebit.services.process_webhook_events) ==",
                f"(a) one call in this process, batch {args.batch}; (b) {args.rq_workers} `rq worker --burst` "
                f"processes, one workers.jobs.process_webhook_events job each (batch 500), sharing the backlog "
                "through FOR UPDATE SKIP LOCKED; each on a fresh copy of the same seeded database",
                "",
                *processing_report(processed, backlogs),
                quiet.line(),
            ]
            if profile is not None:
                c = profile.counts
                section += [
                    "",
                    f"what one settlement costs ({c.units} events, in-process, no profiler):",
                    f"  {c.line()}",
                    f"  Python's cyclic garbage collector: {1000 * profile.gc.seconds / max(c.units, 1):.2f} ms an "
                    f"event ({100 * profile.gc.seconds / max(c.wall_s, 1e-9):.0f}% of the time; collections by "
                    f"generation {dict(sorted(profile.gc.collections.items()))})",
                    f"  statements a batch of {BATCH}: {c.statements / max(1, math.ceil(c.units / BATCH)):.1f}",
                    "  most frequent statements (per 1,000 events: how many, ms waiting on PostgreSQL):",
                    *(f"    {line}" for line in c.top(10)),
                    f"under cProfile ({profile.profiled_events} other events, {profile.profiled_wall_s:.1f} s with "
                    "the profiler's overhead), own time by where the code lives:",
                    *(f"  {100 * share:5.1f}%  {name}" for name, share in profile.groups[:10]),
                ]
                details.append("\n--- every statement processing runs, per 1,000 events (count, ms waiting, SQL) ---")
                details.extend(c.top(60))
                details.append(f"\n--- cProfile of processing {profile.profiled_events} events ---\n{profile.text}")
            sections.append("\n".join(section))

        header += code_changed(code_at_start)
        text = "\n".join(header) + "\n\n" + "\n\n".join(sections) + "\n"
        text += "\nvalid\n" if valid else "\nNOT VALID (see above)\n"
        write_result("webhooks", started_at, text, "\n".join(details))
        return 0 if valid else 1

    return run_guarded(
        body, ("DATABASE_URL", "REDIS_URL", "IURAN_BENCH", "MIDTRANS_SERVER_KEY", "MIDTRANS_SERVER_KEY_PREVIOUS")
    )


if __name__ == "__main__":
    sys.exit(main())
