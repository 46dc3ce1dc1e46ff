"""A month of auto-debit against the sandbox provider, over real HTTP both ways.

The app is served on a real socket; the sandbox (payments/autodebit/sandbox.py) takes our mandates and charges on
another, fails some of them, and posts every notification twice, shuffled, to our webhook. Each member
must be paid exactly once, and exactly the members whose debits finally failed must be on the visit list.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update
from werkzeug.serving import make_server

from collection.members.kpj import kpj_for
from collection.members.models import Member, MembershipPeriod, MemberStatusChange, PaymentAllocation
from collection.members.services import load_rate_table
from core.extensions import db
from core.months import Month
from core.outbox import OutboxMessage
from payments.autodebit.mandates import RETRY_AFTER_DAYS
from payments.autodebit.models import DebitRequest, Mandate, MandateStatusChange, WebhookEvent
from payments.autodebit.providers import configured_providers
from payments.autodebit.sandbox import Sandbox, SandboxConfig, create_sandbox
from payments.autodebit.services import process_webhook_events, run_debits
from payments.ledger.models import Payment
from tests.factories import NOW, nik_for
from workers.queues import ALL

SERVER_KEY = "SB-Mid-server-dev-only"  # settings' development key of the "midtrans" provider
NOVEMBER = Month(2026, 11)  # members enrolled on NOW owe from November; its debit is due by NOW
INCOME_IDR = 1_000_000
ROOT = Path(__file__).resolve().parents[3]

# `rq worker --burst`, with core.clock.utcnow pinned first: jobs read the real clock (utcnow), not the app's
# CLOCK, so without this the worker would book payments and schedule retries on today's real date.
PINNED_CLOCK_RQ = """\
import sys
from datetime import datetime

import core.clock

pinned = datetime.fromisoformat(sys.argv.pop(1))
core.clock.utcnow = lambda: pinned
from rq.cli import main

