"""The scenarios: each sends bounded load at its own stack and injects one fault while the load runs.

A scenario returns every logical request's :class:`~drill.client.Outcome`; the runner then lets the system
recover (drains the queues as the minute's cron sweep would), and checks the ledger (drill/invariants.py).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drill import client
from drill.client import Http, Outcome
from drill.seed import Seeded
from drill.stack import Stack, children_of


@dataclass
class Size:
    """How much load: the short form (CI) sends less and hangs Redis for less."""

    load_s: float  # how long the paced load lasts
    rate: float  # logical requests a second (cash and callbacks together)
    faults: int  # kills per scenario that kills
    outage_s: float  # Redis or PostgreSQL down for this long
    hang_s: float  # Redis SIGSTOPped for this long
    twins_rounds: int  # rounds of 20 concurrent twins
    pairs: int  # members paid by two agents at once

    @classmethod
    def of(cls, short: bool) -> Size:
        if short:
            return cls(load_s=5, rate=16, faults=2, outage_s=2, hang_s=6, twins_rounds=2, pairs=6)
        return cls(load_s=14, rate=20, faults=3, outage_s=4, hang_s=20, twins_rounds=5, pairs=20)


@dataclass
class Context:
    stack: Stack
    seeded: Seeded
    size: Size
    server_key: str
    events: list[str] = field(default_factory=list)  # what the fault did, when

    @property
    def http(self) -> Http:
        return Http(self.stack.base_url)

    def note(self, text: str) -> None:
        self.events.append(text)


# --- load ---------------------------------------------------------------------------------------------------


def _cash_job(ctx: Context, i: int, paid_on: str | None = None, agent: int | None = None) -> Callable[[], Outcome]:
    member = ctx.seeded.cash_members[i % len(ctx.seeded.cash_members)]
    token = ctx.seeded.agent_tokens[i % len(ctx.seeded.agent_tokens) if agent is None else agent]
    key = client.new_key("cash", os.getpid(), i, paid_on)
    return lambda: client.contribution(ctx.http, token, key, member, 1, paid_on)


def _callback_job(ctx: Context, i: int, status: str = "settlement") -> Callable[[], Outcome]:
    order_id, trx, amount, _member = ctx.seeded.debit_orders[i % len(ctx.seeded.debit_orders)]
    raw = client.midtrans_body(order_id, trx, amount, status, ctx.server_key)
    return lambda: client.callback(ctx.http, raw)


def paced(jobs: list[Callable[[], Outcome]], rate: float, threads: int = 8) -> list[Outcome]:
    """Job i starts no earlier than i / rate seconds from now, on ``threads`` threads: a steady, bounded load."""
    started = time.monotonic()

    def timed(i: int, job: Callable[[], Outcome]) -> Callable[[], Outcome]:
        def run() -> Outcome:
            wait = started + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            return job()

        return run

    return client.run_all([timed(i, job) for i, job in enumerate(jobs)], threads, stop_after_s=len(jobs) / rate + 60)


def mixed_load(ctx: Context, fault: Callable[[], None], fault_after_s: float) -> list[Outcome]:
    """Cash for distinct members and settlement callbacks for distinct orders, interleaved and paced over
    ``load_s``; ``fault`` runs in this thread ``fault_after_s`` into the load while the rest keeps going."""
    total = int(ctx.size.load_s * ctx.size.rate)
    jobs = [_cash_job(ctx, i // 2) if i % 2 == 0 else _callback_job(ctx, i // 2) for i in range(total)]
    results: list[Outcome] = []
    load = threading.Thread(target=lambda: results.extend(paced(jobs, ctx.size.rate)), daemon=True)
    load.start()
    time.sleep(fault_after_s)
    fault()
    while load.is_alive():
        ctx.stack.supervise()
        load.join(timeout=0.5)
    ctx.stack.supervise()
    return results


# --- the faults ---------------------------------------------------------------------------------------------


def rq_worker_kill(ctx: Context) -> list[Outcome]:
    """kill -9 an rq worker and its work horse while it runs a job (a batch of callbacks, or texts)."""

    def fault() -> None:
        for _ in range(ctx.size.faults):
            deadline = time.monotonic() + max(3.0, ctx.size.load_s / (ctx.size.faults + 1))  # wait for a job
            victim = None
            while time.monotonic() < deadline and victim is None:
                for proc in ctx.stack.workers:
                    horses = children_of(proc.pid)
                    if horses:
                        victim = (proc, horses)
                        break
                time.sleep(0.005)
            if victim is None:
                proc = ctx.stack.workers[0]
                victim = (proc, [])
            proc, horses = victim
            for pid in [*horses, proc.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            ctx.note(f"kill -9 rq worker {proc.pid}" + (f" mid-job (horse {horses})" if horses else " (idle)"))
            proc.wait()
            ctx.stack.supervise()


    return mixed_load(ctx, fault, 1.0)


def redis_stop(ctx: Context) -> list[Outcome]:
    """Redis killed (SIGKILL) mid-load and started again on its socket and append-only file."""

    def fault() -> None:
        ctx.stack.redis.kill()
        ctx.note(f"redis killed; down {ctx.size.outage_s:.0f} s")
        time.sleep(ctx.size.outage_s)
        ctx.stack.redis.start()
        ctx.note("redis started again")

    return mixed_load(ctx, fault, ctx.size.load_s / 3)


def redis_hang(ctx: Context) -> list[Outcome]:
    """Redis stopped with SIGSTOP (alive, silent: connections hang) and resumed with SIGCONT."""

    def fault() -> None:
        ctx.stack.redis.signal(signal.SIGSTOP)
        ctx.note(f"redis SIGSTOP for {ctx.size.hang_s:.0f} s")
        time.sleep(ctx.size.hang_s)
        ctx.stack.redis.signal(signal.SIGCONT)
        ctx.note("redis SIGCONT")

    return mixed_load(ctx, fault, min(2.0, ctx.size.load_s / 3))


def pg_restart(ctx: Context) -> list[Outcome]:
    """PostgreSQL stopped with `pg_ctl stop -m immediate` (a crash: no checkpoint) and started again."""
    postgres = ctx.stack.postgres
    assert postgres is not None

    def fault() -> None:
        postgres.stop("immediate")
        ctx.note(f"pg_ctl stop -m immediate; down {ctx.size.outage_s:.0f} s")
        time.sleep(ctx.size.outage_s)
        postgres.start()
        ctx.note("pg_ctl start (crash recovery)")

    return mixed_load(ctx, fault, ctx.size.load_s / 3)


def gunicorn_kill(ctx: Context) -> list[Outcome]:
    """Both gunicorn workers SIGKILLed mid-request; the arbiter forks new ones."""
    assert ctx.stack.gunicorn is not None
    web = ctx.stack.gunicorn

    def fault() -> None:
        for n in range(ctx.size.faults):
            pids = web.worker_pids()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            ctx.note(f"kill -9 gunicorn workers {pids}")
            if n + 1 < ctx.size.faults:
                time.sleep(ctx.size.load_s / (ctx.size.faults + 1))

    return mixed_load(ctx, fault, ctx.size.load_s / (ctx.size.faults + 2))


def same_key(ctx: Context) -> list[Outcome]:
    """One payment sent 20 times at once with one Idempotency-Key (a phone's retries racing each other)."""
    results: list[Outcome] = []
    for r in range(ctx.size.twins_rounds):
        member = ctx.seeded.cash_members[r]
        token = ctx.seeded.agent_tokens[r % len(ctx.seeded.agent_tokens)]
        key = client.new_key("twin", os.getpid(), r)
        twin = functools.partial(client.contribution, ctx.http, token, key, member, 1)
        results += client.all_at_once([twin] * 20)
    ctx.note(f"{ctx.size.twins_rounds} rounds of 20 concurrent twins")
    return results


def same_callback(ctx: Context) -> list[Outcome]:
    """One settlement callback delivered 20 times at once, with late `pending` callbacks of the same order
    mixed in (a provider's retries, reordered)."""
    results: list[Outcome] = []
    for r in range(ctx.size.twins_rounds):
        settle, pending = _callback_job(ctx, r, "settlement"), _callback_job(ctx, r, "pending")
        results += client.all_at_once([settle] * 14 + [pending] * 6)
    # Reordered on purpose: a settlement, then its pending arriving late, one after the other.
    for r in range(ctx.size.twins_rounds, 2 * ctx.size.twins_rounds):
        results.append(_callback_job(ctx, r, "settlement")())
        time.sleep(0.2)
        results.append(_callback_job(ctx, r, "pending")())
    ctx.note(f"{ctx.size.twins_rounds} orders x 20 concurrent callbacks; {ctx.size.twins_rounds} reordered pairs")
    return results


def two_agents(ctx: Context) -> list[Outcome]:
    """Two agents record a month for the same member at the same moment (each with his own key)."""
    results: list[Outcome] = []
    for p in range(ctx.size.pairs):
        member = ctx.seeded.cash_members[p]
        jobs: list[Callable[[], Outcome]] = [
            functools.partial(
                client.contribution,
                ctx.http,
                ctx.seeded.agent_tokens[a],
                client.new_key("pair", os.getpid(), p, a),
                member,
            )
            for a in (1, 2)
        ]
        results += client.all_at_once(jobs)
    ctx.note(f"{ctx.size.pairs} members paid by two agents at once")
    return results


def cash_vs_approval(ctx: Context) -> list[Outcome]:
    """Cash dated on a past day recorded while finance closes and approves that day's batch: each payment is in
    the approved figures or refused (409, the day is locked), never slipped in after the approval read."""
    day = ctx.seeded.approval_day
    http = ctx.http
    finance = {"Authorization": f"Bearer {ctx.seeded.finance_token}"}
    results = [_cash_job(ctx, 0, paid_on=day, agent=0)()]  # the day needs a batch: the agent was active
    branch = ctx.seeded.branch_id
    results.append(
        client.send(
            http,
            Outcome("close", f"close:{day}", {"date": day}),
            f"/api/v1/branches/{branch}/batches/close",
            json.dumps({"date": day}).encode(),
            finance,
        )
    )
    batch_id = _batch_of(http, branch, day, ctx.seeded.agent_ids[0], finance)
    count = int(ctx.size.load_s * ctx.size.rate / 2)
    jobs = [_cash_job(ctx, i, paid_on=day, agent=0) for i in range(1, count + 1)]
    load: list[Outcome] = []
    thread = threading.Thread(target=lambda: load.extend(paced(jobs, ctx.size.rate)), daemon=True)
    thread.start()
    time.sleep(ctx.size.load_s / 4)
    approval = client.send(
        http,
        Outcome("approval", f"approve:{batch_id}", {}),
        f"/api/v1/batches/{batch_id}/approve",
        json.dumps({"note": "drill"}).encode(),
        finance,
    )
    ctx.note(f"batch {batch_id} of {day} approved: {approval.status}")
    thread.join()
    refused = sum(1 for o in load if o.status == 409)
    ctx.note(f"{refused} of {len(load)} raced payments refused as locked")
    return [*results, approval, *load]


def _batch_of(http: Http, branch: int, day: str, agent_id: int, headers: dict[str, str]) -> int:
    import http.client as hc

    conn = hc.HTTPConnection(http.host, http.port, timeout=10)
    try:
        conn.request("GET", f"/api/v1/branches/{branch}/batches?date={day}", headers=headers)
        response = conn.getresponse()
        batches: list[dict[str, Any]] = json.loads(response.read())
    finally:
        conn.close()
    for batch in batches:
        if batch["figures"]["agent_id"] == agent_id and batch["id"]:
            return int(batch["id"])
    raise RuntimeError(f"no closed batch of agent {agent_id} on {day}: {batches}")


SCENARIOS: dict[str, Callable[[Context], list[Outcome]]] = {
    "rq_worker_kill": rq_worker_kill,
    "redis_stop": redis_stop,
    "redis_hang": redis_hang,
    "pg_restart": pg_restart,
    "gunicorn_kill": gunicorn_kill,
    "same_key": same_key,
    "same_callback": same_callback,
    "two_agents": two_agents,
    "cash_vs_approval": cash_vs_approval,
}
POSTGRESQL_ONLY = {"pg_restart"}  # SQLite is a file in the app's own process: there is no server to stop
