"""The drill's data, seeded once per database into a template every scenario copies.

bench/contributions.py's bulk seeding gives one branch, agents with API tokens and members who each owe this
month; on top: a finance user with a token, and for the auto-debit members an active Midtrans mandate, a debit
request for this month and a pending attempt (as bench/webhooks.py's backlog, without the stored callbacks:
the drill sends those over HTTP), and, for the approval race, a past deposit large enough that the raced day
has nothing pending.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from bench import contributions
from bench.harness import dispose, migrate
from bench.webhooks import transaction_id

CASH_MEMBERS = 300  # members the agents pay cash for
DEBIT_MEMBERS = 300  # members with a pending auto-debit whose callbacks the drill sends
AGENTS = 4
APPROVAL_DAY_BACK = 5  # the raced day: this many days before today (cash may be dated up to 30 days back)
SEED = 20261201


@dataclass
class Seeded:
    """What the scenarios need to know about the template's data."""

    agent_tokens: list[str]
    agent_ids: list[int]
    finance_token: str
    branch_id: int
    cash_members: list[int]
    debit_orders: list[tuple[str, str, int, int]]  # order_id, transaction id, amount, member id
    approval_day: str
    month: str

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> Seeded:
        data = json.loads(path.read_text())
        data["debit_orders"] = [tuple(o) for o in data["debit_orders"]]
        return cls(**data)


def seed(url: str, redis_url: str) -> Seeded:
    """Migrate and seed the database at ``url``."""
    from sqlalchemy import insert, select

    from app import create_app
    from collection.members.models import Member
    from collection.members.rates import ContributionTerms, Package, Payer, Sector, amount_due
    from collection.members.services import load_rate_table
    from core.clock import local_today, utcnow
    from core.extensions import db
    from core.months import Month
    from organisation.models import Agent, ApiToken, Role, StaffUser
    from organisation.services import hash_password, sha256_hex
    from payments.autodebit.models import DebitAttempt, DebitRequest, Mandate
    from payments.ledger.models import Deposit

    migrate(url, redis_url)
    options = argparse.Namespace(members=CASH_MEMBERS + DEBIT_MEMBERS, agents=AGENTS, history=0, seed=SEED)
    seeded = contributions.seed(url, redis_url, options)
    rng = random.Random(SEED)
    now = utcnow()
    today = local_today(contributions.TIMEZONE, now)
    month = Month.of(today)
    approval_day = today - timedelta(days=APPROVAL_DAY_BACK)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url})
    with app.app_context():
        session = db.session
        table = load_rate_table(session)
        agents = list(session.execute(select(Agent.id, Agent.user_id, Agent.branch_id).order_by(Agent.id)))
        branch_id = agents[0].branch_id
        finance_id = session.scalar(
            insert(StaffUser)
            .values(
                username="drill.finance",
                password_hash=hash_password(secrets.token_urlsafe(16)),
                full_name="Keuangan Drill",
                role=Role.BRANCH_FINANCE.value,
                branch_id=branch_id,
            )
            .returning(StaffUser.id)
        )
        finance_token = secrets.token_urlsafe(24)
        session.execute(
            insert(ApiToken).values(
                user_id=finance_id,
                token_sha256=sha256_hex(finance_token),
                created_at=now,
                expires_at=now + timedelta(days=2),
            )
        )
        # The first agent deposited more than he will ever collect, the day before the raced day: that day's
        # cash is covered at once, so its batch has nothing pending and finance can approve it mid-load.
        session.execute(
            insert(Deposit).values(
                agent_id=agents[0].id,
                branch_id=branch_id,
                amount_idr=1_000_000_000,
                deposited_on=approval_day - timedelta(days=1),
                bank_reference="DRILL-FLOAT",
                recorded_by_user_id=agents[0].user_id,
                recorded_at=now,
            )
        )
        ids = list(range(seeded.member_lo, seeded.member_hi + 1))
        cash_members, debit_members = ids[:CASH_MEMBERS], ids[CASH_MEMBERS:]
        rows = session.execute(
            select(Member.id, Member.bracket, Member.package, Member.sector)
            .where(Member.id.in_(debit_members))
            .order_by(Member.id)
        ).all()
        orders: list[tuple[str, str, int, int]] = []
        for row in rows:
            terms = ContributionTerms(row.bracket, Package(row.package), Sector(row.sector), Payer.SELF)
            amount = amount_due(table, terms, month).total_idr
            mandate_id = session.scalar(
                insert(Mandate)
                .values(
                    member_id=row.id,
                    provider="midtrans",
                    provider_ref=f"DRILL-M-{row.id}",
                    account_label="GoPay 0812****",
                    months_per_debit=1,
                    status="active",
                )
                .returning(Mandate.id)
            )
            request_id = session.scalar(
                insert(DebitRequest)
                .values(
                    mandate_id=mandate_id,
                    member_id=row.id,
                    first_month=month,
                    months=1,
                    amount_idr=amount,
                    due_on=today,
                    status="sent",
                    attempts=1,
                )
                .returning(DebitRequest.id)
            )
            order_id, trx = f"IUR-{request_id}-1", transaction_id(rng)
            session.execute(
                insert(DebitAttempt).values(
                    debit_request_id=request_id,
                    order_id=order_id,
                    attempt_no=1,
                    amount_idr=amount,
                    status="pending",
                    provider_transaction_id=trx,
                    sent_at=now,
                )
            )
            orders.append((order_id, trx, amount, row.id))
        session.commit()
        dispose(app)
    assert branch_id is not None
    return Seeded(
        agent_tokens=seeded.tokens,
        agent_ids=[a.id for a in agents],
        finance_token=finance_token,
        branch_id=branch_id,
        cash_members=cash_members,
        debit_orders=orders,
        approval_day=approval_day.isoformat(),
        month=str(month),
    )


def approval_day(seeded: Seeded) -> date:
    return date.fromisoformat(seeded.approval_day)
