"""The remittance file's format and the acknowledgement deadline: pure rules, no session, no clock.

The file (README, "Remittance to the national system"): UTF-8 CSV, LF line ends, no BOM. A header line
:data:`COLUMNS`, one line per settled contribution month (an allocation) and one negative line per such month
reversed after an earlier file carried it, then one trailer line
``TRAILER,<branch code>,<sequence>,<business date>,<line count>,<total_idr>,<sha256>``, where the checksum is
the SHA-256 (hex) of every byte before the trailer line (the header and the lines, each with its LF).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from collection.members.due_dates import is_working_day

COLUMNS = ("kpj", "month", "channel", "receipt_number", "paid_on", "amount_idr", "type")
TRAILER = "TRAILER"
SEQUENCE_DIGITS = 6
ACKNOWLEDGEMENT_WORKING_DAYS = 2  # the national system acknowledges a file within 2 working days
EXCLUDED_CHANNELS = ("imported",)  # history loaded from the national system never goes back to it


def file_name(branch_code: str, sequence: int, business_date: date) -> str:
    """``PKP-000001-20261122.csv``."""
    return f"{branch_code}-{sequence:0{SEQUENCE_DIGITS}d}-{business_date:%Y%m%d}.csv"


@dataclass(frozen=True)
class Line:
    kpj: str
    month: str  # YYYY-MM
    channel: str
    receipt_number: str
    paid_on: date
    amount_idr: int  # negative for a reversal
    kind: str  # payment or reversal


@dataclass(frozen=True)
class Written:
    content: bytes
    body_sha256: str
    sha256: str
    line_count: int
    total_idr: int


def _csv_line(values: Iterable[object]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue().encode("utf-8")


def encode_lines(lines: Iterable[Line]) -> Iterator[bytes]:
    """The file's body in chunks: the header, then each line."""
    yield _csv_line(COLUMNS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for count, line in enumerate(lines, start=1):
        paid_on = line.paid_on.isoformat()
        writer.writerow((line.kpj, line.month, line.channel, line.receipt_number, paid_on, line.amount_idr, line.kind))
        if count % 5_000 == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode("utf-8")


def write_file(branch_code: str, sequence: int, business_date: date, lines: Iterable[Line]) -> Written:
    """The whole file from its lines (streamed through the hash), with its control totals."""
    body = hashlib.sha256()
    parts: list[bytes] = []
    count = total = 0

    def counted() -> Iterator[Line]:
        nonlocal count, total
        for line in lines:
            count += 1
            total += line.amount_idr
            yield line

    for chunk in encode_lines(counted()):
        body.update(chunk)
        parts.append(chunk)
    digest = body.hexdigest()
    numbered = f"{sequence:0{SEQUENCE_DIGITS}d}"
    parts.append(_csv_line((TRAILER, branch_code, numbered, business_date.isoformat(), count, total, digest)))
    content = b"".join(parts)
    return Written(content, digest, hashlib.sha256(content).hexdigest(), count, total)


@dataclass(frozen=True)
class Checked:
    line_count: int
    total_idr: int
    body_sha256: str


def check_file(content: bytes) -> Checked:
    """Read a file back and check its trailer against its body (what the national system does); ValueError if
    it does not hold."""
    text = content.decode("utf-8")
    if not text.endswith("\n"):
        raise ValueError("the file must end with a line feed")
    body, _, trailer = text[:-1].rpartition("\n")
    body += "\n"
    fields = next(csv.reader([trailer]))
    if len(fields) != len(COLUMNS) or fields[0] != TRAILER:
        raise ValueError(f"the last line must be the trailer, got {trailer[:80]!r}")
    rows = list(csv.reader(io.StringIO(body)))
    if tuple(rows[0]) != COLUMNS:
        raise ValueError(f"the header must be {','.join(COLUMNS)}")
    count, total, digest = int(fields[4]), int(fields[5]), fields[6]
    if count != len(rows) - 1 or total != sum(int(row[5]) for row in rows[1:]):
        raise ValueError("the trailer's count or total disagrees with the lines")
    if digest != hashlib.sha256(body.encode("utf-8")).hexdigest():
        raise ValueError("the trailer's checksum disagrees with the body")
    return Checked(count, total, digest)


def acknowledgement_due_on(made_on: date, holidays: Collection[date]) -> date:
    """The last day the national system has to acknowledge a file made on ``made_on``: the
    :data:`ACKNOWLEDGEMENT_WORKING_DAYS`-th working day after it (Sundays and the branch's holidays skipped)."""
    day, left = made_on, ACKNOWLEDGEMENT_WORKING_DAYS
    while left:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            left -= 1
    return day


def is_overdue(made_on: date, acknowledged: bool, today: date, holidays: Collection[date]) -> bool:
    """A file not acknowledged after its deadline day has ended."""
    return not acknowledged and today > acknowledgement_due_on(made_on, holidays)
