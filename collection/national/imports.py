"""A branch's existing BPU members loaded from the national system's export (issue 12, part 3).

The format is in the README ("Members from the national system"); collection/national/rows.py reads and checks each
row. Each row ends as:

- **created**: a new member of the branch with the export's KPJ (never re-issued), his package, bracket and sector,
  his membership from ``period_started_on``, and his months from the first owed through ``paid_through`` booked as
  ONE payment of channel ``imported`` (the sum of those months by the rate table; no agent, no receipt) with one
  allocation per month; his standing derived from them by the same rule as anyone's;
- **existing**: the NIK is a member of iuran already (enrolled here, by a sponsor, or another branch): reported,
  not added again;
- **unchanged**: brought in before by an import of the national system (the same KPJ and NIK);
- **rejected**, with the column and the reason: a bad KPJ (one of iuran's own block, not 11 digits), a KPJ another
  member holds, a bad NIK or birth date, a missing name or occupation, a bad phone, package, income or bracket, a
  start in the future or before the age of 15, a paid-through month before the start or too far ahead, a KPJ or NIK
  repeated in the file (the later row, naming the first).

Good rows import even when others are rejected. The same file for the same branch is the same import (its SHA-256
is unique per branch) and changes nothing; every row is idempotent too (by NIK and KPJ; the imported payment's
idempotency key is ``national:<KPJ>``, the database's final guard). Checking is in Python; the writes are
multi-row inserts (COPY on PostgreSQL), chunk by chunk, each chunk committed with the progress (``rows_done``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from collection.members import csv_files
from collection.members.arrears import LAPSE_AFTER_MONTHS, MemberStatus
from collection.members.due_dates import due_date
from collection.members.models import (
    Member,
    MemberNameKey,
    MembershipPeriod,
    MemberStatusChange,
    PaymentAllocation,
)
from collection.members.names import name_keys
from collection.members.occupations import sector_for
from collection.members.rates import RateTable
from collection.members.services import holidays_for, load_rate_table
from collection.members.standing_sql import TermsKey, month_amount
from collection.national.history import History, Series, history_of, series_of
from collection.national.models import NationalImport, NationalMember
from collection.national.rows import PAID_AHEAD_MONTHS, CheckedRow, Outcome, RowOutcome, check_row, read_rows
from core import audit, blobs
from core.bulk import copy_rows, copy_text, insert_tuples, reserve_ids
from core.clock import local_today
from core.errors import Conflict, Forbidden, NotFound, field_error
from core.extensions import DbSession
from core.months import Month
from organisation.models import Branch, Role, StaffUser
from payments.ledger.models import Channel, Payment, PaymentStatus

ROLES = (Role.SUPERVISOR, Role.ADMIN)  # a branch's members are loaded by its supervisor, or an admin
CHUNK = 5000  # rows written and committed together (one progress step)
MAX_IMPORT_BYTES = 40_000_000  # 100,000 rows are about 13 MB
INLINE_ROWS = 2000  # the API imports a file this small at once (201); a larger one goes to a worker (202)
UPLOAD_KIND = "national_import"  # a large file waits for its worker in the database (core/blobs.py) under this kind
HOLIDAY_YEARS_AHEAD = 3  # due dates are needed up to what may be paid ahead (24 months)
ALLOCATION_COLUMNS = ("payment_id", "member_id", "month", "amount_idr", "reversed")

Progress = Callable[[int], None]


def branch_for(session: DbSession, actor: StaffUser, branch_id: int) -> Branch:
    """The branch, if the actor may load its members: its own supervisor, or an admin; another branch is a 404."""
    if actor.role not in ROLES:
        raise Forbidden(gettext("Members from the national system are loaded by the branch's supervisor or an admin."))
    branch = session.get(Branch, branch_id)
    if branch is None or (actor.role != Role.ADMIN and actor.branch_id != branch_id):
        raise NotFound(gettext("There is no branch %(id)s among yours.", id=branch_id))
    return branch


# --- writing ----------------------------------------------------------------------------------------------------


class _Loader:
    """Writes checked rows of one import, a chunk at a time, with multi-row inserts."""

    def __init__(self, session: DbSession, branch: Branch, record: NationalImport, today: date, now: datetime):
        self.session = session
        self.branch = branch
        self.record = record
        self.today = today
        self.now = now
        self.table: RateTable = load_rate_table(session)
        first = min(schedule.effective_from for schedule in self.table.schedules)
        last = date(today.year + HOLIDAY_YEARS_AHEAD, 12, 31)
        self.holidays = holidays_for(session, branch, first.first_day(), last)
        self.owed_from = first
        self.horizon = Month.of(today) + PAID_AHEAD_MONTHS
        self.copy = session.get_bind().dialect.name == "postgresql"
        self._series: dict[TermsKey, Series] = {}
        # Per terms, each costly month of the series as an allocation's last columns: COPY text on PostgreSQL
        # ("\t2026-01-01\t20800\tf"), else (day as stored, amount, reversed); a member's months are a slice of it.
        self._tails: dict[TermsKey, list[Any]] = {}
        self._due: dict[Month, date] = {}

    def series(self, terms: TermsKey) -> Series:
        """Every month the rate table covers, through what may be paid ahead, with what it costs on these terms."""
        found = self._series.get(terms)
        if found is None:
            months = self.owed_from.until(self.horizon)
            found = self._series[terms] = series_of([(m, month_amount(self.table, terms, m)) for m in months])
            costly = [found.months[i] for i in found.costly]
            if self.copy:
                self._tails[terms] = [f"\t{m.first_day().isoformat()}\t{amount}\tf" for m, amount in costly]
            else:
                self._tails[terms] = [(m.first_day().isoformat(), amount, False) for m, amount in costly]
        return found

    def due_on(self, month: Month) -> date:
        found = self._due.get(month)
        if found is None:
            found = self._due[month] = due_date(month, self.holidays)
        return found

    def history(self, row: CheckedRow, terms: TermsKey) -> History:
        series = self.series(terms)
        return history_of(series, row.first_month, row.paid_through, row.period_started_on, self.today, self.due_on)

    def write(self, rows: Sequence[CheckedRow]) -> list[RowOutcome]:
        """Load each row, or say why not; the caller commits."""
        by_nik = {
            r.nik: (r.id, r.kpj, r.branch_id)
            for r in self.session.execute(
                select(Member.id, Member.nik, Member.kpj, Member.branch_id).where(
                    Member.nik.in_([row.nik.nik for row in rows])
                )
            )
        }
        by_kpj = {
            r.kpj: r.id
            for r in self.session.execute(
                select(Member.id, Member.kpj).where(Member.kpj.in_([row.kpj for row in rows]))
            )
        }
        brought_in = {
            r.member_id: r.import_id
            for r in self.session.execute(
                select(NationalMember.member_id, NationalMember.import_id).where(
                    NationalMember.member_id.in_([found[0] for found in by_nik.values()])
                )
            )
        }
        outcomes: list[RowOutcome] = []
        new_rows: list[CheckedRow] = []
        for row in rows:
            nik = row.nik.nik
            found = by_nik.get(nik)
            if found is not None:
                member_id, kpj, branch_id = found
                if member_id in brought_in and kpj == row.kpj:
                    again = brought_in[member_id] == self.record.id  # a re-run: as the first run said
                    outcome = Outcome.CREATED if again else Outcome.UNCHANGED
                    outcomes.append(RowOutcome(row.row, row.kpj, nik, outcome, member_id))
                    continue
                where = (
                    gettext("this branch") if branch_id == self.branch.id else gettext("branch %(id)s", id=branch_id)
                )
                if kpj == row.kpj:
                    reason = gettext(
                        "The NIK is already member %(kpj)s (id %(id)s) of %(where)s in iuran: not added again.",
                        kpj=kpj,
                        id=member_id,
                        where=where,
                    )
                else:
                    reason = gettext(
                        "The NIK is already member %(kpj)s (id %(id)s) of %(where)s in iuran: not added again. The "
                        "export gives KPJ %(export_kpj)s: check which is right.",
                        kpj=kpj,
                        id=member_id,
                        where=where,
                        export_kpj=row.kpj,
                    )
                outcomes.append(RowOutcome(row.row, row.kpj, nik, Outcome.EXISTING, member_id, "nik", reason))
                continue
            holder = by_kpj.get(row.kpj)
            if holder is not None:
                reason = gettext(
                    "KPJ %(kpj)s is another member's (id %(id)s): a KPJ belongs to one member.", kpj=row.kpj, id=holder
                )
                outcomes.append(RowOutcome(row.row, row.kpj, nik, Outcome.REJECTED, None, "kpj", reason))
                continue
            new_rows.append(row)
        created = self._create(new_rows)
        outcomes += [RowOutcome(row.row, row.kpj, row.nik.nik, Outcome.CREATED, created[row.row]) for row in new_rows]
        return outcomes

    def _create(self, rows: Sequence[CheckedRow]) -> dict[int, int]:
        """Insert new members with their KPJ, name keys, period, status, imported payment and its months."""
        if not rows:
            return {}
        sectors = [sector_for(row.occupation).value for row in rows]
        terms = [(row.bracket, row.package.value, sector) for row, sector in zip(rows, sectors, strict=True)]
        histories = [self.history(row, t) for row, t in zip(rows, terms, strict=True)]
        member_ids = reserve_ids(self.session, "members", len(rows))
        payment_ids = iter(reserve_ids(self.session, "payments", sum(1 for h in histories if h.settled)))
        members, keys, periods, changes, payments, brought = [], [], [], [], [], []
        allocation_text: list[str] = []  # PostgreSQL: COPY's text, a member's months at a time
        allocation_rows: list[tuple[Any, ...]] = []  # elsewhere: one tuple a month
        for member_id, row, history, sector, term in zip(member_ids, rows, histories, sectors, terms, strict=True):
            standing = history.standing
            lapsed_on = standing.lapsed_on if standing.status == MemberStatus.LAPSED else None
            members.append(
                {
                    "id": member_id,
                    "nik": row.nik.nik,
                    "kpj": row.kpj,
                    "name": row.name,
                    "birth_date": row.nik.birth_date,
                    "sex": row.nik.sex.value,
                    "phone": row.phone,
                    "occupation": row.occupation,
                    "village": row.village,
                    "sector": sector,
                    "district_code": row.nik.district_code,
                    "declared_income_idr": row.declared_income_idr,
                    "bracket": row.bracket,
                    "package": row.package.value,
                    "branch_id": self.branch.id,
                    "enrolled_by_agent_id": None,  # no agent enrolled him: no acquisition incentive
                    "agent_id": None,  # the serving agent comes from the agents' CSV (collection/national/agents.py)
                    "enrolled_on": row.period_started_on,
                    "status": standing.status.value,
                    "first_month": row.first_month,
                    "paid_through": standing.paid_through,
                    "period_started_on": row.period_started_on,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
            keys += [{"member_id": member_id, "key": key, "branch_id": self.branch.id} for key in name_keys(row.name)]
            periods.append(
                {
                    "member_id": member_id,
                    "started_on": row.period_started_on,
                    "first_month": row.first_month,
                    "ended_on": lapsed_on,
                    "end_cause": f"more than {LAPSE_AFTER_MONTHS} consecutive unpaid months" if lapsed_on else None,
                }
            )
            changes.append(self._change(member_id, None, MemberStatus.ACTIVE, row.period_started_on, row))
            if standing.status != MemberStatus.ACTIVE:
                changes.append(self._change(member_id, MemberStatus.ACTIVE, standing.status, lapsed_on, row))
            payment_id = None
            if history.settled:
                payment_id = next(payment_ids)
                payments.append(self._payment(payment_id, member_id, row, history))
                tails = self._tails[term][history.settled_from : history.settled_to]
                if self.copy:
                    line = f"{payment_id}\t{member_id}"
                    allocation_text.append(line + f"\n{line}".join(tails) + "\n")
                else:
                    allocation_rows += [(payment_id, member_id, *tail) for tail in tails]
            brought.append(
                {
                    "member_id": member_id,
                    "import_id": self.record.id,
                    "row": row.row,
                    "payment_id": payment_id,
                    "created_at": self.now,
                }
            )
        copy_rows(self.session, Member, members)
        copy_rows(self.session, MemberNameKey, keys)
        copy_rows(self.session, MembershipPeriod, periods)
        copy_rows(self.session, MemberStatusChange, changes)
        copy_rows(self.session, Payment, payments)
        if self.copy:
            copy_text(self.session, PaymentAllocation, ALLOCATION_COLUMNS, "".join(allocation_text))
        else:
            insert_tuples(self.session, PaymentAllocation, ALLOCATION_COLUMNS, allocation_rows)
        copy_rows(self.session, NationalMember, brought)
        return {row.row: member_id for member_id, row in zip(member_ids, rows, strict=True)}

    def _change(
        self, member_id: int, before: MemberStatus | None, after: MemberStatus, on: date | None, row: CheckedRow
    ) -> dict[str, Any]:
        if before is None:
            cause = f"imported from the national system (import {self.record.id}, KPJ {row.kpj})"
        else:
            paid = f"paid through {row.paid_through}" if row.paid_through else "nothing paid"
            cause = f"standing from the national system's history ({paid})"
        return {
            "member_id": member_id,
            "from_status": before.value if before else None,
            "to_status": after.value,
            "changed_on": on or self.today,
            "cause": cause,
            "recorded_at": self.now,
        }

    def _payment(self, payment_id: int, member_id: int, row: CheckedRow, history: History) -> dict[str, Any]:
        return {
            "id": payment_id,
            "member_id": member_id,
            "channel": Channel.IMPORTED.value,
            "amount_idr": history.amount_idr,
            "credit_idr": 0,
            "paid_on": self.today,
            "status": PaymentStatus.SETTLED.value,
            "agent_id": None,
            "recorded_by_user_id": self.record.imported_by_user_id,
            "idempotency_key": f"national:{row.kpj}",  # one imported history per KPJ, whatever file brings it
            "request_fingerprint": None,
            "recorded_at": self.now,
            "sponsor_payment_id": None,
        }


# --- the import -------------------------------------------------------------------------------------------------


def too_large() -> str:
    """The message for a file over MAX_IMPORT_BYTES."""
    return gettext("The file is over %(size)s MB: split it in parts.", size=MAX_IMPORT_BYTES // 1_000_000)


def _find(session: DbSession, branch_id: int, digest: str) -> NationalImport | None:
    return session.scalar(
        select(NationalImport).where(NationalImport.branch_id == branch_id, NationalImport.file_sha256 == digest)
    )


def start_import(
    session: DbSession,
    actor: StaffUser | None,
    branch: Branch,
    filename: str,
    content: bytes,
    now: datetime,
    idempotency_key: str | None = None,
) -> tuple[NationalImport, bool]:
    """Register a file for a branch (status running) and commit; the same file again (or the same key with the same
    file) returns its import and False; the same key with another file is a 409. The header is checked here, so a
    file that cannot be read is a 422 before anything is stored."""
    if len(content) > MAX_IMPORT_BYTES:
        raise field_error("file", too_large(), "files")
    digest = hashlib.sha256(content).hexdigest()
    if idempotency_key is not None:
        keyed = session.scalar(select(NationalImport).where(NationalImport.idempotency_key == idempotency_key))
        if keyed is not None:
            if keyed.file_sha256 != digest or keyed.branch_id != branch.id:
                raise Conflict(
                    gettext("This Idempotency-Key was used for another file: send a new key with a new file."),
                    reason="idempotency_key_reused",
                )
            return keyed, False
    known = _find(session, branch.id, digest)
    if known is not None:
        return known, False
    rows = read_rows(content)
    record = NationalImport(
        branch_id=branch.id,
        filename=(filename or "national.csv")[:200],
        file_sha256=digest,
        idempotency_key=idempotency_key,
        status="running",
        rows_total=len(rows),
        rows_done=0,
        imported_by_user_id=actor.id if actor else None,
        created_at=now,
    )
    session.add(record)
    try:
        session.commit()
    except IntegrityError:  # the same file (or key), registered at this moment by another upload
        session.rollback()
        twin = _find(session, branch.id, digest)
        if twin is None:
            raise
        return twin, False
    return record, True


def run_import(
    session: DbSession, import_id: int, content: bytes, now: datetime, progress: Progress | None = None
) -> NationalImport:
    """Check every row, then write the good ones chunk by chunk, committing ``rows_done`` with each chunk; finish
    with the counts and the per-row report. Safe to run again for the same import (an interrupted run resumes)."""
    record = session.get(NationalImport, import_id)
    if record is None:
        raise ValueError(f"there is no national import {import_id}")
    if record.status == "done":
        return record
    if hashlib.sha256(content).hexdigest() != record.file_sha256:
        raise ValueError(f"the content is not the file of import {import_id}")
    branch = session.get(Branch, record.branch_id)
    assert branch is not None
    today = local_today(branch.timezone, now)
    try:
        # The report is stored and read later by anyone: its reasons stay in English (the rows' own checks are
        # worded in English; the shared readers of dates and phones would otherwise answer in the job's language).
        with force_locale("en"):
            outcomes = _import_rows(session, branch, record, read_rows(content), today, now, progress)
    except Exception as error:
        session.rollback()
        failed = session.get(NationalImport, import_id)
        if failed is not None:
            failed.status = "failed"
            failed.finished_at = now
            blobs.delete(session, UPLOAD_KIND, str(import_id))  # it resumes when the same file is uploaded again
            session.commit()
        if isinstance(error, IntegrityError):  # a NIK or KPJ written meanwhile by another writer: resume it
            raise Conflict(
                gettext(
                    "A member of this file was written by another import at the same moment: upload the same file "
                    "again and the import resumes where it stopped."
                )
            ) from error
        raise
    counts = {name: 0 for name in (Outcome.CREATED, Outcome.EXISTING, Outcome.UNCHANGED, Outcome.REJECTED)}
    for outcome in outcomes:
        counts[outcome.outcome] += 1
    record.created = counts[Outcome.CREATED]
    record.existing = counts[Outcome.EXISTING]
    record.unchanged = counts[Outcome.UNCHANGED]
    record.rejected = counts[Outcome.REJECTED]
    record.rows_done = record.rows_total = len(outcomes)
    record.report = csv_files.report_text(outcomes)
    record.status = "done"
    record.finished_at = now
    blobs.delete(session, UPLOAD_KIND, str(record.id))  # the report holds what is needed from here on
    audit.record(
        session,
        "national_import.done",
        "national_import",
        record.id,
        record.imported_by_user_id,
        branch_id=branch.id,
        filename=record.filename,
        **counts,
    )
    session.commit()
    return record


def _import_rows(
    session: DbSession,
    branch: Branch,
    record: NationalImport,
    raw_rows: list[tuple[int, dict[str, str]]],
    today: date,
    now: datetime,
    progress: Progress | None,
) -> list[RowOutcome]:
    table = load_rate_table(session)
    outcomes: list[RowOutcome] = []
    checked: list[CheckedRow] = []
    first_nik: dict[str, int] = {}
    first_kpj: dict[str, int] = {}
    for row, raw in raw_rows:
        result = check_row(row, raw, today, table)
        if isinstance(result, RowOutcome):
            outcomes.append(result)
            continue
        nik_first = first_nik.setdefault(result.nik.nik, row)
        kpj_first = first_kpj.setdefault(result.kpj, row)
        if nik_first != row or kpj_first != row:
            field, first = ("nik", nik_first) if nik_first != row else ("kpj", kpj_first)
            reason = gettext("The %(field)s is repeated: row %(row)s has it.", field=field.upper(), row=first)
            outcomes.append(RowOutcome(row, result.kpj, result.nik.nik, Outcome.REJECTED, None, field, reason))
            continue
        checked.append(result)
    loader = _Loader(session, branch, record, today, now)
    done = len(outcomes)  # rejected by the checks: nothing to write
    record.rows_done = done
    if progress:
        progress(done)
    for start in range(0, len(checked), CHUNK):
        chunk = checked[start : start + CHUNK]
        # One writer per branch at a time (another import, an enrolment's NIK check still races: the unique keys
        # on nik and kpj are the final guard and the import then resumes).
        session.execute(select(Branch.id).where(Branch.id == branch.id).with_for_update())
        outcomes += loader.write(chunk)
        done += len(chunk)
        record.rows_done = done
        session.commit()
        if progress:
            progress(len(chunk))
    return sorted(outcomes, key=lambda o: o.row)


def import_file(
    session: DbSession,
    actor: StaffUser | None,
    branch: Branch,
    filename: str,
    content: bytes,
    now: datetime,
    progress: Progress | None = None,
) -> tuple[NationalImport, bool]:
    """Register and run an import at once (the CLI, and the API for small files); the same file: nothing changes."""
    record, new = start_import(session, actor, branch, filename, content, now)
    if new or record.status == "failed":
        record = run_import(session, record.id, content, now, progress)
    return record, new


def report_rows(record: NationalImport, outcome: str | None = None) -> list[dict[str, Any]]:
    """The per-row report of a finished import, optionally of one outcome only."""
    return csv_files.report_rows(record.report, outcome)


def import_for(session: DbSession, actor: StaffUser, import_id: int) -> NationalImport:
    """An import of a branch the caller may load members into."""
    record = session.get(NationalImport, import_id)
    if record is not None:
        branch_for(session, actor, record.branch_id)  # a 404 for another branch's
        return record
    if actor.role not in ROLES:
        raise Forbidden(gettext("Members from the national system are loaded by the branch's supervisor or an admin."))
    raise NotFound(gettext("There is no national import %(id)s.", id=import_id))


def keep_upload(session: DbSession, import_id: int, content: bytes, now: datetime) -> None:
    """Keep a large file in the database for its worker, which may run on another host, and commit; the same file
    again (an upload resuming the import) changes nothing."""
    record = session.get(NationalImport, import_id)
    if record is None or hashlib.sha256(content).hexdigest() != record.file_sha256:
        raise ValueError(f"the content is not the file of national import {import_id}")
    blobs.put(session, UPLOAD_KIND, str(import_id), content, now)
    session.commit()


def run_kept_import(
    session: DbSession, import_id: int, now: datetime, old_folder: Path | None = None
) -> NationalImport | None:
    """Run a queued import with the file kept in the database; None when no file waits (the import ended and let it
    go: a re-run does nothing). ``old_folder``: the instance folder, where the release before kept large files; a
    file left there is taken for one release (upgraded while an import was queued), and removed once imported."""
    old = None if old_folder is None else old_folder / "national-imports" / f"{import_id}.csv"
    return blobs.run_waiting_upload(
        session, UPLOAD_KIND, str(import_id), old, lambda content: run_import(session, import_id, content, now)
    )
