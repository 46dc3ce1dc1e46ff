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

import csv
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from collection.members import nik as nik_rule
from collection.members.arrears import MemberStatus
from collection.members.kpj import kpj_for
from collection.members.models import Member, MemberNameKey, MembershipPeriod, MemberStatusChange
from collection.members.names import display_name, name_keys
from collection.members.phones import PhoneError, normalise_phone
from collection.members.rates import Sector
from collection.sponsors.models import ProgrammeMember, Sponsor, SponsorImport, SponsorProgramme
from collection.sponsors.programmes import SPONSORED_BRACKET, ProgrammeStatus, SponsorKind, coverage_from, programme_for
from core import audit
from core.clock import local_today
from core.errors import Conflict, DomainError, NotFound, field_error
from core.extensions import DbSession
from core.months import Month
from organisation.models import Branch, StaffUser

CHUNK = 5000  # rows written and committed together (one progress step)
MAX_IMPORT_BYTES = 40_000_000  # 75,000 rows are about 8 MB
INLINE_ROWS = 2000  # the API imports a file this small at once (201); a larger one goes to a worker (202)
DEFAULT_OCCUPATION = "pekerja rentan"  # a sponsor's list without occupations: the programme's own category
NAME_MAX = 120
TEXT_MAX = 80

COLUMNS: dict[str, tuple[str, ...]] = {
    "nik": ("nik", "no_nik", "nomor_nik", "no_ktp", "nomor_induk_kependudukan"),
    "name": ("name", "nama", "nama_lengkap", "nama_peserta", "full_name"),
    "birth_date": ("birth_date", "tanggal_lahir", "tgl_lahir", "date_of_birth", "dob", "lahir"),
    "phone": ("phone", "telepon", "telp", "no_telepon", "no_telp", "no_hp", "nomor_hp", "hp", "handphone"),
    "occupation": ("occupation", "pekerjaan", "jenis_pekerjaan", "profesi"),
    "village": ("village", "desa", "kelurahan", "desa_kelurahan", "kelurahan_desa"),
}
REQUIRED_COLUMNS = ("nik", "name", "birth_date")

# Occupations in the transport sector (PP 50/2025 names online and base ojek drivers, couriers and logistics):
# one rule, a word list matched anywhere in the occupation, lower-cased. Anything else is 'other'.
TRANSPORT_WORDS = (
    "ojek", "ojol", "kurir", "courier", "driver", "sopir", "supir", "pengemudi", "angkot", "becak", "bentor",
    "taksi", "taxi", "ekspedisi", "logistik", "delivery", "motoris",
)  # fmt: skip

Progress = Callable[[int], None]


