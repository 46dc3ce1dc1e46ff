"""Sponsor programmes (domain.md §6): a Pemda or a donor pays members' contributions for a while, then the members
pay themselves. Sponsors, programmes, their figures, the end of a programme, and the retention report.

A programme covers ``months`` months from ``first_month``. A member added later (the APBD Perubahan) is covered
from the month he is added, never before the programme's first month (``coverage_from``). When the last month
has passed, the end-of-programme step makes every member self-paying: a text to each member and a visit for the
agent who enrolled him (or the branch, for members the import enrolled), once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flask_babel import gettext, lazy_gettext
from sqlalchemy import and_, func, insert, select
from sqlalchemy.exc import IntegrityError

from collection.members.due_dates import due_date
from collection.members.models import Member, PaymentAllocation
from collection.members.paylinks import LinkSigner
from collection.members.rates import ContributionTerms, Package, Payer, RateError, Sector, amount_due
from collection.members.services import holidays_for, load_rate_table
from collection.sponsors.models import ProgrammeMember, Sponsor, SponsorPayment, SponsorProgramme
from core import audit
from core.clock import local_today
from core.errors import Conflict, DomainError, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.months import Month
from core.outbox import OutboxMessage
from core.paging import page_of
from core.regions import region_name
from organisation.models import Branch, Role, StaffUser
from payments.ledger.models import Channel, Payment
from payments.ledger.services import add_visit

PROGRAMME_ROLES = (Role.BRANCH_FINANCE, Role.SUPERVISOR, Role.ADMIN)
MAX_PROGRAMME_MONTHS = 24
RETENTION_POINTS = (1, 3, 6, 12)  # months after the sponsorship's last month
ENDED_VISIT_REASON = "sponsorship_ended"
SPONSORED_BRACKET = 1  # sponsors pay the lowest bracket: a sponsored member declares no income (0)


class SponsorKind(StrEnum):
    """A province, regency or city government (paying from its APBD), or a donor (a company, a person)."""

    PROVINCE = "province"
    REGENCY = "regency"
    CITY = "city"
    DONOR = "donor"


REGION_DIGITS = {SponsorKind.PROVINCE: 2, SponsorKind.REGENCY: 4, SponsorKind.CITY: 4}
# The kind of a government as a message names it ("a province government", "not a regency code").
REGION_WORDS = {
    SponsorKind.PROVINCE: lazy_gettext("province"),
    SponsorKind.REGENCY: lazy_gettext("regency"),
    SponsorKind.CITY: lazy_gettext("city"),
}


class ProgrammeStatus(StrEnum):
    """open (the sponsor pays) → ended (the members pay themselves). No way back."""

    OPEN = "open"
    ENDED = "ended"


def payer_of(kind: str) -> Payer:
    """Who pays, for the rate table: a government budget (no PP 50/2025 discount) or a donor."""
    return Payer.DONOR if kind == SponsorKind.DONOR else Payer.BUDGET


def coverage_from(programme: SponsorProgramme, added_on: date) -> Month:
    """The first month a member added on ``added_on`` is covered: that month, never before the programme's first."""
    return max(programme.first_month, Month.of(added_on))


def sponsored_terms(programme: SponsorProgramme, sector: str, payer: Payer) -> ContributionTerms:
    """What the sponsor pays per member-month: the lowest bracket of the programme's package, at its payer rate."""
    return ContributionTerms(SPONSORED_BRACKET, Package(programme.package), Sector(sector), payer)


@dataclass(frozen=True)
class ProgrammeFigures:
    """A programme as the API shows it: with its members and its budget used and left."""

    programme: SponsorProgramme
    sponsor: Sponsor
    members: int
    budget_used_idr: int
    payments: int

    @property
    def budget_left_idr(self) -> int:
        return self.programme.budget_idr - self.budget_used_idr


# --- sponsors ---------------------------------------------------------------------------------------------------


