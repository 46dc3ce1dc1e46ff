"""Members' lists read from CSV (a sponsor's list, a national export): the text decoded, the header's columns
found under any of their usual names, each data row keyed by our column names with its line number."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from flask_babel import gettext

from core.errors import field_error
from core.i18n import stored_text

Columns = Mapping[str, Sequence[str]]  # our column name -> the header names accepted for it

# A person's columns as members' lists name them (English, or Indonesian as exports and spreadsheets write them).
PERSON_COLUMNS: dict[str, tuple[str, ...]] = {
    "nik": ("nik", "no_nik", "nomor_nik", "no_ktp", "nomor_induk_kependudukan"),
    "name": ("name", "nama", "nama_lengkap", "nama_peserta", "full_name"),
    "birth_date": ("birth_date", "tanggal_lahir", "tgl_lahir", "date_of_birth", "dob", "lahir"),
    "phone": ("phone", "telepon", "telp", "no_telepon", "no_telp", "no_hp", "nomor_hp", "hp", "handphone"),
    "occupation": ("occupation", "pekerjaan", "jenis_pekerjaan", "profesi"),
    "village": ("village", "desa", "kelurahan", "desa_kelurahan", "kelurahan_desa"),
}


def normal_header(name: str) -> str:
    """A header name as compared: lower case, words joined by '_' ('No. KPJ' and 'no-kpj' are 'no_kpj')."""
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
                "file", gettext("The file is not text in UTF-8 or Windows-1252: save it as CSV."), "files"
            ) from None


def read_rows(
    content: bytes, columns: Columns, required: Sequence[str], example: str
) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows with their line numbers, keyed by our column names; a 422 on the header. Comma,
    semicolon or tab separated (whichever the header has most of); blank lines are skipped."""
    text_ = decode(content)
    lines = text_.splitlines()
    if not lines or not lines[0].strip():
        raise field_error(
            "file",
            gettext("The file is empty: the first line must name the columns (%(example)s).", example=example),
            "files",
        )
    delimiter = max(",;\t", key=lines[0].count)
    reader = csv.reader(io.StringIO(text_), delimiter=delimiter)
    header = next(reader)
    positions: dict[str, int] = {}
    unknown = []
    for index, raw in enumerate(header):
        name = normal_header(raw)
        column = next((c for c, aliases in columns.items() if name in aliases), None)
        if column is None:
            if name:
                unknown.append(raw.strip())
            continue
        if column in positions:
            raise field_error(
                "file",
                gettext(
                    "Two columns mean '%(column)s' (%(first)s and %(second)s).",
                    column=column,
                    first=repr(header[positions[column]]),
                    second=repr(raw),
                ),
                "files",
            )
        positions[column] = index
    missing = [c for c in required if c not in positions]
    if missing:
        accepted = "; ".join(f"{c}: {', '.join(columns[c])}" for c in missing)
        raise field_error(
            "file",
            gettext(
                "The header has no column for %(missing)s. Name the columns on the first line; accepted names are "
                "%(accepted)s.",
                missing=", ".join(missing),
                accepted=accepted,
            )
            + (" " + gettext("Not understood: %(unknown)s.", unknown=", ".join(unknown)) if unknown else ""),
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
        message = gettext(
            "Line %(line)s cannot be read (%(error)s): look for an unclosed quote.", line=reader.line_num, error=error
        )
        raise field_error("file", message, "files") from None
    return rows


def parse_date(value: str, what: str | None = None, example: str = "17-08-1985") -> date:
    """``DD-MM-YYYY`` (also with / or .) or ``YYYY-MM-DD``; raise ValueError saying how to write it (``what``: the
    reader's words for the date, the birth date unless given)."""
    cleaned = value.strip().replace("/", "-").replace(".", "-")
    parts = cleaned.split("-")
    try:
        if len(parts) == 3 and len(parts[0]) == 4:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        if len(parts) == 3 and len(parts[2]) == 4:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        pass
    raise ValueError(
        gettext(
            "'%(value)s' is not a date: write the %(what)s as DD-MM-YYYY (e.g. %(example)s).",
            value=value.strip(),
            what=what or gettext("birth date"),
            example=example,
        )
    )


def report_text(outcomes: Sequence[Any]) -> str:
    """An import's per-row report as stored: each row's outcome (a dataclass) without its empty fields."""
    rows = [{k: v for k, v in vars(o).items() if v is not None} for o in outcomes]  # fields in order, no deep copy
    return json.dumps(rows, separators=(",", ":"))


def worded_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Report rows with their reasons in the reader's language: a report stores them in English, for every reader
    (core/i18n.py ``stored_text`` finds each back in the catalogs; a reason no catalog holds is shown as stored)."""
    return [row | {"reason": stored_text(row["reason"])} if row.get("reason") else row for row in rows]


def report_rows(report: str | None, outcome: str | None = None) -> list[dict[str, Any]]:
    """A stored per-row report read back, optionally the rows of one outcome only."""
    rows: list[dict[str, Any]] = json.loads(report) if report else []
    return [r for r in rows if outcome is None or r["outcome"] == outcome]
