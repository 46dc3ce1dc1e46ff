"""CSV exports that a spreadsheet opens safely: a header row, plain integers, ISO dates, no formulas.

Pure: rows in, text out. Rupiah stay plain integers (``1500000``, never ``Rp1.500.000``) so that a
spreadsheet sums them; dates and times are ISO 8601. A text cell that a spreadsheet would run as a formula
(it begins with ``=``, ``+``, ``-`` or ``@``, or with a tab or carriage return) is written with a leading
apostrophe: a bank description or a member's name is data, never a formula (CSV injection). The text
starts with a UTF-8 byte order mark, so that Excel shows names with their accents.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from enum import Enum

FORMULA_STARTS = ("=", "+", "-", "@")
CONTROL_STARTS = ("\t", "\r", "\n")
BOM = "\ufeff"


def safe_cell(value: object) -> str | int:
    """One value as a CSV cell: integers stay numbers, dates are ISO, text cannot start a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value  # a number is not a formula, even a negative one
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    text = value.value if isinstance(value, Enum) else value
    text = str(text)
    if text.startswith(CONTROL_STARTS) or text.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole file: a byte order mark, the header row, then one line per row (CRLF, as RFC 4180 says)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    width = len(header)
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a row has {len(row)} cells; the header has {width}")
        writer.writerow([safe_cell(cell) for cell in row])
    return BOM + buffer.getvalue()


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]], every: int = 1000) -> Iterator[str]:
    """The same text as ``csv_text``, given out ``every`` rows at a time: for a streamed response that never
    holds the whole file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    yield BOM + buffer.getvalue()
    width, count = len(header), 0
    buffer.seek(0)
    buffer.truncate()
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a row has {len(row)} cells; the header has {width}")
        writer.writerow([safe_cell(cell) for cell in row])
        count += 1
        if count % every == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def csv_filename(*parts: object) -> str:
    """A download name from its parts, ``batches-PKP-2026-11-19.csv``: letters, digits, dots and dashes only."""
    words = [str(p.isoformat() if isinstance(p, date) else p) for p in parts if p is not None and p != ""]
    name = "-".join(words)
    cleaned = "".join(c if (c.isalnum() and c.isascii()) or c in ".-_" else "-" for c in name).strip("-.")
    return (cleaned or "export") + ".csv"