class Outcome:
    CREATED = "created"
    SPONSORED = "sponsored"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row: ``row`` is its line in the file (the header is line 1)."""

    row: int
    nik: str
    outcome: str
    member_id: int | None = None
    field: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class _Row:
    """A row that passed every check that needs no database."""

    row: int
    nik: nik_rule.NikInfo
    name: str
    phone: str | None
    occupation: str
    village: str | None


def sector_for(occupation: str) -> Sector:
    """Transport when the occupation names a driver, rider or courier (:data:`TRANSPORT_WORDS`), else other."""
    lowered = occupation.lower()
    return Sector.TRANSPORT if any(word in lowered for word in TRANSPORT_WORDS) else Sector.OTHER


def parse_birth_date(value: str) -> date:
    """``DD-MM-YYYY`` (also with / or .) or ``YYYY-MM-DD``; raise ValueError saying how to write it."""
    cleaned = value.strip().replace("/", "-").replace(".", "-")
    parts = cleaned.split("-")
    try:
        if len(parts) == 3 and len(parts[0]) == 4:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        if len(parts) == 3 and len(parts[2]) == 4:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        pass
    raise ValueError(f"'{value.strip()}' is not a date: write the birth date as DD-MM-YYYY (e.g. 17-08-1985).")


# --- reading the file -------------------------------------------------------------------------------------------


def _normal_header(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").replace("/", " ").replace(".", " ").split())


def decode(content: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), else Windows-1252 (what Excel writes)."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("cp1252")
        except UnicodeDecodeError:
            raise field_error(
                "file", "The file is not text in UTF-8 or Windows-1252: save it as CSV.", "files"
            ) from None


def read_rows(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows with their line numbers, keyed by our column names; a 422 on the header."""
    text_ = decode(content)
    lines = text_.splitlines()
    if not lines or not lines[0].strip():
        raise field_error(
            "file", "The file is empty: the first line must name the columns (nik,name,birth_date,…).", "files"
        )
    delimiter = max(",;\t", key=lines[0].count)
    reader = csv.reader(io.StringIO(text_), delimiter=delimiter)
    header = next(reader)
    positions: dict[str, int] = {}
    unknown = []
    for index, raw in enumerate(header):
        name = _normal_header(raw)
        column = next((c for c, aliases in COLUMNS.items() if name in aliases), None)
        if column is None:
            if name:
                unknown.append(raw.strip())
            continue
        if column in positions:
            raise field_error(
                "file", f"Two columns mean '{column}' ({header[positions[column]]!r} and {raw!r}).", "files"
            )
        positions[column] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        accepted = "; ".join(f"{c}: {', '.join(COLUMNS[c])}" for c in missing)
        raise field_error(
            "file",
            f"The header has no column for {', '.join(missing)}. Name the columns on the first line; accepted names "
            f"are {accepted}." + (f" Not understood: {', '.join(unknown)}." if unknown else ""),
            "files",
        )
    rows = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            rows.append(
                (reader.line_num, {c: (record[i].strip() if i < len(record) else "") for c, i in positions.items()})
            )
    except csv.Error as error:
        message = f"Line {reader.line_num} cannot be read ({error}): look for an unclosed quote."
        raise field_error("file", message, "files") from None
    return rows


# --- checking rows ----------------------------------------------------------------------------------------------


def check_row(row: int, raw: dict[str, str], today: date, region: tuple[str, str] | None) -> _Row | RowOutcome:
    """Check a row as a single enrolment would (no database); ``region`` is a government sponsor's (code, name)."""
    typed_nik = raw.get("nik", "")
    nik_digits = "".join(ch for ch in typed_nik if ch.isdecimal()) or typed_nik

    def rejected(field: str, reason: str) -> RowOutcome:
        return RowOutcome(row, nik_digits, Outcome.REJECTED, None, field, reason)

    born: date | None = None
    born_error: str | None = "The birth date is missing: copy it from the KTP card as DD-MM-YYYY."
    if raw.get("birth_date"):
        try:
            born, born_error = parse_birth_date(raw["birth_date"]), None
        except ValueError as error:
            born_error = str(error)
    if born is not None and born > today:
        return rejected(
            "birth_date", f"The birth date {born:%d-%m-%Y} is in the future: check it against the KTP card."
        )
    try:
        info = nik_rule.parse_nik(typed_nik, today, typed_birth_date=born)
    except nik_rule.NikError as error:
        return rejected(error.field, error.message)
    if born_error is not None:
        return rejected("birth_date", born_error)
    if region is not None and not info.nik.startswith(region[0]):
        where = info.province_name if len(region[0]) == 2 else info.regency_name
        return rejected(
            "nik",
            f"The NIK was issued in {where} ({info.nik[: len(region[0])]}), not in {region[1]} ({region[0]}): "
            "the sponsor pays only for workers registered in its own region.",
        )
    name = display_name(raw.get("name", ""))
    if not any(ch.isalpha() for ch in name):
        return rejected("name", "The name is missing: write it as on the KTP card.")
    if len(name) > NAME_MAX:
        return rejected("name", f"The name is longer than {NAME_MAX} characters: shorten it as on the KTP card.")
    phone = None
    if raw.get("phone"):
        try:
            phone = normalise_phone(raw["phone"])
        except PhoneError as error:
            return rejected("phone", str(error))
    occupation = " ".join(raw.get("occupation", "").split())[:TEXT_MAX] or DEFAULT_OCCUPATION
    village = " ".join(raw.get("village", "").split())[:TEXT_MAX] or None
    return _Row(row, info, name, phone, occupation, village)


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

    def write(self, rows: Sequence[_Row]) -> list[RowOutcome]:
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
        new_rows: list[_Row] = []
        joining: list[tuple[_Row, int]] = []
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
                        f"NIK {row.nik.nik} is member {kpj} of branch {branch_id}, not of this programme's branch "
                        f"({self.programme.branch_id}): that branch transfers the member first.",
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
                        f"Member {kpj} pays bracket {bracket} of {package}; the programme pays bracket "
                        f"{SPONSORED_BRACKET} of {self.programme.package}, which would leave part of his "
                        "contribution unpaid: change his terms first, or leave him out.",
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

    def _create(self, rows: Sequence[_Row]) -> dict[str, int]:
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
                    "enrolled_on": self.today,
                    "status": MemberStatus.ACTIVE.value,
                    "first_month": self.covered_from,
                    "paid_through": None,
                    "period_started_on": self.today,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
            )
            keys += [{"member_id": member_id, "key": key} for key in name_keys(row.name)]
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