def create_sponsor(session: DbSession, actor: StaffUser, kind: str, name: str, region_code: str | None) -> Sponsor:
    """Register a sponsor; a government needs its region code (2 digits for a province, 4 for a regency/city)."""
    _require(actor)
    name = " ".join(name.split())
    if not name:
        raise field_error("name", gettext("Give the sponsor's name, e.g. 'Pemerintah Kabupaten Bangka Selatan'."))
    try:
        sponsor_kind = SponsorKind(kind)
    except ValueError:
        raise field_error(
            "kind", gettext("Unknown kind '%(kind)s': use one of %(kinds)s.", kind=kind, kinds=", ".join(SponsorKind))
        ) from None
    region = (region_code or "").strip() or None
    if sponsor_kind is SponsorKind.DONOR:
        if region is not None:
            raise field_error("region_code", gettext("A donor has no region: leave 'region_code' out."))
    else:
        digits = REGION_DIGITS[sponsor_kind]
        if region is None:
            raise field_error(
                "region_code",
                gettext(
                    "A %(kind)s government needs its region code (%(digits)s digits, as in the NIK: e.g. %(example)s).",
                    kind=str(REGION_WORDS[sponsor_kind]),
                    digits=digits,
                    example="19" if digits == 2 else "1903",
                ),
            )
        if len(region) != digits or not region.isdecimal() or region_name(region) is None:
            raise field_error(
                "region_code",
                gettext(
                    "'%(region)s' is not a %(kind)s code: use the %(digits)s-digit code the NIK uses "
                    "(e.g. %(example)s).",
                    region=region,
                    kind=str(REGION_WORDS[sponsor_kind]),
                    digits=digits,
                    example="19 Kepulauan Bangka Belitung" if digits == 2 else "1903 Kab. Bangka Selatan",
                ),
            )
    existing = session.scalar(select(Sponsor).where(Sponsor.kind == sponsor_kind, Sponsor.name == name))
    if existing is not None:
        raise Conflict(
            gettext(
                "Sponsor '%(name)s' (%(kind)s) exists already as sponsor %(id)s: use that one.",
                name=name,
                kind=str(sponsor_kind),
                id=existing.id,
            )
        )
    sponsor = Sponsor(kind=sponsor_kind, name=name, region_code=region)
    session.add(sponsor)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            gettext(
                "Sponsor '%(name)s' (%(kind)s) was just created by someone else: use that one.",
                name=name,
                kind=str(sponsor_kind),
            )
        ) from None
    audit.record(session, "sponsor.created", "sponsor", sponsor.id, actor.id, kind=str(sponsor_kind), name=name)
    session.commit()
    return sponsor


def list_sponsors(session: DbSession) -> list[Sponsor]:
    """Every sponsor, by name."""
    return sponsor_page(session, 0, None)[0]


def sponsor_page(session: DbSession, offset: int, limit: int | None) -> tuple[list[Sponsor], int]:
    """One page of the sponsors by name (``limit`` None: all) and how many there are."""
    return page_of(session, select(Sponsor).order_by(Sponsor.name, Sponsor.id), offset, limit)


# --- programmes -------------------------------------------------------------------------------------------------


