"""Two branches with real objects of every kind, for the access matrix and the schemathesis run.

Branch A (Pangkalpinang) has members, a cash payment and its receipt, a deposit, a closed day's batch, an imported
statement with unmatched credits and open proposals, a mandate with a settled debit and a callback in finance's
review queue, a sponsor programme with imported members and a sponsor payment, and the remittance file of
all that money. Branch B (Pontianak) has its own
staff. Every path id the tests use points at one of branch A's objects; ``secrets`` are strings only someone who
can see branch A's data could write in an answer (NIKs, KPJs, receipt numbers, order ids, bank references).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agents.roster.models import DeactivationProposal
from app import create_app
from core.clock import utcnow
from core.extensions import db
from core.months import Month
from organisation.models import Agent, Branch, Wadah
from payments.autodebit.models import DebitAttempt, SettlementImport
from payments.autodebit.providers import configured_providers
from payments.autodebit.sandbox import SandboxConfig, create_sandbox
from payments.autodebit.services import process_webhook_events
from payments.autodebit.signatures import midtrans_signature
from payments.remittance.services import make_file
from payments.selfpay.models import SelfCharge
from tests.factories import NOW, Staff, create_staff, nik_for, sent_debit

DAY = date(2026, 11, 19)  # a Thursday before the pinned now (Sunday 22 November 2026)
MONTH = "2026-10"  # a month that has ended: its incentives can be approved
MIDTRANS_KEY = "SB-Mid-server-dev-only"  # settings' development default
ROLES = ("agent", "supervisor", "finance")


@dataclass
class TwoBranches:
    """Ids of branch A's objects, the staff of both branches and an admin, and branch A's secrets."""

    a: int
    b: int
    staff: dict[str, Staff]  # agent_a, supervisor_a, finance_a, agent_b, supervisor_b, finance_b, admin, ...
    ids: dict[str, Any] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)


def make_staff(app: Any, role: str, branch_id: int | None, username: str) -> Staff:
    """A staff account with a live API token (tests/factories.py), outside any fixture."""
    return create_staff(app, role, branch_id, username)


def _ok(response: Any, *codes: int) -> dict[str, Any]:
    assert response.status_code in (codes or (200, 201)), (response.status_code, response.get_data(as_text=True))
    return response.get_json()  # type: ignore[no-any-return]


def _keyed(staff: Staff) -> dict[str, str]:
    return staff.headers | {"Idempotency-Key": str(uuid.uuid4())}


def midtrans_callback(order_id: str, amount: int, transaction_id: str) -> bytes:
    """A settlement callback signed with the development server key."""
    gross = f"{amount}.00"
    return json.dumps(
        {
            "order_id": order_id,
            "transaction_status": "settlement",
            "status_code": "200",
            "gross_amount": gross,
            "transaction_id": transaction_id,
            "status_message": "ok",
            "payment_type": "auto_debit",
            "signature_key": midtrans_signature(order_id, "200", gross, MIDTRANS_KEY),
        }
    ).encode()


def build(app: Any) -> TwoBranches:
    """Make both branches and branch A's objects through the API where it can, directly where it cannot."""
    client = app.test_client()
    with app.app_context():
        branches = [
            Branch(
                code="PKP", name="Kantor Cabang PKP", province_code="19", regency_code="1971", timezone="Asia/Jakarta"
            ),
            Branch(
                code="PTK", name="Kantor Cabang PTK", province_code="61", regency_code="6171", timezone="Asia/Pontianak"
            ),
        ]
        db.session.add_all(branches)
        db.session.commit()
        a, b = branches[0].id, branches[1].id
    staff = {"admin": make_staff(app, "admin", None, "admin")}
    for suffix, branch_id in (("a", a), ("b", b)):
        staff[f"agent_{suffix}"] = make_staff(app, "agent", branch_id, f"agent.{suffix}")
        staff[f"supervisor_{suffix}"] = make_staff(app, "supervisor", branch_id, f"supervisor.{suffix}")
        staff[f"finance_{suffix}"] = make_staff(app, "branch_finance", branch_id, f"finance.{suffix}")
    staff["maker_a"] = make_staff(app, "branch_finance", a, "maker.a")  # proposes, so the callers can decide
    clerk = make_staff(app, "branch_finance", a, "clerk.a")  # edited, reset, disabled and enabled by the callers
    world = TwoBranches(a, b, staff)
    world.ids["clerk"] = clerk.id
    with app.app_context():
        world.ids["wadah"] = db.session.scalar(select(Wadah.id).where(Wadah.branch_id == a).order_by(Wadah.id))
    agent, finance = staff["agent_a"], staff["finance_a"]

    # Members, a cash payment with its receipt, and a deposit of that cash.
    members = {}
    for serial, (name, key) in enumerate((("matrixa tunai", "member"), ("matrixa debit", "debit_member")), start=1):
        body = {
            "nik": nik_for(serial=serial),
            "name": name,
            "phone": f"0812-3456-78{serial:02d}",
            "occupation": "ojek online",
            "sector": "transport",
            "declared_income_idr": 1_000_000,
            "package": "JKK+JKM",
        }
        members[key] = _ok(client.post("/api/v1/members", json=body, headers=agent.headers), 201)
        world.ids[key] = members[key]["id"]
        world.secrets |= {members[key]["nik"], members[key]["kpj"]}
    world.ids["member_name"] = "matrixa tunai"
    paid = {"member_id": world.ids["member"], "months": 3, "paid_on": DAY.isoformat()}
    receipt = _ok(client.post("/api/v1/contributions", json=paid, headers=_keyed(agent)), 201)
    world.ids |= {
        "payment": receipt["payment_id"],
        "receipt_number": receipt["number"],
        "receipt_code": receipt["verification_code"],
    }
    world.secrets |= {receipt["number"], receipt["verification_code"]}
    body = {"amount_idr": receipt["amount_idr"], "bank_reference": "SETORMATRIXA1", "deposited_on": DAY.isoformat()}
    world.ids["deposit"] = _ok(client.post("/api/v1/deposits", json=body, headers=_keyed(agent)), 201)["id"]
    world.secrets.add("SETORMATRIXA1")

    # A statement: the deposit's credit (matched) and three credits nobody declared (the unmatched queue).
    statement = "\n".join(
        [
            "date,description,reference,amount",
            f"2026-11-19,SETORAN TUNAI SETORMATRIXA1,,{receipt['amount_idr']}",
            "2026-11-20,TRF MATRIXA SATU,,1000001",
            "2026-11-20,TRF MATRIXA DUA,,1000002",
            "2026-11-20,TRF MATRIXA TIGA,,1000003",
        ]
    )
    data = {"bank": "generic", "file": (io.BytesIO(statement.encode()), "mutasi-a.csv")}
    url = f"/api/v1/branches/{a}/statements"
    imported = _ok(client.post(url, data=data, headers=finance.headers, content_type="multipart/form-data"), 201)
    world.ids["statement_import"] = imported["import_id"]
    world.secrets |= {"TRF MATRIXA SATU", "TRF MATRIXA DUA", "TRF MATRIXA TIGA"}
    lines = _ok(client.get(f"/api/v1/branches/{a}/statement-lines", headers=finance.headers), 200)
    by_text = {line["description"]: line["id"] for line in lines}
    world.ids["line"] = by_text["TRF MATRIXA SATU"]
    for text, key in (("TRF MATRIXA DUA", "proposal"), ("TRF MATRIXA TIGA", "proposal_2")):
        body = {"action": "ignore", "reason": "bunga bank, bukan setoran"}
        url = f"/api/v1/statement-lines/{by_text[text]}/proposals"
        world.ids[key] = _ok(client.post(url, json=body, headers=staff["maker_a"].headers), 201)["id"]

    # The day closed into batches: the agent's batch.
    close = client.post(f"/api/v1/branches/{a}/batches/close", json={"date": DAY.isoformat()}, headers=finance.headers)
    _ok(close, 200)
    batches = _ok(client.get(f"/api/v1/branches/{a}/batches?date={DAY}", headers=finance.headers), 200)
    world.ids["batch"] = batches[0]["id"]

    # A mandate with a settled debit (a payment) and a callback whose amount differs (finance's review queue).
    _debits(app, client, world)

    # A sponsor programme with members imported from CSV and the sponsor's payment.
    sponsor = {"kind": "donor", "name": "Yayasan Matrixa", "region_code": None}
    world.ids["sponsor"] = _ok(client.post("/api/v1/sponsors", json=sponsor, headers=finance.headers), 201)["id"]
    programme = {
        "code": "MATRIXA-2026",
        "name": "Programme Matrixa",
        "sponsor_id": world.ids["sponsor"],
        "package": "JKK+JKM",
        "first_month": "2026-11",
        "months": 3,
        "budget_idr": 50_000_000,
    }
    world.ids["programme"] = _ok(client.post("/api/v1/sponsor-programmes", json=programme, headers=finance.headers))[
        "id"
    ]
    world.secrets.add("MATRIXA-2026")
    rows = ["nik,name,birth_date,phone,occupation,village"]
    for serial in (11, 12):
        nik = nik_for(born=date(1985, 3, 4), serial=serial)
        rows.append(f"{nik},matrixa sponsored {serial},04-03-1985,0813000000{serial},nelayan,Gerunggang")
        world.secrets.add(nik)
    data = {"file": (io.BytesIO(("\n".join(rows) + "\n").encode()), "peserta-a.csv")}
    url = f"/api/v1/sponsor-programmes/{world.ids['programme']}/imports"
    imported = _ok(client.post(url, data=data, headers=finance.headers, content_type="multipart/form-data"), 201)
    world.ids["import"] = imported["id"]
    url = f"/api/v1/sponsor-programmes/{world.ids['programme']}/payments"
    sponsor_payment = _ok(client.post(url, json={}, headers=_keyed(finance)), 201)
    world.ids["sponsor_payment"] = sponsor_payment["id"]
    world.secrets.add(sponsor_payment["receipt_number"])
    world.ids["new_nik"] = nik_for(born=date(1986, 5, 6), serial=21)  # for adding one person to the programme

    # The day's remittance file for the national system: the cash, the settled debit and the sponsor's payment.
    with app.app_context():
        remittance = make_file(db.session, a, NOW)
        assert remittance is not None
        world.ids["remittance_file"] = remittance.id
    _roster(app, client, world)
    _national(client, world)
    with app.app_context():  # a charge branch A's member opened himself at /peserta (payments/selfpay)
        charge = SelfCharge(
            member_id=world.ids["member"],
            order_id="SP-MATRIX-1",
            provider="midtrans",
            method="virtual_account",
            first_month=Month(2027, 1),
            months=1,
            amount_idr=16_800,
            status="pending",
            va_bank="bni",
            va_number="8000000000000001",
            expires_at=NOW,
        )
        db.session.add(charge)
        db.session.commit()
        world.ids["self_charge"] = charge.id
    return world