sys.exit(main())
"""


@dataclass(frozen=True)
class Enrolled:
    member_id: int
    phone: str
    mandate_ref: str


@dataclass(frozen=True)
class ProviderSandbox:
    url: str
    state: Sandbox


def serve(wsgi_app: Any) -> tuple[Any, threading.Thread, str]:
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def live_server(pinned_app: Any) -> Iterator[str]:
    """The app served over real HTTP on loopback, in a thread of this test process."""
    server, thread, url = serve(pinned_app)
    yield url
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def sandbox(pinned_app: Any, live_server: str) -> Iterator[ProviderSandbox]:
    """The Midtrans-scheme sandbox on its own socket, on the app's clock, calling back the live app only when
    told to; the app's "midtrans" provider points at it."""
    provider_app = create_sandbox(
        SandboxConfig(
            webhook_url=f"{live_server}/webhooks/midtrans",
            server_key=SERVER_KEY,
            scheme="midtrans",
            duplicates=True,
            reorder=True,
            seed=20261122,
            auto_deliver=False,
        ),
        clock=lambda: pinned_app.config["CLOCK"]().replace(tzinfo=UTC),
    )
    server, thread, url = serve(provider_app)
    providers = dict(pinned_app.config["PAYMENT_PROVIDERS"])
    providers["midtrans"] = dict(providers["midtrans"], base_url=url)
    pinned_app.config["PAYMENT_PROVIDERS"] = providers
    yield ProviderSandbox(url, provider_app.extensions["sandbox"])
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def rq_burst_at(redis_url: str, database_url: str) -> Callable[[datetime], subprocess.CompletedProcess[str]]:
    """Run a real ``rq worker --burst`` process on every queue of this test's Redis and database, its clock
    pinned to the given instant (the conftest ``rq_burst`` runs on the real date)."""
    env = dict(os.environ, REDIS_URL=redis_url, DATABASE_URL=database_url, PYTHONPATH=str(ROOT))

    def run(at: datetime) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-c", PINNED_CLOCK_RQ, at.isoformat(), "worker", "--burst", "-u", redis_url, *ALL]
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
        if done.returncode != 0:
            raise AssertionError(f"rq worker exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    return run


def set_clock(app: Any, at: datetime) -> datetime:
    app.config["CLOCK"] = lambda: at
    return at


def enrol_with_mandates(app: Any, world: dict[str, Any], count: int) -> list[Enrolled]:
    """Enrol ``count`` members on NOW in bulk (as commands/demo.py does), register a mandate for each at the
    sandbox through the provider adapter, and keep those mandates as active."""
    today = NOW.date()  # 09:00 in Pangkalpinang: the same date
    with app.app_context():
        bracket = load_rate_table(db.session).bracket_for_income(INCOME_IDR, NOVEMBER).number
        rows = [
            {
                "nik": nik_for("1971", date(1990, 1, 12), serial=n),
                "name": f"Anggota Autodebet {n}",
                "birth_date": date(1990, 1, 12),
                "sex": "M",
                "phone": f"+62812{n:08d}",
                "occupation": "pedagang pasar",
                "sector": "other",
                "district_code": nik_for("1971", serial=n)[:6],
                "declared_income_idr": INCOME_IDR,
                "bracket": bracket,
                "package": "JKK+JKM",
                "branch_id": world["pkp"],
                "enrolled_by_agent_id": world["agent"].agent_id,
                "agent_id": world["agent"].agent_id,
                "enrolled_on": today,
                "status": "active",
                "first_month": NOVEMBER,
                "paid_through": None,
                "period_started_on": today,
            }
            for n in range(1, count + 1)
        ]
        ids = list(db.session.scalars(insert(Member).returning(Member.id, sort_by_parameter_order=True), rows))
        kpjs = {member_id: kpj_for(member_id) for member_id in ids}
        db.session.execute(update(Member), [{"id": i, "kpj": kpj} for i, kpj in kpjs.items()])
        db.session.execute(
            insert(MembershipPeriod), [{"member_id": i, "started_on": today, "first_month": NOVEMBER} for i in ids]
        )
        db.session.execute(
            insert(MemberStatusChange),
            [
                {"member_id": i, "from_status": None, "to_status": "active", "changed_on": today, "cause": "enrolled"}
                for i in ids
            ],
        )
        db.session.commit()

    provider = configured_providers(app.config)["midtrans"]
    registered = [provider.create_mandate(kpjs[i], f"8800{i:08d}", 1) for i in ids]  # POST /v1/mandates
    assert {status for _, status in registered} == {"active"}
    with app.app_context():
        mandate_ids = list(
            db.session.scalars(
                insert(Mandate).returning(Mandate.id, sort_by_parameter_order=True),
                [
                    {
                        "member_id": i,
                        "provider": "midtrans",
                        "provider_ref": ref,
                        "account_label": f"****{i % 10_000:04d}",
                        "months_per_debit": 1,
                        "status": "active",
                        "created_by_user_id": world["agent"].id,
                    }
                    for i, (ref, _) in zip(ids, registered, strict=True)
                ],
            )
        )
        db.session.execute(
            insert(MandateStatusChange),
            [
                {"mandate_id": m, "from_status": None, "to_status": "active", "cause": "authorised at midtrans"}
                for m in mandate_ids
            ],
        )
        db.session.commit()
    return [Enrolled(i, row["phone"], ref) for i, row, (ref, _) in zip(ids, rows, registered, strict=True)]


def run_debits_at(app: Any, now: datetime) -> Any:
    with app.app_context():
        return run_debits(db.session, configured_providers(app.config), now)


def process_callbacks(app: Any, now: datetime) -> int:
    with app.app_context():
        return process_webhook_events(db.session, configured_providers(app.config), now, app.config["PUBLIC_BASE_URL"])


def debit_day(app: Any, sandbox: ProviderSandbox, now: datetime, charges: int) -> None:
    """Run the debits due on ``now``, expect ``charges`` of them, and have the sandbox call every one back."""
    before = sandbox.state.outbox()["delivered"]
    result = run_debits_at(app, now)
    assert (result.sent, result.refused, result.skipped) == (charges, 0, [])
    outbox = sandbox.state.deliver_all()
    # a pending and a final notification per charge, each sent twice; the webhook answered 2xx to all
    assert outbox == {"pending": 0, "delivered": before + 4 * charges, "failed": 0}


def the_ledger(app: Any) -> dict[str, Any]:
    with app.app_context():
        session = db.session
        return {
            "payments": Counter(
                session.scalars(
                    select(Payment.member_id).where(Payment.channel == "auto_debit", Payment.status == "settled")
                )
            ),
            "all_payments": session.scalar(select(func.count()).select_from(Payment)),
            "november": Counter(
                session.scalars(
                    select(PaymentAllocation.member_id).where(
                        PaymentAllocation.month == NOVEMBER, PaymentAllocation.reversed.is_(False)
                    )
                )
            ),
            "paid_through": dict(session.execute(select(Member.id, Member.paid_through)).all()),
            "events": dict(
                session.execute(select(WebhookEvent.state, func.count()).group_by(WebhookEvent.state)).all()
            ),
            "requests": {
                r.member_id: (r.status, r.attempts, r.next_attempt_on) for r in session.scalars(select(DebitRequest))
            },
        }


def settlement_csv(sandbox: ProviderSandbox) -> str:
    token = base64.b64encode(f"{SERVER_KEY}:".encode()).decode()
    request = urllib.request.Request(
        f"{sandbox.url}/v1/settlements.csv", headers={"Authorization": f"Basic {token}"}, method="GET"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def test_a_month_of_1000_mandates_pays_each_member_once_despite_failures_duplicates_and_reordering(
    pinned_app, client, world, sandbox, rq_burst_at
):
    count = 1000
    enrolled = enrol_with_mandates(pinned_app, world, count)
    short_of_money = {e.member_id for e in enrolled[::10]}  # 10%: insufficient funds on the first try
    sandbox.state.configure(fail_mandates=frozenset(e.mandate_ref for e in enrolled if e.member_id in short_of_money))

    # The debit day: every mandate charged once; callbacks processed by a real worker from the queue the
    # webhook filled.
    debit_day(pinned_app, sandbox, set_clock(pinned_app, NOW), charges=count)
    worker = rq_burst_at(NOW)
    assert "workers.jobs.process_webhook_events" in worker.stdout + worker.stderr

    delivered = sandbox.state.delivered()
    assert set(Counter((d["order_id"], d["transaction_status"]) for d in delivered).values()) == {2}
    first_seen: dict[str, str] = {}
    for d in delivered:
        first_seen.setdefault(d["order_id"], d["transaction_status"])
    assert "settlement" in first_seen.values() and "deny" in first_seen.values()  # a final before its pending
    after_first_day = the_ledger(pinned_app)
    retry_on = NOW.date() + timedelta(days=RETRY_AFTER_DAYS[0])
    assert {m for m, (status, *_) in after_first_day["requests"].items() if status == "retry"} == short_of_money
    assert {r for m, r in after_first_day["requests"].items() if m in short_of_money} == {("retry", 1, retry_on)}
    assert set(after_first_day["payments"]) == {e.member_id for e in enrolled} - short_of_money
    assert client.get("/api/v1/visits", headers=world["supervisor"].headers).get_json() == []

    # Two days later: the retries, processed here on the app's clock.
    retry_day = set_clock(pinned_app, NOW + timedelta(days=RETRY_AFTER_DAYS[0]))
    debit_day(pinned_app, sandbox, retry_day, charges=len(short_of_money))
    assert process_callbacks(pinned_app, retry_day) == 2 * len(short_of_money)  # pending + settlement each
    assert run_debits_at(pinned_app, retry_day).sent == 0  # nothing left to send, nothing sent twice

    ledger = the_ledger(pinned_app)
    members = {e.member_id for e in enrolled}
    assert ledger["payments"] == Counter(members)  # exactly one settled auto-debit each
    assert ledger["all_payments"] == count
    assert ledger["november"] == Counter(members)
    assert ledger["paid_through"] == dict.fromkeys(members, NOVEMBER)
    assert set(ledger["events"]) <= {"processed", "ignored"} and sum(ledger["events"].values()) == 2 * (
        count + len(short_of_money)
    )
    assert {m: (s, a) for m, (s, a, _) in ledger["requests"].items()} == {
        m: ("settled", 2 if m in short_of_money else 1) for m in members
    }
    assert client.get("/api/v1/visits", headers=world["supervisor"].headers).get_json() == []
    assert client.get("/api/v1/webhook-events/review", headers=world["finance"].headers).get_json() == []

    # The provider's settlement report matches our ledger both ways ...
    report = settlement_csv(sandbox)
    imported = client.post(
        "/api/v1/settlements/midtrans", data=report, content_type="text/csv", headers=world["finance"].headers
    )
    assert imported.status_code == 200, imported.get_json()
    assert imported.get_json() == {
        "lines": count,
        "new_lines": count,
        "matched": count,
        "not_this_branch": 0,
        "unknown_order": 0,
        "missing_in_report": [],
        "missing_in_ours": [],
        "amount_mismatch": [],
    }
    # ... and a settled debit the report leaves out is named.
    lines = report.splitlines(keepends=True)
    dropped = next(line for line in lines[1:] if line.split(",")[0].endswith("-2"))  # a retry that settled
    order_id, _, amount, settled_at = dropped.strip().split(",")
    trimmed = client.post(
        "/api/v1/settlements/midtrans",
        data="".join(line for line in lines if line != dropped),
        content_type="text/csv",
        headers=world["finance"].headers,
    ).get_json()
    assert (trimmed["lines"], trimmed["new_lines"], trimmed["matched"]) == (count - 1, 0, count - 1)
    assert trimmed["missing_in_report"] == [
        {"order_id": order_id, "amount_idr": int(amount), "paid_on": settled_at[:10]}
    ]
    assert trimmed["missing_in_ours"] == [] and trimmed["amount_mismatch"] == []


def test_members_whose_debits_fail_through_every_retry_land_on_the_visit_list_and_get_a_text(
    pinned_app, client, world, sandbox
):

    enrolled = enrol_with_mandates(pinned_app, world, 50)
    broke = {e.member_id: e for e in enrolled[::10]}  # 5 members whose every charge is denied
    sandbox.state.configure(always_fail_mandates=frozenset(e.mandate_ref for e in broke.values()))

    day = set_clock(pinned_app, NOW)
    debit_day(pinned_app, sandbox, day, charges=50)
    process_callbacks(pinned_app, day)
    for tries, wait in enumerate(RETRY_AFTER_DAYS, start=1):
        requests = the_ledger(pinned_app)["requests"]
        retry_on = day.date() + timedelta(days=wait)
        assert {m: r for m, r in requests.items() if m in broke} == dict.fromkeys(broke, ("retry", tries, retry_on))
        assert client.get("/api/v1/visits", headers=world["supervisor"].headers).get_json() == []
        assert run_debits_at(pinned_app, set_clock(pinned_app, day + timedelta(days=wait - 1))).sent == 0
        day = set_clock(pinned_app, day + timedelta(days=wait))
        debit_day(pinned_app, sandbox, day, charges=len(broke))
        process_callbacks(pinned_app, day)

    ledger = the_ledger(pinned_app)
    assert {m: r for m, r in ledger["requests"].items() if m in broke} == dict.fromkeys(
        broke, ("failed", 1 + len(RETRY_AFTER_DAYS), None)
    )
    assert set(ledger["payments"]) == {e.member_id for e in enrolled} - set(broke)
    assert set(ledger["events"]) <= {"processed", "ignored"}
    for who in ("supervisor", "agent"):
        visits = client.get("/api/v1/visits", headers=world[who].headers).get_json()
        assert sorted((v["member_id"], v["reason"]) for v in visits) == [(m, "debit_failed") for m in sorted(broke)]
    assert client.get("/api/v1/visits", headers=world["ptk_agent"].headers).get_json() == []
    with pinned_app.app_context():
        texts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "debit_failed")).all()
        assert sorted(t.recipient for t in texts) == sorted(e.phone for e in broke.values())
    assert run_debits_at(pinned_app, day + timedelta(days=1)).sent == 0  # a failed debit is not tried again
