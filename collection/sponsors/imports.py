"""Bulk enrolment of a sponsor's list into a programme, from CSV (issue #6).

Columns (header names in any case; Indonesian names too): ``nik``, ``name``/``nama``, ``birth_date``/
``tanggal_lahir`` (DD-MM-YYYY or YYYY-MM-DD), ``phone``/``telepon``, ``occupation``/``pekerjaan``,
``village``/``desa``. Comma, semicolon or tab separated. Each row is checked like a single enrolment and ends as:

- **created**: a new member, enrolled into the programme's branch and package at bracket 1 (a sponsored member
  declares no income: ``declared_income_idr`` 0), sector from the occupation (:func:`sector_for`), no agent;
- **sponsored**: already a member of this branch, now in the programme (his own data is left as it is);
- **unchanged**: already in this programme;
- **rejected**, with the reason and the field: a bad NIK, a birth date that is missing, in the future or not the
  NIK's, a NIK issued outside a government sponsor's region, a bad phone, a missing name, a NIK repeated in the file
  (the later row, naming the first), or a member of another branch (a programme enrols only its own branch's
  members: the other branch transfers him first).

Good rows import even when others are rejected. The same file for the same programme is the same import (its
SHA-256 is unique per programme) and changes nothing; every row is idempotent too (a NIK already in the programme
is left alone; a re-run of an interrupted import reports its own rows as it first did). Validation is in Python;
the writes are multi-row inserts, chunk by chunk, each chunk committed with the progress (``rows_done``).
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
from collection.members.arrears import MemberStatus
from collection.members.kpj import kpj_for
from collection.members.models import Member, MemberNameKey, MembershipPeriod, MemberStatusChange
from collection.members.names import name_keys
from collection.members.occupations import sector_for
from collection.sponsors.models import ProgrammeMember, Sponsor, SponsorImport, SponsorProgramme
from collection.sponsors.programmes import SPONSORED_BRACKET, ProgrammeStatus, SponsorKind, coverage_from, programme_for
from collection.sponsors.rows import CheckedRow, Outcome, RowOutcome, check_row, read_rows
from core import audit, blobs
from core.bulk import insert_rows, reserve_ids
from core.clock import local_today
from core.errors import Conflict, DomainError, NotFound, field_error
from core.extensions import DbSession
from core.months import Month
from core.regions import region_name
from organisation.models import Branch, StaffUser

CHUNK = 5000  # rows written and committed together (one progress step)
MAX_IMPORT_BYTES = 40_000_000  # 75,000 rows are about 8 MB
INLINE_ROWS = 2000  # the API imports a file this small at once (201); a larger one goes to a worker (202)
UPLOAD_KIND = "sponsor_import"  # a large file waits for its worker in the database (core/blobs.py) under this kind


Progress = Callable[[int], None]


# --- reading the file -------------------------------------------------------------------------------------------


# --- checking rows ----------------------------------------------------------------------------------------------


# --- writing ----------------------------------------------------------------------------------------------------


class _Enrolment:
    """Writes checked rows of one programme, a chunk at a time, with multi-row inserts."""

    def __init__(
        self, session: DbSession, programme: SponsorProgramme, today: date, now: datetime, import_id: int | None
    ) -> None:
        self.session = session
        self.programme = programme
        self.today = today
        self.now = now
        self.import_id = import_id
        self.covered_from = coverage_from(programme, today)
        self.in_programme: dict[int, tuple[int | None, bool]] = {}
        self.refresh()

    def refresh(self) -> None:
        """Re-read the programme's members (another writer may have added some since)."""
        self.in_programme = {
            row.member_id: (row.import_id, row.created_member)
            for row in self.session.execute(
                select(ProgrammeMember.member_id, ProgrammeMember.import_id, ProgrammeMember.created_member).where(
                    ProgrammeMember.programme_id == self.programme.id
                )
            )
        }

    def write(self, rows: Sequence[CheckedRow]) -> list[RowOutcome]:
        """Enrol or add each row; the caller commits."""
        existing = {
            row.nik: (row.id, row.branch_id, row.kpj, row.package, row.bracket)
            for row in self.session.execute(
                select(Member.id, Member.nik, Member.branch_id, Member.kpj, Member.package, Member.bracket).where(
                    Member.nik.in_([r.nik.nik for r in rows])
                )
            )
        }
        outcomes: list[RowOutcome] = []
        new_rows: list[CheckedRow] = []
        joining: list[tuple[CheckedRow, int]] = []
        for row in rows:
            found = existing.get(row.nik.nik)
            if found is None:
                new_rows.append(row)
                continue
            member_id, branch_id, kpj, package, bracket = found
            if member_id in self.in_programme:
                import_id, created = self.in_programme[member_id]
                if self.import_id is not None and import_id == self.import_id:  # a re-run: as the first run said
                    outcome = Outcome.CREATED if created else Outcome.SPONSORED
                else:
                    outcome = Outcome.UNCHANGED
                outcomes.append(RowOutcome(row.row, row.nik.nik, outcome, member_id))
            elif branch_id != self.programme.branch_id:
                outcomes.append(
                    RowOutcome(
                        row.row,
                        row.nik.nik,
                        Outcome.REJECTED,
                        member_id,
                        "nik",
                        gettext(
                            "NIK %(nik)s is member %(kpj)s of branch %(branch)s, not of this programme's branch "
                            "(%(programme_branch)s): that branch transfers the member first.",
                            nik=row.nik.nik,
                            kpj=kpj,
                            branch=branch_id,
                            programme_branch=self.programme.branch_id,
                        ),
                    )
                )
            elif (package, bracket) != (self.programme.package, SPONSORED_BRACKET):
                # The sponsor pays bracket 1 of its package; settling his months with that would leave part of
                # his own contribution (a higher bracket, or JHT savings) unpaid with nothing to show for it.
                outcomes.append(
                    RowOutcome(
                        row.row,
                        row.nik.nik,
                        Outcome.REJECTED,
                        member_id,
                        "nik",
                        gettext(
                            "Member %(kpj)s pays bracket %(bracket)s of %(package)s; the programme pays bracket "
                            "%(sponsored_bracket)s of %(programme_package)s, which would leave part of his "
                            "contribution unpaid: change his terms first, or leave him out.",
                            kpj=kpj,
                            bracket=bracket,
                            package=package,
                            sponsored_bracket=SPONSORED_BRACKET,
                            programme_package=self.programme.package,
                        ),
                    )
                )
            else:
                joining.append((row, member_id))
                outcomes.append(RowOutcome(row.row, row.nik.nik, Outcome.SPONSORED, member_id))
        created_ids = self._create(new_rows)
        outcomes += [RowOutcome(r.row, r.nik.nik, Outcome.CREATED, created_ids[r.nik.nik]) for r in new_rows]
        programme_rows = [self._membership(created_ids[r.nik.nik], created=True) for r in new_rows]
        programme_rows += [self._membership(member_id, created=False) for _, member_id in joining]
        insert_rows(self.session, ProgrammeMember, programme_rows)
        for entry in programme_rows:
            self.in_programme[entry["member_id"]] = (self.import_id, entry["created_member"])
        return sorted(outcomes, key=lambda o: o.row)

    def _membership(self, member_id: int, created: bool) -> dict[str, Any]:
        return {
            "programme_id": self.programme.id,
            "member_id": member_id,
            "first_month": self.covered_from,
            "added_on": self.today,
            "import_id": self.import_id,
            "created_member": created,
            "created_at": self.now,
        }

    def _create(self, rows: Sequence[CheckedRow]) -> dict[str, int]:
        """Insert new members with their KPJ, name keys, first period and status; ids reserved up front."""
        if not rows:
            return {}
        ids = reserve_ids(self.session, "members", len(rows))
        members, keys, periods, changes = [], [], [], []
        for member_id, row in zip(ids, rows, strict=True):
            members.append(
                {
                    "id": member_id,
                    "nik": row.nik.nik,
                    "kpj": kpj_for(member_id),
                    "name": row.name,
                    "birth_date": row.nik.birth_date,
                    "sex": row.nik.sex.value,
                    "phone": row.phone,
                    "occupation": row.occupation,
                    "village": row.village,
                    "sector": sector_for(row.occupation).value,
                    "district_code": row.nik.district_code,
                    "declared_income_idr": 0,
                    "bracket": SPONSORED_BRACKET,
                    "package": self.programme.package,
                    "branch_id": self.programme.branch_id,
                    "enrolled_by_agent_id": None,
                    "agent_id": None,
                    "enrolled_on": self.today,
                    "status": MemberStatus.ACTIVE.value,
                    "first_month": self.covered_from,
                    "paid_through": None,
                    "period_started_on": self.today,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
            keys += [
                {"member_id": member_id, "key": key, "branch_id": self.programme.branch_id}
                for key in name_keys(row.name)
            ]
            periods.append(
                {"member_id": member_id, "started_on": self.today, "first_month": self.covered_from, "ended_on": None}
            )
            changes.append(
                {
                    "member_id": member_id,
                    "from_status": None,
                    "to_status": MemberStatus.ACTIVE.value,
                    "changed_on": self.today,
                    "cause": f"enrolled by sponsor programme {self.programme.code}",
                    "recorded_at": self.now,
                }
            )
        insert_rows(self.session, Member, members)
        insert_rows(self.session, MemberNameKey, keys)
        insert_rows(self.session, MembershipPeriod, periods)
        insert_rows(self.session, MemberStatusChange, changes)
        return {row.nik.nik: member_id for member_id, row in zip(ids, rows, strict=True)}


# --- the import -------------------------------------------------------------------------------------------------


def too_large() -> str:
    """The message for a file over MAX_IMPORT_BYTES."""
    return gettext("The file is over %(size)s MB: split it in parts.", size=MAX_IMPORT_BYTES // 1_000_000)


def _open_programme(programme: SponsorProgramme, today: date) -> None:
    if programme.status != ProgrammeStatus.OPEN:
        raise Conflict(
            gettext("Programme %(code)s has ended: its members pay themselves now.", code=programme.code),
            reason="programme_ended",
        )
    if Month.of(today) > programme.last_month:
        raise Conflict(
            gettext(
                "Programme %(code)s ran through %(last)s: members can no longer be added.",
                code=programme.code,
                last=str(programme.last_month),
            ),
            reason="programme_over",
        )


def _context(session: DbSession, programme: SponsorProgramme, now: datetime) -> tuple[date, tuple[str, str] | None]:
    branch = session.get(Branch, programme.branch_id)
    sponsor = session.get(Sponsor, programme.sponsor_id)
    assert branch is not None and sponsor is not None
    region = None
    if sponsor.kind != SponsorKind.DONOR and sponsor.region_code:
        region = (sponsor.region_code, region_name(sponsor.region_code) or sponsor.region_code)
    return local_today(branch.timezone, now), region


def start_import(
    session: DbSession,
    actor: StaffUser | None,
    programme: SponsorProgramme,
    filename: str,
    content: bytes,
    now: datetime,
) -> tuple[SponsorImport, bool]:
    """Register a file for a programme (status running) and commit; the same file again returns its import and
    False. The header is checked here, so a file that cannot be read is a 422 before anything is stored."""
    if len(content) > MAX_IMPORT_BYTES:
        raise field_error("file", too_large(), "files")
    digest = hashlib.sha256(content).hexdigest()
    known = session.scalar(
        select(SponsorImport).where(SponsorImport.programme_id == programme.id, SponsorImport.file_sha256 == digest)
    )
    if known is not None:
        return known, False
    today, _ = _context(session, programme, now)
    _open_programme(programme, today)
    rows = read_rows(content)
    record = SponsorImport(
        programme_id=programme.id,
        filename=(filename or "sponsor.csv")[:200],
        file_sha256=digest,
        status="running",
        rows_total=len(rows),
        rows_done=0,
        imported_by_user_id=actor.id if actor else None,
        created_at=now,
    )
    session.add(record)
    try:
        session.commit()
    except IntegrityError:  # the same file, registered at this moment by another upload: that one is ours
        session.rollback()
        twin = session.scalar(
            select(SponsorImport).where(SponsorImport.programme_id == programme.id, SponsorImport.file_sha256 == digest)
        )
        if twin is None:
            raise
        return twin, False
    return record, True


def run_import(
    session: DbSession, import_id: int, content: bytes, now: datetime, progress: Progress | None = None
) -> SponsorImport:
    """Check every row, then write the good ones chunk by chunk, committing ``rows_done`` with each chunk; finish
    with the counts and the per-row report. Safe to run again for the same import (an interrupted run resumes)."""
    record = session.get(SponsorImport, import_id)
    if record is None:
        raise ValueError(f"there is no sponsor import {import_id}")
    if record.status == "done":
        return record
    programme = session.get(SponsorProgramme, record.programme_id)
    assert programme is not None
    if hashlib.sha256(content).hexdigest() != record.file_sha256:
        raise ValueError(f"the content is not the file of import {import_id}")
    try:
        today, region = _context(session, programme, now)
        _open_programme(programme, today)
        with force_locale("en"):  # the report is stored and read later by anyone: its reasons stay in English
            outcomes = _import_rows(session, programme, record, read_rows(content), today, region, now, progress)
    except Exception as error:
        session.rollback()
        failed = session.get(SponsorImport, import_id)
        if failed is not None:
            failed.status = "failed"
            failed.finished_at = now
            blobs.delete(session, UPLOAD_KIND, str(import_id))  # it resumes when the same file is uploaded again
            session.commit()
        if isinstance(error, IntegrityError):  # a NIK enrolled meanwhile by another import: resume it
            raise Conflict(
                gettext(
                    "A member of this file was enrolled by another import at the same moment: upload the same file "
                    "again and the import resumes where it stopped."
                )
            ) from error
        raise
    counts = {name: 0 for name in (Outcome.CREATED, Outcome.SPONSORED, Outcome.UNCHANGED, Outcome.REJECTED)}
    for outcome in outcomes:
        counts[outcome.outcome] += 1
    record.created = counts[Outcome.CREATED]
    record.sponsored = counts[Outcome.SPONSORED]
    record.unchanged = counts[Outcome.UNCHANGED]
    record.rejected = counts[Outcome.REJECTED]
    record.rows_done = record.rows_total = len(outcomes)
    record.report = csv_files.report_text(outcomes)
    record.status = "done"
    record.finished_at = now
    blobs.delete(session, UPLOAD_KIND, str(record.id))  # the report holds what is needed from here on
    audit.record(
        session,
        "sponsor_import.done",
        "sponsor_import",
        record.id,
        record.imported_by_user_id,
        programme=programme.code,
        **counts,
    )
    session.commit()
    return record


def _import_rows(
    session: DbSession,
    programme: SponsorProgramme,
    record: SponsorImport,
    raw_rows: list[tuple[int, dict[str, str]]],
    today: date,
    region: tuple[str, str] | None,
    now: datetime,
    progress: Progress | None,
) -> list[RowOutcome]:
    outcomes: list[RowOutcome] = []
    checked: list[CheckedRow] = []
    first_row: dict[str, int] = {}
    for row, raw in raw_rows:
        result = check_row(row, raw, today, region)
        if isinstance(result, RowOutcome):
            outcomes.append(result)
            continue
        first = first_row.setdefault(result.nik.nik, row)
        if first != row:
            outcomes.append(
                RowOutcome(
                    row,
                    result.nik.nik,
                    Outcome.REJECTED,
                    None,
                    "nik",
                    gettext("The NIK is repeated: row %(row)s has it.", row=first),
                )
            )
            continue
        checked.append(result)
    enrolment = _Enrolment(session, programme, today, now, record.id)
    done = len(outcomes)  # rejected by the checks: nothing to write
    record.rows_done = done
    if progress:
        progress(done)
    for start in range(0, len(checked), CHUNK):
        chunk = checked[start : start + CHUNK]
        # One writer per programme at a time (another import, a single addition): lock, then re-read who is in.
        session.execute(select(SponsorProgramme.id).where(SponsorProgramme.id == programme.id).with_for_update())
        enrolment.refresh()
        outcomes += enrolment.write(chunk)
        done += len(chunk)
        record.rows_done = done
        session.commit()
        if progress:
            progress(len(chunk))
    return sorted(outcomes, key=lambda o: o.row)


def import_file(
    session: DbSession,
    actor: StaffUser | None,
    programme: SponsorProgramme,
    filename: str,
    content: bytes,
    now: datetime,
    progress: Progress | None = None,
) -> tuple[SponsorImport, bool]:
    """Register and run an import at once (the CLI, and the API for small files); the same file: nothing changes."""
    record, new = start_import(session, actor, programme, filename, content, now)
    if new or record.status == "failed":
        record = run_import(session, record.id, content, now, progress)
    return record, new


def report_rows(record: SponsorImport, outcome: str | None = None) -> list[dict[str, Any]]:
    """The per-row report of a finished import, optionally of one outcome only."""
    return csv_files.report_rows(record.report, outcome)


def import_for(session: DbSession, actor: StaffUser, import_id: int) -> SponsorImport:
    """An import of a programme the caller may see."""
    record = session.get(SponsorImport, import_id)
    if record is not None:
        programme_for(session, actor, record.programme_id)  # a 404 for another branch's
        return record
    raise NotFound(gettext("There is no sponsor import %(id)s.", id=import_id))


def keep_upload(session: DbSession, import_id: int, content: bytes, now: datetime) -> None:
    """Keep a large file in the database for its worker, which may run on another host, and commit; the same file
    again (an upload resuming the import) changes nothing."""
    record = session.get(SponsorImport, import_id)
    if record is None or hashlib.sha256(content).hexdigest() != record.file_sha256:
        raise ValueError(f"the content is not the file of sponsor import {import_id}")
    blobs.put(session, UPLOAD_KIND, str(import_id), content, now)
    session.commit()


def not_queued(session: DbSession, import_id: int, now: datetime) -> None:
    """A kept file that no worker will run (the queue could not be reached): the import failed, the file goes (the
    same upload later keeps it again and resumes)."""
    record = session.get(SponsorImport, import_id)
    if record is not None:
        record.status = "failed"
        record.finished_at = now
    blobs.delete(session, UPLOAD_KIND, str(import_id))
    session.commit()


def run_kept_import(
    session: DbSession, import_id: int, now: datetime, old_folder: Path | None = None
) -> SponsorImport | None:
    """Run a queued import with the file kept in the database; None when no file waits (the import ended and let it
    go: a re-run does nothing). ``old_folder``: the instance folder, where the release before kept large files; a
    file left there is taken for one release (upgraded while an import was queued), and removed once imported."""
    old = None if old_folder is None else old_folder / "sponsor-imports" / f"{import_id}.csv"
    return blobs.run_waiting_upload(
        session, UPLOAD_KIND, str(import_id), old, lambda content: run_import(session, import_id, content, now)
    )


# --- one member -------------------------------------------------------------------------------------------------


def add_member(
    session: DbSession, actor: StaffUser, programme_id: int, data: dict[str, Any], now: datetime
) -> RowOutcome:
    """Add one person to a programme by NIK (mid-year too): an existing member of the branch joins it; a new one is
    enrolled from the same fields as a CSV row. A row the import would reject is a 422 naming the field."""
    programme = programme_for(session, actor, programme_id, lock=True)
    today, region = _context(session, programme, now)
    _open_programme(programme, today)
    raw = {k: str(v) if not isinstance(v, date) else f"{v:%Y-%m-%d}" for k, v in data.items() if v is not None}
    nik_digits = "".join(ch for ch in raw.get("nik", "") if ch.isdecimal())
    known = session.scalar(select(Member).where(Member.nik == nik_digits)) if len(nik_digits) == 16 else None
    if known is not None and not raw.get("birth_date"):
        raw["birth_date"] = f"{known.birth_date:%Y-%m-%d}"  # an existing member: the NIK is enough
        raw.setdefault("name", known.name)
    result = check_row(0, raw, today, region)
    if isinstance(result, RowOutcome):
        assert result.field is not None and result.reason is not None
        raise DomainError(result.reason, errors={"json": {result.field: [result.reason]}})
    outcome = _Enrolment(session, programme, today, now, None).write([result])[0]
    if outcome.outcome == Outcome.REJECTED:
        assert outcome.field is not None and outcome.reason is not None
        raise DomainError(outcome.reason, errors={"json": {outcome.field: [outcome.reason]}})
    if outcome.outcome != Outcome.UNCHANGED:
        audit.record(
            session,
            "sponsor_programme.member_added",
            "sponsor_programme",
            programme.id,
            actor.id,
            member_id=outcome.member_id,
            outcome=outcome.outcome,
        )
    session.commit()
    return outcome
