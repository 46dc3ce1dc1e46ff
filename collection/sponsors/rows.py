"""A sponsor's list read and checked row by row: its columns found under any of their usual names (the reading is
collection/members/csv_files.py, shared with the national import), and each row a member to enrol or a reason to
refuse it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext

from collection.members import csv_files
from collection.members import nik as nik_rule
from collection.members.csv_files import parse_date
from collection.members.names import display_name
from core.phones import PhoneError, normalise_phone

DEFAULT_OCCUPATION = "pekerja rentan"  # a sponsor's list without occupations: the programme's own category
NAME_MAX = 120
TEXT_MAX = 80


COLUMNS = csv_files.PERSON_COLUMNS


REQUIRED_COLUMNS = ("nik", "name", "birth_date")


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
class CheckedRow:
    """A row that passed every check that needs no database."""

    row: int
    nik: nik_rule.NikInfo
    name: str
    phone: str | None
    occupation: str
    village: str | None


def parse_birth_date(value: str) -> date:
    """``DD-MM-YYYY`` (also with / or .) or ``YYYY-MM-DD``; raise ValueError saying how to write it."""
    return parse_date(value)


def read_rows(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows with their line numbers, keyed by our column names; a 422 on the header."""
    return csv_files.read_rows(content, COLUMNS, REQUIRED_COLUMNS, "nik,name,birth_date,…")


def check_row(row: int, raw: dict[str, str], today: date, region: tuple[str, str] | None) -> CheckedRow | RowOutcome:
    """Check a row as a single enrolment would (no database); ``region`` is a government sponsor's (code, name)."""
    typed_nik = raw.get("nik", "")
    nik_digits = "".join(ch for ch in typed_nik if ch.isdecimal()) or typed_nik

    def rejected(field: str, reason: str) -> RowOutcome:
        return RowOutcome(row, nik_digits, Outcome.REJECTED, None, field, reason)

    born: date | None = None
    born_error: str | None = gettext("The birth date is missing: copy it from the KTP card as DD-MM-YYYY.")
    if raw.get("birth_date"):
        try:
            born, born_error = parse_birth_date(raw["birth_date"]), None
        except ValueError as error:
            born_error = str(error)
    if born is not None and born > today:
        return rejected(
            "birth_date",
            gettext(
                "The birth date %(day)s is in the future: check it against the KTP card.", day=born.strftime("%d-%m-%Y")
            ),
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
            gettext(
                "The NIK was issued in %(where)s (%(where_code)s), not in %(region)s (%(region_code)s): the sponsor "
                "pays only for workers registered in its own region.",
                where=where,
                where_code=info.nik[: len(region[0])],
                region=region[1],
                region_code=region[0],
            ),
        )
    name = display_name(raw.get("name", ""))
    if not any(ch.isalpha() for ch in name):
        return rejected("name", gettext("The name is missing: write it as on the KTP card."))
    if len(name) > NAME_MAX:
        return rejected(
            "name", gettext("The name is longer than %(max)s characters: shorten it as on the KTP card.", max=NAME_MAX)
        )

    phone = None
    if raw.get("phone"):
        try:
            phone = normalise_phone(raw["phone"])
        except PhoneError as error:
            return rejected("phone", str(error))
    occupation = " ".join(raw.get("occupation", "").split())[:TEXT_MAX] or DEFAULT_OCCUPATION
    village = " ".join(raw.get("village", "").split())[:TEXT_MAX] or None
    return CheckedRow(row, info, name, phone, occupation, village)