def create_programme(session: DbSession, actor: StaffUser, data: dict[str, Any]) -> SponsorProgramme:
    """Open a programme in a branch: a sponsor, a package, ``months`` months from ``first_month``, a budget."""
    _require(actor)
    branch_id = data.get("branch_id") or actor.branch_id
    if branch_id is None:
        raise field_error("branch_id", gettext("Choose the programme's branch: an admin has no branch of his own."))
    if actor.role != Role.ADMIN and branch_id != actor.branch_id:
        raise field_error(
            "branch_id",
            gettext("You can open programmes only in your own branch (%(id)s).", id=actor.branch_id),
        )
    if session.get(Branch, branch_id) is None:
        raise field_error(
            "branch_id", gettext("There is no branch %(id)s: see GET /api/v1/branches for the list.", id=branch_id)
        )
    sponsor = session.get(Sponsor, data["sponsor_id"])
    if sponsor is None:
        raise field_error("sponsor_id", gettext("There is no sponsor %(id)s: create it first.", id=data["sponsor_id"]))
    errors: dict[str, list[str]] = {}
    code = data["code"].strip().upper()
    if not code or len(code) > 32:
        errors["code"] = [gettext("Give a short code of 1 to 32 characters, e.g. BASEL-APBD-2025.")]
    if data["package"] not in {p.value for p in Package}:
        errors["package"] = [
            gettext(
                "Unknown package '%(package)s': use one of %(packages)s.",
                package=data["package"],
                packages=", ".join(Package),
            )
        ]
    if not 1 <= data["months"] <= MAX_PROGRAMME_MONTHS:
        errors["months"] = [
            gettext(
                "A programme runs 1 to %(max)s months; %(months)s was given.",
                max=MAX_PROGRAMME_MONTHS,
                months=data["months"],
            )
        ]
    if data["budget_idr"] <= 0:
        errors["budget_idr"] = [gettext("The budget is a positive number of rupiah, e.g. 178214400.")]
    if errors:
        raise DomainError(
            gettext("Correct these fields: %(fields)s.", fields=", ".join(sorted(errors))), errors={"json": errors}
        )
    if session.scalar(select(SponsorProgramme.id).where(SponsorProgramme.code == code)) is not None:
        raise Conflict(gettext("There is a programme with code %(code)s already: choose another code.", code=code))
    programme = SponsorProgramme(
        code=code,
        name=" ".join(data["name"].split()),
        sponsor_id=sponsor.id,
        branch_id=branch_id,
        package=data["package"],
        first_month=data["first_month"],
        months=data["months"],
        budget_idr=data["budget_idr"],
        status=ProgrammeStatus.OPEN,
        created_by_user_id=actor.id,
    )
    session.add(programme)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            gettext("There is a programme with code %(code)s already: choose another code.", code=code)
        ) from None
    audit.record(session, "sponsor_programme.created", "sponsor_programme", programme.id, actor.id, code=code)
    session.commit()
    return programme


def programme_for(session: DbSession, actor: StaffUser, programme_id: int, lock: bool = False) -> SponsorProgramme:
    """A programme the caller may work on (locked FOR UPDATE when asked); another branch's is a 404."""
    _require(actor)
    programme = session.get(SponsorProgramme, programme_id, with_for_update=lock or None)
    if programme is None or (actor.role != Role.ADMIN and programme.branch_id != actor.branch_id):
        raise NotFound(gettext("There is no sponsor programme %(id)s in your branch.", id=programme_id))
    return programme


def programme_by_code(session: DbSession, code: str) -> SponsorProgramme | None:
    return session.scalar(select(SponsorProgramme).where(SponsorProgramme.code == code.strip().upper()))


def budget_used(session: DbSession, programme_id: int) -> int:
    """What the programme's sponsor payments have taken from its budget so far."""
    used = session.scalar(
        select(func.coalesce(func.sum(SponsorPayment.amount_idr), 0)).where(SponsorPayment.programme_id == programme_id)
    )
    return int(used or 0)


def describe_programmes(session: DbSession, programmes: Sequence[SponsorProgramme]) -> list[ProgrammeFigures]:
    """Programmes with their member counts and budget used, in three queries whatever their number."""
    ids = [p.id for p in programmes]
    if not ids:
        return []
    members = dict(
        session.execute(
            select(ProgrammeMember.programme_id, func.count())
            .where(ProgrammeMember.programme_id.in_(ids))
            .group_by(ProgrammeMember.programme_id)
        ).all()
    )
    paid = {
        row.programme_id: (int(row.used), int(row.n))
        for row in session.execute(
            select(
                SponsorPayment.programme_id,
                func.sum(SponsorPayment.amount_idr).label("used"),
                func.count().label("n"),
            )
            .where(SponsorPayment.programme_id.in_(ids))
            .group_by(SponsorPayment.programme_id)
        )
    }
    sponsors = {
        s.id: s for s in session.scalars(select(Sponsor).where(Sponsor.id.in_({p.sponsor_id for p in programmes})))
    }
    return [
        ProgrammeFigures(
            programme=p,
            sponsor=sponsors[p.sponsor_id],
            members=int(members.get(p.id, 0)),
            budget_used_idr=paid.get(p.id, (0, 0))[0],
            payments=paid.get(p.id, (0, 0))[1],
        )
        for p in programmes
    ]