def _roster(app: Any, client: Any, world: TwoBranches) -> None:
    """Three agents enrolled through the roster API: one to edit, deactivate, terminate and hand over, two proposed
    for deactivation (one to accept, one to dismiss)."""
    supervisor = world.staff["supervisor_a"]
    with app.app_context():
        agent_a = world.staff["agent_a"].agent_id
        world.ids["wadah"] = db.session.scalar(select(Agent.wadah_id).where(Agent.id == agent_a))
    enrolled = []
    for serial in (41, 42, 43):
        body = {
            "nik": nik_for(born=date(1988, 7, 9), serial=serial),
            "name": f"perisai matrixa {serial}",
            "phone": f"0813-4100-00{serial}",
            "wadah_id": world.ids["wadah"],
            "areas": ["Gerunggang"],
        }
        agent = _ok(client.post(f"/api/v1/branches/{world.a}/agents", json=body, headers=_keyed(supervisor)), 201)
        enrolled.append(agent["id"])
        world.secrets.add(agent["nik"])
    world.ids["roster_agent"] = enrolled[0]
    with app.app_context():
        since = utcnow()  # after their creation (the real clock's), so that accepting one deactivates him
        proposals = [
            DeactivationProposal(agent_id=agent_id, branch_id=world.a, idle_since=since, proposed_at=NOW)
            for agent_id in enrolled[1:]
        ]
        db.session.add_all(proposals)
        db.session.commit()
        world.ids["agent_proposal"], world.ids["agent_proposal_2"] = (p.id for p in proposals)