def insert_rows(session: DbSession, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows with one Core executemany on the session's connection (batched by the driver), without the
    ORM's per-row bookkeeping. Rows must all name the same columns."""
    if rows:
        session.connection().execute(insert(model.__table__), list(rows))


def reserve_ids(session: DbSession, table: str, count: int) -> list[int]:
    """``count`` fresh primary keys for ``table``: from its sequence on PostgreSQL; on SQLite after the largest
    id (the transaction holds SQLite's write lock from BEGIN IMMEDIATE, so nobody else can take them)."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": count}
        )
        return [int(value) for (value,) in rows]
    largest = session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
    return list(range(int(largest) + 1, int(largest) + 1 + count))


# --- the import -------------------------------------------------------------------------------------------------


def _open_programme(programme: SponsorProgramme, today: date) -> None:
    if programme.status != ProgrammeStatus.OPEN:
        raise Conflict(
            f"Programme {programme.code} has ended: its members pay themselves now.", reason="programme_ended"
        )
    if Month.of(today) > programme.last_month:
        raise Conflict(
            f"Programme {programme.code} ran through {programme.last_month}: members can no longer be added.",
            reason="programme_over",
        )


def _context(session: DbSession, programme: SponsorProgramme, now: datetime) -> tuple[date, tuple[str, str] | None]:
    branch = session.get(Branch, programme.branch_id)
    sponsor = session.get(Sponsor, programme.sponsor_id)
    assert branch is not None and sponsor is not None
    region = None
    if sponsor.kind != SponsorKind.DONOR and sponsor.region_code:
        region = (sponsor.region_code, nik_rule.region_name(sponsor.region_code) or sponsor.region_code)
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
        raise field_error("file", f"The file is over {MAX_IMPORT_BYTES // 1_000_000} MB: split it in parts.", "files")
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
        outcomes = _import_rows(session, programme, record, read_rows(content), today, region, now, progress)
    except Exception as error:
        session.rollback()
        failed = session.get(SponsorImport, import_id)
        if failed is not None:
            failed.status = "failed"
            failed.finished_at = now
            session.commit()
        if isinstance(error, IntegrityError):  # a NIK enrolled meanwhile by another import: resume it
            raise Conflict(
                "A member of this file was enrolled by another import at the same moment: upload the same file "
                "again and the import resumes where it stopped."
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
    record.report = json.dumps([_compact(o) for o in outcomes], separators=(",", ":"))
    record.status = "done"
    record.finished_at = now
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
    checked: list[_Row] = []
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
                    row, result.nik.nik, Outcome.REJECTED, None, "nik", f"The NIK is repeated: row {first} has it."
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


def _compact(outcome: RowOutcome) -> dict[str, Any]:
    return {k: v for k, v in asdict(outcome).items() if v is not None}


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
    rows: list[dict[str, Any]] = json.loads(record.report) if record.report else []
    return [r for r in rows if outcome is None or r["outcome"] == outcome]


def import_for(session: DbSession, actor: StaffUser, import_id: int) -> SponsorImport:
    """An import of a programme the caller may see."""
    record = session.get(SponsorImport, import_id)
    if record is not None:
        programme_for(session, actor, record.programme_id)  # a 404 for another branch's
        return record
    raise NotFound(f"There is no sponsor import {import_id}.")


def stored_upload(instance: Path, import_id: int) -> Path:
    """Where a large upload waits for its worker (the instance folder, shared by the web app and the workers)."""
    return instance / "sponsor-imports" / f"{import_id}.csv"


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