def list_programmes(session: DbSession, actor: StaffUser, status: str | None = None) -> list[ProgrammeFigures]:
    """The programmes of the caller's branch (every branch for an admin), newest first."""
    return programme_page(session, actor, status, 0, None)[0]


def programme_page(
    session: DbSession, actor: StaffUser, status: str | None, offset: int, limit: int | None
) -> tuple[list[ProgrammeFigures], int]:
    """One page of ``list_programmes`` (``limit`` None: all), each with its figures, and how many there are."""
    _require(actor)
    query = select(SponsorProgramme).order_by(SponsorProgramme.first_month.desc(), SponsorProgramme.id.desc())
    if actor.role != Role.ADMIN:
        query = query.where(SponsorProgramme.branch_id == actor.branch_id)
    if status:
        query = query.where(SponsorProgramme.status == status)
    programmes, total = page_of(session, query, offset, limit)
    return describe_programmes(session, programmes), total


def change_budget(session: DbSession, actor: StaffUser, programme_id: int, budget_idr: int) -> SponsorProgramme:
    """Set a programme's budget (the APBD Perubahan raises it); never below what its payments have used."""
    programme = programme_for(session, actor, programme_id, lock=True)
    used = budget_used(session, programme.id)
    if budget_idr < max(used, 1):
        raise field_error(
            "budget_idr",
            gettext("The programme has paid %(used)s already: the budget cannot be less than that.", used=_idr(used)),
        )
    before = programme.budget_idr
    programme.budget_idr = budget_idr
    audit.record(
        session,
        "sponsor_programme.budget",
        "sponsor_programme",
        programme.id,
        actor.id,
        before=before,
        after=budget_idr,
    )
    session.commit()
    return programme


