"""The demo's sponsor programme: Pemkab Bangka Selatan paid six months for vulnerable workers from its APBD
(domain.md §6), then stopped; some of its members kept paying on their own, the others fell into arrears.

The programme, its list of workers, the Pemkab's two bulk payments and the end of the programme go through the
sponsor services (collection/sponsors), each on the day it happened, as branch staff and the daily job would
have recorded them: with their rules, receipts and audit. The members' own payments after the end are simulated
with the same pure rules as the rest of the demo (commands/demo_ledger.py) and written in bulk.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from collection.members.arrears import MonthDue, standing_on
from collection.members.due_dates import due_date, is_working_day
from collection.members.models import Member, MembershipPeriod, MemberStatusChange, PaymentAllocation
from collection.members.nik import Sex, fake_nik
from collection.members.rates import ContributionTerms, Package, Payer, Sector, amount_due
from collection.members.services import load_rate_table
from collection.sponsors.imports import import_file
from collection.sponsors.models import ProgrammeMember
from collection.sponsors.payments import pay_programme
from collection.sponsors.programmes import create_programme, create_sponsor, end_programme
from commands.demo_ledger import HABIT_DAYS, LAPSE_CAUSE, Ledger, standing_changes, working_pay_day, write_payments
from core.extensions import DbSession
from core.months import Month
from organisation.models import Agent, Branch, Role, StaffUser
from payments.ledger.allocation import Due, allocate
from payments.ledger.models import Channel

SPONSOR_BRANCH = "BSL"
SPONSOR_REGENCY = "1903"  # Kab. Bangka Selatan: the Pemkab pays only for workers whose NIK was issued there
PROGRAMME_MONTHS = 6
MIN_MEMBERS = 12
ENDED_MONTHS_AGO = 7  # its last month: long enough ago that retention is measured 1, 3 and 6 months after
# What became of the members once the Pemkab stopped paying, as shares of them (the rest never paid again).
AFTERWARDS = {"cash": 0.40, "transfer": 0.10, "stopped": 0.20}
NAMES = {
    Sex.MALE: ["Sahrul", "Jumadi", "Kamaruddin", "Sapri", "Rusdi", "Amran", "Junaidi", "Bujang"],
    Sex.FEMALE: ["Marlina", "Rosmiati", "Nurjanah", "Hamidah", "Yanti", "Masitah", "Rohani", "Asnah"],
}
FAMILIES = ["", "", "Saputra", "Hidayat", "Effendi", "Rahman", "Syahputra"]
WORK = ["nelayan", "petani lada", "penambang timah", "buruh harian", "pekebun karet", "pedagang keliling"]
VILLAGES = ["Toboali", "Rias", "Serdang", "Payung", "Nyelanding", "Air Gegas", "Tanjung Labu", "Pongok"]


def sponsor_programme(
    session: DbSession,
    rng: random.Random,
    branch: Branch,
    agents: list[Agent],
    count: int,
    holidays: set[date],
    today: date,
) -> list[dict[str, Any]]:
    """Run the Pemkab's programme from its list to its end, then the members' own payments up to ``today``;
    returns those payments (the agents' cash among them goes into their deposits)."""
    supervisor, finance = (
        session.scalars(
            select(StaffUser).where(StaffUser.branch_id == branch.id, StaffUser.role == role).order_by(StaffUser.id)
        ).one()
        for role in (Role.SUPERVISOR, Role.BRANCH_FINANCE)
    )
    last = Month.of(today) - ENDED_MONTHS_AGO
    first = last - (PROGRAMME_MONTHS - 1)
    workers = max(MIN_MEMBERS, count)
    rate = amount_due(
        load_rate_table(session), ContributionTerms(1, Package.JKK_JKM, Sector.OTHER, Payer.BUDGET), first
    ).total_idr
    sponsor = create_sponsor(session, supervisor, "regency", "Pemerintah Kabupaten Bangka Selatan", SPONSOR_REGENCY)
    programme = create_programme(
        session,
        supervisor,
        {
            "code": f"BASEL-APBD-{first.year}",
            "name": f"Perlindungan pekerja rentan APBD Bangka Selatan {first.year}",
            "sponsor_id": sponsor.id,
            "branch_id": branch.id,
            "package": Package.JKK_JKM.value,
            "first_month": first,
            "months": PROGRAMME_MONTHS,
            "budget_idr": -(-workers * PROGRAMME_MONTHS * rate * 11 // 10 // 1_000_000) * 1_000_000,
        },
    )
    listed_on = _working_day_before(first.first_day() - timedelta(days=10), holidays)
    record, _ = import_file(
        session,
        supervisor,
        programme,
        "pekerja-rentan-basel.csv",
        _worker_list(session, rng, workers, listed_on),
        _at(listed_on),
    )
    assert record.rejected == 0, record.report  # the demo's list is clean
    for number, (since, until) in enumerate(((first, first + 2), (first + 3, last)), start=1):
        paid_on = _working_day_before(since.first_day() + timedelta(days=7), holidays)
        pay_programme(
            session,
            finance,
            programme.id,
            first=since,
            last=until,
            paid_on=paid_on,
            bank_reference=f"SP2D-{first.year}-{rng.randrange(1000, 9999)}",
            branch_arrangement=False,
            idempotency_key=f"demo-{programme.code}-{number}",
            now=_at(paid_on),
            randbelow=rng.randrange,
        )
    ended_on = (last + 1).first_day() + timedelta(days=1)
    end_programme(session, programme.id, _at(ended_on))  # as the daily job does once the last month has passed
    return _afterwards(session, rng, branch, agents, programme.id, last, ended_on, holidays, today)


def _afterwards(
    session: DbSession,
    rng: random.Random,
    branch: Branch,
    agents: list[Agent],
    programme_id: int,
    last: Month,
    ended_on: date,
    holidays: set[date],
    today: date,
) -> list[dict[str, Any]]:
    """The members' own payments after the programme, and their standing today."""
    members = list(
        session.scalars(
            select(Member)
            .join(ProgrammeMember, ProgrammeMember.member_id == Member.id)
            .where(ProgrammeMember.programme_id == programme_id)
            .order_by(Member.id)
        )
    )
    fates = [fate for fate, share in AFTERWARDS.items() for _ in range(round(share * len(members)))]
    fates += ["never"] * (len(members) - len(fates))
    rng.shuffle(fates)
    table = load_rate_table(session)
    periods = dict(
        session.execute(
            select(MembershipPeriod.member_id, MembershipPeriod.id).where(
                MembershipPeriod.member_id.in_([m.id for m in members])
            )
        ).all()
    )
    sponsored: dict[int, set[Month]] = {m.id: set() for m in members}
    for member_id, month in session.execute(
        select(PaymentAllocation.member_id, PaymentAllocation.month).where(
            PaymentAllocation.member_id.in_(list(sponsored)), ~PaymentAllocation.reversed
        )
    ):
        sponsored[member_id].add(month)
    payments: list[dict[str, Any]] = []
    allocations: list[list[tuple[Month, int]]] = []
    updates, ended, changes = [], [], []
    for member, fate in zip(members, fates, strict=True):
        terms = ContributionTerms(member.bracket, Package(member.package), Sector(member.sector), Payer.SELF)
        dues = [
            MonthDue(m, amount_due(table, terms, m).total_idr, due_date(m, holidays))
            for m in member.first_month.until(Month.of(today) + 1)
        ]
        own = [d for d in dues if d.month > last]
        stop = {"cash": len(own), "transfer": len(own), "stopped": rng.randint(1, 3)}.get(fate, 0)
        ledger = _own_payments(rng, own[:stop], fate == "cash", agents, ended_on, holidays, today)
        for payment in ledger.payments:
            payment["member_id"] = member.id
        payments += ledger.payments
        allocations += ledger.allocations
        settled = sponsored[member.id] | ledger.settled
        standing = standing_on(dues, settled, today, member.period_started_on)
        updates.append({"id": member.id, "status": standing.status.value, "paid_through": standing.paid_through})
        if standing.lapsed_on is not None:
            ended.append({"id": periods[member.id], "ended_on": standing.lapsed_on, "end_cause": LAPSE_CAUSE})
        changes += standing_changes(member.id, dues, standing, member.period_started_on)
    write_payments(session, branch, payments, allocations, rng.randrange)
    session.execute(update(Member), updates)  # ORM bulk UPDATE by primary key
    if ended:
        session.execute(update(MembershipPeriod), ended)
    if changes:
        session.execute(insert(MemberStatusChange), changes)
    session.flush()
    return payments


def _own_payments(
    rng: random.Random,
    dues: list[MonthDue],
    cash: bool,
    agents: list[Agent],
    since: date,
    holidays: set[date],
    today: date,
) -> Ledger:
    """A member paying his own months one by one, on his habit's day before each due date, from ``since``."""
    habit = rng.randrange(HABIT_DAYS)
    ledger = Ledger()
    pay_day = since
    credit = 0
    for index, due in enumerate(dues):
        pay_day = working_pay_day(due.due_on - timedelta(days=habit), pay_day, holidays)
        if pay_day > today:
            break
        result = allocate(due.amount_idr, [Due(d.month, d.amount_idr) for d in dues[index:]], credit)
        credit = result.credit_idr
        ledger.payments.append(
            {
                "channel": (Channel.CASH if cash else Channel.BANK_TRANSFER).value,
                "amount_idr": due.amount_idr,
                "credit_idr": credit,
                "paid_on": pay_day,
                "agent_id": rng.choice(agents).id if cash else None,
                "recorded_at": datetime.combine(pay_day, time(rng.randint(2, 9))),
            }
        )
        ledger.allocations.append([(a.month, a.amount_idr) for a in result.allocations])
        ledger.settled.update(result.months)
    return ledger


def _worker_list(session: DbSession, rng: random.Random, workers: int, listed_on: date) -> bytes:
    """The Pemkab's list of workers, as its CSV would come: NIK, name, birth date, phone, work, village."""
    taken = set(session.scalars(select(Member.nik).where(Member.nik.startswith(SPONSOR_REGENCY))))
    lines = ["nik,nama,tanggal_lahir,telepon,pekerjaan,desa"]
    while len(lines) <= workers:
        sex = rng.choice([Sex.MALE, Sex.FEMALE])
        born = listed_on - timedelta(days=rng.randint(18 * 365, 60 * 365))
        nik = fake_nik(rng, SPONSOR_REGENCY, born, sex)
        name = f"{rng.choice(NAMES[sex])} {rng.choice(FAMILIES)}".strip()
        phone = f"08{rng.randint(11, 59)}{rng.randint(10_000_000, 99_999_999)}"
        if nik not in taken:
            taken.add(nik)
            lines.append(f"{nik},{name},{born:%d-%m-%Y},{phone},{rng.choice(WORK)},{rng.choice(VILLAGES)}")
    return ("\n".join(lines) + "\n").encode()


def _working_day_before(day: date, holidays: set[date]) -> date:
    while not is_working_day(day, holidays):
        day -= timedelta(days=1)
    return day


def _at(day: date) -> datetime:
    """10:00 WIB on ``day``, as the naive UTC the services take for now."""
    return datetime.combine(day, time(3, 0))
