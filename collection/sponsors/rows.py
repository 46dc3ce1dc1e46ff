"""A sponsor's list read and checked row by row: its columns found under any of their usual names, and each
row a member to enrol or a reason to refuse it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from collection.members import nik as nik_rule
from collection.members.names import display_name
from collection.members.rates import Sector
from core.errors import field_error
from core.phones import PhoneError, normalise_phone

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


def check_row(row: int, raw: dict[str, str], today: date, region: tuple[str, str] | None) -> CheckedRow | RowOutcome:
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
    return CheckedRow(row, info, name, phone, occupation, village)