def list_programme_members(
    session: DbSession, actor: StaffUser, programme_id: int, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a programme's members (by name), each with his coverage and standing, and the total."""
    programme = programme_for(session, actor, programme_id)
    total = session.scalar(select(func.count()).where(ProgrammeMember.programme_id == programme.id)) or 0
    rows = session.execute(
        select(ProgrammeMember, Member)
        .join(Member, Member.id == ProgrammeMember.member_id)
        .where(ProgrammeMember.programme_id == programme.id)
        .order_by(Member.name, Member.id)
        .offset(min(offset, 10**7))
        .limit(limit)
    ).all()
    page = [
        {
            "member_id": member.id,
            "nik": member.nik,
            "kpj": member.kpj,
            "name": member.name,
            "village": member.village,
            "phone": member.phone,
            "status": member.status,
            "paid_through": member.paid_through,
            "covered_from": pm.first_month,
            "covered_to": programme.last_month,
            "added_on": pm.added_on,
            "created_member": pm.created_member,
            "import_id": pm.import_id,
        }
        for pm, member in rows
    ]
    return page, int(total)


# --- the end of a programme -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndResult:
    programme_id: int
    ended_on: date
    already_ended: bool
    members: int
    notices: int
    visits: int
    still_sponsored: int  # members another open programme covers next month: no notice, no visit


def end_programme(
    session: DbSession, programme_id: int, now: datetime, actor_id: int | None = None, links: LinkSigner | None = None
) -> EndResult:
    """Make the programme's members self-paying: status ended, a text to each member and a visit for his agent
    (with ``links``, the text carries a pay link for his first month of his own: collection/members/paylinks.py).

    Allowed once the programme's last month has begun. Idempotent: the programme row is locked and moves from
    open to ended once; the texts' dedupe keys and the visits' (reason, source) key are the final guard.
    Members that another open programme covers from the next month on are left out (they are still sponsored).
    """
    programme = session.get(SponsorProgramme, programme_id, with_for_update=True)
    if programme is None:
        raise NotFound(gettext("There is no sponsor programme %(id)s.", id=programme_id))
    branch = session.get(Branch, programme.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    count = session.scalar(select(func.count()).where(ProgrammeMember.programme_id == programme.id)) or 0
    if programme.status == ProgrammeStatus.ENDED:
        assert programme.ended_on is not None
        session.rollback()
        return EndResult(programme.id, programme.ended_on, True, int(count), 0, 0, 0)
    if Month.of(today) < programme.last_month:
        raise Conflict(
            gettext(
                "Programme %(code)s runs through %(last)s: it can be ended from %(day)s on (the daily job ends it "
                "once %(last)s has passed).",
                code=programme.code,
                last=str(programme.last_month),
                day=str(programme.last_month.first_day()),
            ),
            reason="programme_running",
        )
    sponsor = session.get(Sponsor, programme.sponsor_id)
    assert sponsor is not None
    next_month = programme.last_month + 1
    still_covered = {
        row.member_id
        for row in session.execute(
            select(
                ProgrammeMember.member_id,
                ProgrammeMember.first_month,
                SponsorProgramme.first_month.label("programme_first"),
                SponsorProgramme.months,
            )
            .join(SponsorProgramme, SponsorProgramme.id == ProgrammeMember.programme_id)
            .where(
                SponsorProgramme.id != programme.id,
                SponsorProgramme.status == ProgrammeStatus.OPEN,
                ProgrammeMember.member_id.in_(
                    select(ProgrammeMember.member_id).where(ProgrammeMember.programme_id == programme.id)
                ),
            )
        )
        if row.first_month <= next_month <= row.programme_first + (row.months - 1)
    }
    rows = session.execute(
        select(ProgrammeMember, Member)
        .join(Member, Member.id == ProgrammeMember.member_id)
        .where(ProgrammeMember.programme_id == programme.id)
        .order_by(ProgrammeMember.id)
    ).all()
    table = load_rate_table(session)
    holidays = holidays_for(session, branch, next_month.first_day(), next_month.last_day())
    due_on = due_date(next_month, holidays)
    amounts: dict[tuple[int, str, str], int] = {}
    prefix = f"sponsor-end:{programme.id}:"
    already = set(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.startswith(prefix))))
    notices = visits = 0
    messages = []
    for pm, member in rows:
        if member.id in still_covered:
            continue
        key = (member.bracket, member.package, member.sector)
        if key not in amounts:
            terms = ContributionTerms(member.bracket, Package(member.package), Sector(member.sector), Payer.SELF)
            try:
                amounts[key] = amount_due(table, terms, next_month).total_idr
            except RateError:
                amounts[key] = 0
        dedupe = f"{prefix}{member.id}"
        if member.phone and dedupe not in already:
            link = links.link(member.id, next_month, 1, now, phone=member.phone) if links is not None else None
            messages.append(
                {
                    "kind": "sponsorship_ended",
                    "recipient": member.phone,
                    "body": _ended_text(sponsor.name, programme.last_month, next_month, amounts[key], due_on)
                    + ("" if link is None else f" Bayar online: {link}"),
                    "dedupe_key": dedupe,
                }
            )
        add_visit(
            session,
            member,
            ENDED_VISIT_REASON,
            pm.id,
            f"{sponsor.name} paid through {programme.last_month}; self-paying from {next_month} "
            f"({_idr(amounts[key])}, due {due_on:%d-%m-%Y})",
        )
        visits += 1
    for start in range(0, len(messages), 2000):
        # One multi-row insert, not a savepoint per text: the programme row's lock and its status make this
        # run once; the unique dedupe key is the final guard.
        session.execute(insert(OutboxMessage), messages[start : start + 2000])
    notices = len(messages)
    programme.status = ProgrammeStatus.ENDED
    programme.ended_on = today
    audit.record(
        session,
        "sponsor_programme.ended",
        "sponsor_programme",
        programme.id,
        actor_id,
        notices=notices,
        visits=visits,
        still_sponsored=len(still_covered),
    )
    session.commit()
    return EndResult(programme.id, today, False, len(rows), notices, visits, len(still_covered))


def end_finished_programmes(session: DbSession, now: datetime, links: LinkSigner | None = None) -> list[int]:
    """The daily job: end every open programme whose last month has passed in its branch's time zone."""
    rows = session.execute(
        select(SponsorProgramme, Branch.timezone)
        .join(Branch, Branch.id == SponsorProgramme.branch_id)
        .where(SponsorProgramme.status == ProgrammeStatus.OPEN)
        .order_by(SponsorProgramme.id)
    ).all()
    due = [p.id for p, zone in rows if p.last_month < Month.of(local_today(zone, now))]
    session.rollback()
    for programme_id in due:
        end_programme(session, programme_id, now, links=links)
    return due