def _debits(app: Any, client: Any, world: TwoBranches) -> None:
    member_id = world.ids["debit_member"]
    mandate_id, _, settled = sent_debit(app, member_id, "SBX-MATRIXA", order_id="MATRIXA-1-1")
    _, _, differs = sent_debit(app, member_id, "SBX-MATRIXA", (2026, 12), mandate_id, order_id="MATRIXA-2-1")
    world.ids["mandate"] = mandate_id
    for body in (
        midtrans_callback(settled, 8_400, "trx-matrixa-1"),
        midtrans_callback(differs, 16_800, "trx-matrixa-2"),
    ):
        response = client.post("/webhooks/midtrans", data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        process_webhook_events(
            db.session, configured_providers(app.config), app.config["CLOCK"](), app.config["PUBLIC_BASE_URL"]
        )
        states = dict(db.session.execute(select(DebitAttempt.order_id, DebitAttempt.status)).all())
    assert states[settled] == "settled", states
    world.ids |= {"settled_order": settled, "review_order": differs}
    world.secrets |= {settled, differs, "trx-matrixa-1", "trx-matrixa-2", "SBX-MATRIXA"}
    with app.app_context():  # a large settlement report of branch A's, as a worker left it
        record = SettlementImport(
            provider="midtrans",
            branch_id=world.a,
            scope=f"branch:{world.a}",
            file_sha256="a" * 64,
            size_bytes=2_000_000,
            status="done",
            report=json.dumps({"order_ids": ["SETTLEMATRIXA"]}),
            uploaded_by_user_id=world.staff["finance_a"].id,
        )
        db.session.add(record)
        db.session.commit()
        world.ids["settlement_import"] = record.id
    world.secrets.add("SETTLEMATRIXA")


@contextmanager
def app_with_two_branches(request: Any, backend: str, tmp: Path) -> Iterator[tuple[Any, TwoBranches]]:
    """A pinned app on a fresh database of ``backend`` (from the session's migrated template), the session's Redis
    emptied, the Midtrans sandbox served on loopback, and :func:`build`'s two branches in it."""
    import threading

    from redis import Redis
    from werkzeug.serving import make_server

    from tests import servers

    redis_url: str = request.getfixturevalue("redis_server")
    with Redis.from_url(redis_url) as connection:
        connection.flushdb()
    drop = None
    if backend == "sqlite":
        copy = tmp / "iuran.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), copy)
        url = f"sqlite:///{copy}"
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"iuran_matrix_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        url = servers.create_database(server, name, template=request.getfixturevalue("postgresql_template"))
        drop = (server, name)
    sandbox = create_sandbox(
        SandboxConfig(webhook_url="http://127.0.0.1:9/unused", server_key=MIDTRANS_KEY, auto_deliver=False)
    )
    provider = make_server("127.0.0.1", 0, sandbox, threaded=True)
    thread = threading.Thread(target=provider.serve_forever, daemon=True)
    thread.start()
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "SECRET_KEY": "test"})
    app.config["CLOCK"] = lambda: NOW
    app.config.update(READY_REQUIRES_WORKER=False, READY_REQUIRES_CRON=False)  # no worker or cron beside this world
    app.config["PAYMENT_PROVIDERS"]["midtrans"]["base_url"] = f"http://127.0.0.1:{provider.server_port}"
    try:
        yield app, build(app)
    finally:
        provider.shutdown()
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        client = app.extensions.pop("iuran_redis", None)
        if client is not None:
            client.close()
        if drop is not None:
            servers.drop_database(*drop)


def _national(client: Any, world: TwoBranches) -> None:
    """A member of branch A loaded from the national system's export, with his months paid as imported history."""
    nik = nik_for(born=date(1984, 2, 3), serial=31)
    kpj = "23190000031"
    text = (
        "kpj,nik,name,birth_date,phone,occupation,package,declared_income,period_started_on,paid_through\n"
        f"{kpj},{nik},matrixa nasional,03-02-1984,081300000031,petani,JKK+JKM,1000000,01-01-2025,2026-10\n"
    )
    supervisor = world.staff["supervisor_a"]
    data = {"file": (io.BytesIO(text.encode()), "nasional-a.csv")}
    url = f"/api/v1/branches/{world.a}/national-imports"
    headers = _keyed(supervisor)
    imported = _ok(client.post(url, data=data, headers=headers, content_type="multipart/form-data"), 201)
    world.ids["national_import"] = imported["id"]
    world.ids["national_kpj"] = kpj
    world.secrets |= {nik, kpj}
