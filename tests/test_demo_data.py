"""The demo data shows what the pages are for: an ended sponsor programme with members who kept paying and members
who stopped, collections on every working day, and money that reconciles; on both databases."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from collection.members.due_dates import is_working_day
from collection.members.models import Member
from collection.members.reconciliation import reconcile_branch
from collection.members.services import holidays_for
from collection.sponsors.models import ProgrammeMember, SponsorPayment, SponsorProgramme
from collection.sponsors.programmes import retention
from commands.demo import load_demo_data
from core.clock import local_today
from core.extensions import db
from core.months import Month
from organisation.models import Agent, Branch, Role, StaffUser
from payments.finance.batches import branch_day
from payments.ledger.models import Channel, DailyBatch, Deposit, Payment
from tests.factories import NOW

PASSWORD = "iuran-demo"


def _login(client: Any, username: str) -> None:
    page = client.get("/keuangan/masuk")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)
    assert token, page.data[:300]
    reply = client.post(
        "/keuangan/masuk", data={"csrf_token": token.group(1).decode(), "username": username, "password": PASSWORD}
    )
    assert reply.status_code in (302, 303), reply.data[:300]


def _finance(code: str) -> StaffUser:
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == f"finance.{code}"))
    assert user is not None and user.role == Role.BRANCH_FINANCE
    return user


def test_the_demo_has_an_ended_sponsor_programme_whose_members_partly_kept_paying(app):
    app.config["CLOCK"] = lambda: NOW
    with app.app_context():
        counts = load_demo_data(db.session, NOW, members_per_branch=60)
        programme = db.session.scalar(select(SponsorProgramme))
        assert programme is not None and programme.status == "ended" and programme.ended_on is not None
        branch = db.session.get(Branch, programme.branch_id)
        assert branch is not None and branch.code == "BSL"
        today = local_today(branch.timezone, NOW)
        assert programme.last_month < Month.of(today) - 6  # ended long enough ago to measure 6 months after
        # The Pemkab's bulk payments cover every member's six months, each with its breakdown.
        members = db.session.scalar(select(func.count()).where(ProgrammeMember.programme_id == programme.id))
        assert members is not None and members >= 12 and counts["sponsored members"] == members
        paid = db.session.scalars(select(SponsorPayment).where(SponsorPayment.programme_id == programme.id)).all()
        assert len(paid) == 2 and sum(p.member_months for p in paid) == members * programme.months
        breakdown = db.session.scalar(
            select(func.coalesce(func.sum(Payment.amount_idr), 0)).where(Payment.channel == Channel.SPONSOR)
        )
        assert breakdown == sum(p.amount_idr for p in paid) <= programme.budget_idr

        report = retention(db.session, _finance("bsl"), programme.id, None, NOW)
        measured = [p for p in report.points if p.measured]
        assert [p.months_after for p in measured] == [1, 3, 6]
        for point in measured:  # some kept paying, some stopped: neither none nor all
            assert point.paying is not None and 0 < point.paying < members, point
        assert measured[0].paying >= measured[-1].paying  # type: ignore[operator]
        statuses = set(
            db.session.scalars(
                select(Member.status)
                .join(ProgrammeMember, ProgrammeMember.member_id == Member.id)
                .where(ProgrammeMember.programme_id == programme.id)
            )
        )
        assert "active" in statuses and statuses & {"in_arrears", "lapsed"}
        # What the demo wrote is what the nightly reconciliation would derive: no member's standing changes.
        for branch_id in db.session.scalars(select(Branch.id).order_by(Branch.id)).all():
            assert reconcile_branch(db.session, branch_id, NOW).changed == 0
        code, paying = programme.code, measured[0].paying

    client = app.test_client()
    _login(client, "finance.bsl")
    page = client.get("/keuangan/retensi")
    assert page.status_code == 200
    html = page.data.decode()
    assert f'data-programme="{code}"' in html and f"{paying}/{members}" in html
    report_csv = client.get("/keuangan/retensi?format=csv")
    assert report_csv.status_code == 200 and code in report_csv.data.decode()


def test_the_demo_collects_on_every_working_day_and_its_money_reconciles(app):
    app.config["CLOCK"] = lambda: NOW
    with app.app_context():
        load_demo_data(db.session, NOW, members_per_branch=60)
        for branch in db.session.scalars(select(Branch).order_by(Branch.id)).all():
            today = local_today(branch.timezone, NOW)
            first = Month.of(today) - 1
            holidays = holidays_for(db.session, branch, first.first_day(), today)
            cash = db.session.execute(
                select(Payment.paid_on, Payment.agent_id, func.sum(Payment.amount_idr))
                .join(Agent, Agent.id == Payment.agent_id)
                .where(Agent.branch_id == branch.id, Payment.channel == Channel.CASH)
                .group_by(Payment.paid_on, Payment.agent_id)
            ).all()
            days = {day for day, _, _ in cash}
            working = [
                first.first_day() + timedelta(days=n)
                for n in range((today - first.first_day()).days)
                if is_working_day(first.first_day() + timedelta(days=n), holidays)
            ]
            assert [d for d in working if d not in days] == [], branch.code  # every working day, last month on
            assert not [d for d in days if d >= first.first_day() and not is_working_day(d, holidays)]
            recent = {agent for day, agent, _ in cash if day >= first.first_day()}
            assert len(recent) == 3, branch.code  # spread across the branch's agents

            # Every agent's day of cash is a batch whose collected cash is that day's payments, and deposited.
            by_day: dict[date, int] = defaultdict(int)
            for day, _, amount in cash:
                by_day[day] += amount
            batches = set(
                db.session.execute(
                    select(DailyBatch.agent_id, DailyBatch.business_date).where(DailyBatch.branch_id == branch.id)
                ).all()
            )
            assert {(agent, day) for day, agent, _ in cash if day < today} <= batches
            deposited = db.session.scalar(
                select(func.coalesce(func.sum(Deposit.amount_idr), 0)).where(Deposit.branch_id == branch.id)
            )
            assert deposited == sum(amount for day, amount in by_day.items() if day < today)
            finance = _finance(branch.code.lower())
            for day in (first.first_day() + timedelta(days=n) for n in range(16, 30)):
                if day in days:
                    views = branch_day(db.session, finance, branch.id, day, NOW)
                    assert sum(v.figures.collected_idr for v in views) == by_day[day], (branch.code, day)
        day = next(d for d in sorted(days) if d.day >= 17 and Month.of(d) == first)

    client = app.test_client()
    _login(client, "finance.ptk")
    page = client.get(f"/keuangan/batch?date={day.isoformat()}")
    assert page.status_code == 200
    html = page.data.decode()
    assert all(f"PTK-P0{n}" in html for n in (1, 2, 3)), html[:2000]