def end_programme_by_staff(
    session: DbSession, actor: StaffUser, programme_id: int, now: datetime, links: LinkSigner | None = None
) -> EndResult:
    """End a programme from the API: a supervisor or admin (the daily job does it by itself otherwise)."""
    programme_for(session, actor, programme_id)
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(
            gettext("Only a supervisor or an admin ends a programme (the daily job ends it after its last month).")
        )
    return end_programme(session, programme_id, now, actor.id, links=links)


def _ended_text(sponsor: str, last: Month, first_own: Month, amount_idr: int, due_on: date) -> str:
    return (
        f"BPJS Ketenagakerjaan: iuran Anda dibayar {sponsor} s.d. {last}. Mulai {first_own} iuran "
        f"{_idr(amount_idr)}/bulan dibayar sendiri, paling lambat {due_on:%d-%m-%Y}, lewat agen Perisai atau "
        "kantor cabang, agar perlindungan tetap berlanjut."
    )


# --- retention --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionPoint:
    months_after: int
    month: Month
    due_on: date
    measured: bool  # the month's due date has passed on the day asked
    paying: int | None
    share: float | None


@dataclass(frozen=True)
class Retention:
    programme_id: int
    code: str
    last_month: Month
    on: date
    members: int
    points: tuple[RetentionPoint, ...]


def retention(session: DbSession, actor: StaffUser, programme_id: int, on: date | None, now: datetime) -> Retention:
    """The share of a programme's members still paying 1, 3, 6 and 12 months after the sponsorship ended.

    For k months after, the month measured is ``last_month + k``: a member counts as paying when that month is
    settled by a payment that is not a sponsor's (cash, auto-debit, a transfer; not reversed), whenever it was
    made. The share is over every member of the programme, those added mid-year too. A point is measured only
    once that month's due date (the 15th, or the next working day) is before ``on``; later points are null.
    """
    programme = programme_for(session, actor, programme_id)
    branch = session.get(Branch, programme.branch_id)
    assert branch is not None
    on = on or local_today(branch.timezone, now)
    months = [programme.last_month + k for k in RETENTION_POINTS]
    holidays = holidays_for(session, branch, months[0].first_day(), months[-1].last_day())
    members = int(session.scalar(select(func.count()).where(ProgrammeMember.programme_id == programme.id)) or 0)
    due = {m: due_date(m, holidays) for m in months}
    measured = [m for m in months if due[m] < on]
    paying: dict[Month, int] = {}
    if measured and members:
        counts = session.execute(
            select(PaymentAllocation.month, func.count(func.distinct(PaymentAllocation.member_id)))
            .join(Payment, Payment.id == PaymentAllocation.payment_id)
            .join(
                ProgrammeMember,
                and_(
                    ProgrammeMember.member_id == PaymentAllocation.member_id,
                    ProgrammeMember.programme_id == programme.id,
                ),
            )
            .where(
                ~PaymentAllocation.reversed,  # NOT reversed: the partial index's own predicate
                PaymentAllocation.month.in_(measured),
                Payment.channel != Channel.SPONSOR,
            )
            .group_by(PaymentAllocation.month)
        )
        paying = {month: int(n) for month, n in counts}
    points = tuple(
        RetentionPoint(
            months_after=k,
            month=m,
            due_on=due[m],
            measured=m in measured,
            paying=paying.get(m, 0) if m in measured else None,
            share=(round(paying.get(m, 0) / members, 4) if members else 0.0) if m in measured else None,
        )
        for k, m in zip(RETENTION_POINTS, months, strict=True)
    )
    return Retention(programme.id, programme.code, programme.last_month, on, members, points)


# --- shared -----------------------------------------------------------------------------------------------------


def _require(actor: StaffUser) -> None:
    if actor.role not in PROGRAMME_ROLES:
        raise Forbidden(gettext("Sponsor programmes are run by branch finance, a supervisor or an admin."))


def _idr(amount: int) -> str:
    return f"Rp{amount:,}".replace(",", ".")
