"""Demo data: four branches in Bangka Belitung and Kalimantan Barat, their agents, members and a year of payments.

Deterministic (a fixed seed), bulk-inserted, and built with the same pure rules as the service
(rates, due dates, allocation, standing), so the demo ledger is one the rules would have produced.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from collection.members.arrears import MemberStatus, MonthDue, standing_on
from collection.members.due_dates import due_date, next_working_day
from collection.members.kpj import kpj_for
from collection.members.models import Member, MemberNameKey, MembershipPeriod, MemberStatusChange
from collection.members.names import name_keys
from collection.members.nik import Sex, fake_nik
from collection.members.rates import ContributionTerms, Package, Payer, RateTable, Sector, amount_due
from collection.members.services import holidays_for, load_rate_table
from collection.sponsors.models import ProgrammeMember
from commands.demo_ledger import (
    HABIT_DAYS,
    LAPSE_CAUSE,
    Ledger,
    standing_changes,
    working_pay_day,
    write_deposits,
    write_payments,
)
from commands.demo_sponsor import SPONSOR_BRANCH, sponsor_programme
from core.clock import local_today
from core.errors import DomainError
from core.extensions import DbSession
from core.months import Month
from organisation.models import Agent, Branch, Role, StaffUser, Wadah
from organisation.services import hash_password
from payments.finance.bank import import_statement
from payments.finance.batches import approve_batch, close_day
from payments.finance.reports import set_targets
from payments.ledger.allocation import Due, allocate
from payments.ledger.models import Channel, DailyBatch, Deposit, Payment

DEMO_PASSWORD = "iuran-demo"  # every demo login; printed by `make run`, never for production

BRANCHES = [
    # code, name, province, regency, time zone, regencies its members come from
    ("PKP", "Kantor Cabang Pangkalpinang", "19", "1971", "Asia/Jakarta", ["1971", "1901", "1904"]),
    ("BBR", "Kantor Cabang Bangka Barat", "19", "1905", "Asia/Jakarta", ["1905"]),
    ("BSL", "Kantor Cabang Bangka Selatan", "19", "1903", "Asia/Jakarta", ["1903"]),
    ("PTK", "Kantor Cabang Pontianak", "61", "6171", "Asia/Pontianak", ["6171", "6112", "6102"]),
]

FIRST_NAMES_M = [
    "Ahmad",
    "Budi",
    "Rudi",
    "Agus",
    "Joko",
    "Hendra",
    "Yusuf",
    "Rizki",
    "Dedi",
    "Andi",
    "Syaiful",
    "Hasan",
    "Bambang",
    "Suharyo",
    "Imam",
    "Wahyu",
    "Fajar",
    "Hadi",
    "Rahmat",
    "Eko",
    "Arif",
    "Taufik",
    "Irwan",
    "Acong",
    "Ahok",
    "Yohanes",
    "Antonius",
    "Dayat",
    "Usman",
    "Zulkifli",
]
FIRST_NAMES_F = [
    "Siti",
    "Sri",
    "Dewi",
    "Nurhaliza",
    "Fitri",
    "Rina",
    "Yuliana",
    "Wati",
    "Aminah",
    "Kartini",
    "Lestari",
    "Maria",
    "Susanti",
    "Ratna",
    "Indah",
    "Mawar",
    "Aisyah",
    "Nur",
    "Lina",
    "Mei Ling",
    "Herlina",
    "Rosita",
]
FAMILY_NAMES = [
    "Santoso",
    "Hartono",
    "Saputra",
    "Wijaya",
    "Hidayat",
    "Pratama",
    "Siregar",
    "Kurniawan",
    "Setiawan",
    "Susanto",
    "Rahman",
    "Lim",
    "Tan",
    "Halim",
    "Gunawan",
    "Nasution",
    "Effendi",
    "Suryadi",
    "Ramadhan",
    "Purnomo",
    "",
    "",
    "",
]
OCCUPATIONS = [
    ("petani lada", Sector.OTHER),
    ("nelayan", Sector.OTHER),
    ("penambang timah", Sector.OTHER),
    ("pedagang pasar", Sector.OTHER),
    ("pekebun sawit", Sector.OTHER),
    ("buruh harian", Sector.OTHER),
    ("tukang parkir", Sector.OTHER),
    ("ketua RT", Sector.OTHER),
    ("penjahit", Sector.OTHER),
    ("ojek online", Sector.TRANSPORT),
    ("ojek pangkalan", Sector.TRANSPORT),
    ("kurir", Sector.TRANSPORT),
]
INCOMES = [900_000] * 12 + [1_500_000] * 4 + [2_000_000] * 2 + [3_000_000, 5_000_000]


def load_demo_data(
    session: DbSession, now: datetime, members_per_branch: int = 750, seed: int = 20261122
) -> dict[str, int]:
    """Create the demo world unless a branch exists already; returns counts of what was created."""
    if session.scalar(select(func.count()).select_from(Branch)):
        return {}
    rng = random.Random(seed)
    table = load_rate_table(session)
    password_hash = hash_password(DEMO_PASSWORD)
    counts = {"branches": 0, "agents": 0, "members": 0, "payments": 0}
    pending_finance: list[tuple[Branch, list[str], date]] = []

    admin = StaffUser(username="admin", password_hash=password_hash, full_name="Admin iuran", role=Role.ADMIN)
    session.add(admin)
    for code, name, province, regency, timezone, regencies in BRANCHES:
        branch = Branch(code=code, name=name, province_code=province, regency_code=regency, timezone=timezone)
        session.add(branch)
        session.flush()
        wadah = Wadah(branch_id=branch.id, name=f"Wadah Perisai {name.removeprefix('Kantor Cabang ')}")
        session.add(wadah)
        for role, label in ((Role.BRANCH_FINANCE, "finance"), (Role.SUPERVISOR, "supervisor")):
            session.add(
                StaffUser(
                    username=f"{label}.{code.lower()}",
                    password_hash=password_hash,
                    full_name=f"{label.title()} {code}",
                    role=role,
                    branch_id=branch.id,
                )
            )
        session.flush()
        today = local_today(timezone, now)
        holidays = holidays_for(session, branch, today - timedelta(days=800), today + timedelta(days=400))
        agents = []
        for number in range(1, 4):
            user = StaffUser(
                username=f"agent.{code.lower()}{number}",
                password_hash=password_hash,
                full_name=_person_name(rng, Sex.MALE if number != 2 else Sex.FEMALE),
                role=Role.AGENT,
                branch_id=branch.id,
            )
            session.add(user)
            session.flush()
            agent = Agent(user_id=user.id, branch_id=branch.id, wadah_id=wadah.id, code=f"{code}-P{number:02d}")
            session.add(agent)
            agents.append(agent)
        session.flush()
        habits = list(range(HABIT_DAYS))  # each given once to a member paying monthly in cash: every day has cash
        members, payments = _demo_members(
            session, rng, branch, regencies, agents, members_per_branch, table, holidays, today, habits
        )
        if code == SPONSOR_BRANCH:
            payments += sponsor_programme(session, rng, branch, agents, members_per_branch // 5, holidays, today)
        write_deposits(session, branch, agents, payments, today, holidays)
        for agent, member_id in zip(agents, members[: len(agents)], strict=True):
            agent.member_id = member_id  # a Perisai is a BPU member himself
        counts["branches"] += 1
        counts["agents"] += len(agents)
        counts["members"] += len(members)
        pending_finance.append((branch, regencies, today))
    session.flush()
    counts["payments"] = session.scalar(select(func.count()).select_from(Payment)) or 0
    counts["sponsored members"] = session.scalar(select(func.count()).select_from(ProgrammeMember)) or 0
    session.commit()
    for branch, regencies, today in pending_finance:
        counts["batches"] = counts.get("batches", 0) + _demo_finance(session, rng, branch, regencies, today, now)
    return counts


FINANCE_DAYS = 14  # the demo's bank statement and daily batches cover the last two weeks
APPROVED_BEFORE_DAYS = 7  # batches older than this are approved; the last week waits for finance


def _approved_history(session: DbSession, branch: Branch, finance: StaffUser, first: date) -> None:
    """The year before the last two weeks, as finance would have left it: every agent's day approved two
    days later. Written in bulk; their figures are not frozen (no snapshot), so the pages compute them."""
    days = set(
        session.execute(
            select(Payment.agent_id, Payment.paid_on)
            .join(Agent, Agent.id == Payment.agent_id)
            .where(Agent.branch_id == branch.id, Payment.channel == Channel.CASH, Payment.paid_on < first)
            .distinct()
        ).all()
    ) | set(
        session.execute(
            select(Deposit.agent_id, Deposit.deposited_on)
            .where(Deposit.branch_id == branch.id, Deposit.deposited_on < first)
            .distinct()
        ).all()
    )
    rows = [
        {
            "branch_id": branch.id,
            "agent_id": agent_id,
            "business_date": day,
            "status": "approved",
            "closed_at": datetime.combine(day, datetime.min.time()) + timedelta(hours=14),
            "decided_by_user_id": finance.id,
            "decided_at": datetime.combine(day + timedelta(days=2), datetime.min.time()) + timedelta(hours=3),
            "decision_note": "demo history",
            "updated_at": datetime.combine(day + timedelta(days=2), datetime.min.time()) + timedelta(hours=3),
        }
        for agent_id, day in sorted(days)
    ]
    if rows:
        session.execute(insert(DailyBatch), rows)
    session.commit()


def _demo_finance(
    session: DbSession, rng: random.Random, branch: Branch, regencies: list[str], today: date, now: datetime
) -> int:
    """Two weeks of branch finance, through the same services finance uses: a bank statement of the
    agents' deposits (one short by Rp5.000, one credit nobody declared), the days closed into batches,
    the older week approved, and a target population per regency for the coverage report."""
    finance = session.scalar(
        select(StaffUser).where(StaffUser.branch_id == branch.id, StaffUser.role == Role.BRANCH_FINANCE)
    )
    assert finance is not None
    first = today - timedelta(days=FINANCE_DAYS)
    deposits = list(
        session.scalars(
            select(Deposit)
            .where(Deposit.branch_id == branch.id, Deposit.deposited_on.between(first, today - timedelta(days=1)))
            .order_by(Deposit.deposited_on, Deposit.id)
        )
    )
    rows = ["date,description,reference,amount"]
    short = deposits[len(deposits) // 3].id if deposits else None
    for deposit in deposits:
        amount = deposit.amount_idr - (5_000 if deposit.id == short else 0)
        rows.append(f"{deposit.deposited_on},SETORAN TUNAI {deposit.bank_reference},,{amount}")
    rows.append(f"{today - timedelta(days=3)},TRF MASUK PEMDA,SP2D-{rng.randrange(10_000, 99_999)},2500000")
    rows.append(f"{today - timedelta(days=1)},BIAYA ADMINISTRASI,,-15000")
    import_statement(
        session, branch, "generic", f"mutasi-{branch.code}.csv", ("\n".join(rows) + "\n").encode(), finance.id, now
    )
    for offset in range(FINANCE_DAYS, 0, -1):
        close_day(session, branch.id, today - timedelta(days=offset), now)
    _approved_history(session, branch, finance, first)
    approved = 0
    for batch in session.scalars(
        select(DailyBatch)
        .where(
            DailyBatch.branch_id == branch.id,
            DailyBatch.status == "closed",
            DailyBatch.business_date < today - timedelta(days=APPROVED_BEFORE_DAYS),
        )
        .order_by(DailyBatch.business_date, DailyBatch.id)
    ).all():
        try:
            approve_batch(session, finance, batch.id, "demo: bank charges explained by the agent", now)
            approved += 1
        except DomainError:
            session.rollback()  # something still pending: it waits for finance, as it would
    set_targets(
        session,
        branch,
        today.year,
        [
            {"regency_code": code, "target_population": rng.randrange(8_000, 40_000), "source": "demo"}
            for code in regencies
        ],
        finance.id,
    )
    return session.scalar(select(func.count()).select_from(DailyBatch).where(DailyBatch.branch_id == branch.id)) or 0


def _person_name(rng: random.Random, sex: Sex) -> str:
    first = rng.choice(FIRST_NAMES_F if sex == Sex.FEMALE else FIRST_NAMES_M)
    family = rng.choice(FAMILY_NAMES)
    return f"{first} {family}".strip()


def _demo_members(
    session: DbSession,
    rng: random.Random,
    branch: Branch,
    regencies: list[str],
    agents: list[Agent],
    count: int,
    table: RateTable,
    holidays: set[date],
    today: date,
    habits: list[int],
) -> tuple[list[int], list[dict[str, Any]]]:
    """Enrol ``count`` members of a branch and simulate their payments up to ``today``; returns their ids and
    the payments written (for the agents' deposits)."""
    member_rows: list[dict[str, Any]] = []
    seen_niks: set[str] = set()
    for _ in range(count):
        sex = rng.choice([Sex.MALE, Sex.FEMALE])
        birth = today - timedelta(days=rng.randint(17 * 365, 64 * 365))
        nik = fake_nik(rng, rng.choice(regencies), birth, sex)
        if nik in seen_niks:
            continue
        seen_niks.add(nik)
        occupation, sector = rng.choice(OCCUPATIONS)
        income = rng.choice(INCOMES)
        enrolled_on = next_working_day(today - timedelta(days=rng.randint(35, 460)), holidays)
        name = _person_name(rng, sex)
        member_rows.append(
            {
                "nik": nik,
                "name": name,
                "birth_date": birth,
                "sex": sex.value,
                "phone": f"+628{rng.randint(11, 59)}{rng.randint(10_000_000, 99_999_999)}",
                "occupation": occupation,
                "sector": sector.value,
                "district_code": nik[:6],
                "declared_income_idr": income,
                "bracket": table.bracket_for_income(income, Month.of(enrolled_on)).number,
                "package": Package.JKK_JKM_JHT.value if rng.random() < 0.15 else Package.JKK_JKM.value,
                "branch_id": branch.id,
                "enrolled_by_agent_id": (agent_id := rng.choice(agents).id),
                "agent_id": agent_id,
                "enrolled_on": enrolled_on,
                "status": MemberStatus.ACTIVE.value,
                "first_month": Month.of(enrolled_on),
                "paid_through": None,
                "period_started_on": enrolled_on,
            }
        )
    ids = list(session.scalars(insert(Member).returning(Member.id, sort_by_parameter_order=True), member_rows))
    session.execute(
        insert(MemberNameKey),
        [
            {"member_id": i, "key": key, "branch_id": row["branch_id"]}
            for i, row in zip(ids, member_rows, strict=True)
            for key in name_keys(str(row["name"]))
        ],
    )
    updates, periods, changes = [], [], []
    payment_rows: list[dict[str, Any]] = []
    allocation_rows: list[list[tuple[Month, int]]] = []
    for member_id, row in zip(ids, member_rows, strict=True):
        terms = ContributionTerms(
            bracket=int(row["bracket"]), package=Package(row["package"]), sector=Sector(row["sector"]), payer=Payer.SELF
        )
        first_month: Month = row["first_month"]
        enrolled_on = row["enrolled_on"]
        dues = [
            MonthDue(m, amount_due(table, terms, m).total_idr, due_date(m, holidays))
            for m in first_month.until(Month.of(today) + 1)  # next month too: paid ahead after the 15th
        ]
        ledger = _simulate(rng, dues, enrolled_on, today, agents, holidays, habits)
        standing = standing_on(dues, ledger.settled, today, enrolled_on)
        for payment in ledger.payments:
            payment["member_id"] = member_id
        payment_rows.extend(ledger.payments)
        allocation_rows.extend(ledger.allocations)
        updates.append(
            {
                "id": member_id,
                "kpj": kpj_for(member_id),
                "status": standing.status.value,
                "paid_through": standing.paid_through,
            }
        )
        periods.append(
            {
                "member_id": member_id,
                "started_on": enrolled_on,
                "first_month": first_month,
                "ended_on": standing.lapsed_on,
                "end_cause": LAPSE_CAUSE if standing.lapsed_on else None,
            }
        )
        changes.append(
            {
                "member_id": member_id,
                "from_status": None,
                "to_status": "active",
                "changed_on": enrolled_on,
                "cause": "enrolled",
            }
        )
        changes += standing_changes(member_id, dues, standing, enrolled_on)
    session.execute(update(Member), updates)  # ORM bulk UPDATE by primary key
    session.execute(insert(MembershipPeriod), periods)
    session.execute(insert(MemberStatusChange), changes)
    write_payments(session, branch, payment_rows, allocation_rows, rng.randrange)
    return ids, payment_rows


def _simulate(
    rng: random.Random,
    dues: list[MonthDue],
    enrolled_on: date,
    today: date,
    agents: list[Agent],
    holidays: set[date],
    habits: list[int],
) -> Ledger:
    """One member's payments: most pay monthly or ahead, some drift into arrears, a few lapse.

    A member pays in cash to an agent or by bank transfer, always the same way, on about the same day of the
    month (his habit: some days before the due date). Until ``habits`` is used up, each member who pays in cash
    and joined before last month pays monthly on the next of those habits, so that every working day from last
    month on has collections however small the demo; agents do not collect on Sundays and holidays, and a
    member whose day is one pays the working day before."""
    profile = rng.choices(["monthly", "ahead", "late", "stopped", "lapsed"], weights=[55, 15, 12, 12, 6])[0]
    cash = rng.random() < 0.85
    habit = rng.randrange(HABIT_DAYS)
    if cash and habits and enrolled_on < (Month.of(today) - 2).first_day():
        profile, habit = "monthly", habits.pop()
    stop_after = len(dues)  # through next month, which is paid ahead after this month's due date
    if profile == "stopped":  # counted back from this month, the last one due
        stop_after = max(1, len(dues) - 1 - rng.randint(1, 3))
    elif profile == "lapsed":
        stop_after = max(0, len(dues) - 1 - rng.randint(5, 9))
    ledger = Ledger()
    credit = 0
    index = 0
    pay_day = enrolled_on
    while index < stop_after:
        months = 1
        if profile == "ahead":
            months = rng.choice([3, 6, 12])
        elif profile == "late" and rng.random() < 0.3:
            months = 2
        months = min(months, stop_after - index) if profile != "ahead" else months
        window = dues[index : index + months]
        if not window:
            break
        due_on = window[0].due_on
        late = timedelta(days=rng.randint(-5, 40)) if profile == "late" else -timedelta(days=habit)
        pay_day = working_pay_day(due_on + late, pay_day, holidays)
        if pay_day > today:
            break
        amount = sum(d.amount_idr for d in window)
        open_dues = [Due(d.month, d.amount_idr) for d in dues[index:]]
        result = allocate(amount, open_dues, credit)
        credit = result.credit_idr
        ledger.payments.append(
            {
                "channel": (Channel.CASH if cash else Channel.BANK_TRANSFER).value,
                "amount_idr": amount,
                "credit_idr": credit,
                "paid_on": pay_day,
                "agent_id": rng.choice(agents).id if cash else None,
                "recorded_at": datetime.combine(pay_day, datetime.min.time()) + timedelta(hours=rng.randint(2, 9)),
            }
        )
        ledger.allocations.append([(a.month, a.amount_idr) for a in result.allocations])
        ledger.settled.update(result.months)
        index += len(result.allocations)
    return ledger


def write_demo_logins(path: Path) -> None:
    """The demo logins, for `make run` to print."""
    lines = [f"password for every demo login: {DEMO_PASSWORD}", "admin (all branches)"]
    for code, name, *_ in BRANCHES:
        c = code.lower()
        lines.append(f"{name}: finance.{c}, supervisor.{c}, agent.{c}1, agent.{c}2, agent.{c}3")
    path.write_text("\n".join(lines) + "\n")
