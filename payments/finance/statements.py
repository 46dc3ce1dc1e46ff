"""Bank statement files: one column mapping per bank, and the parse of a CSV export into credit lines.

Pure: text in, lines or row errors out (in English, each an ``N_`` text of the catalog with its figures: whoever
shows them words them in the reader's language with core/i18n.py ``stored_text``). Every bank exports differently
(column names, date order, thousands separators, debit and credit in two columns or one column with a CR/DB suffix),
so each bank is a :class:`BankFormat` in :data:`BANK_FORMATS`, the one place to add or correct a bank. The
``generic`` format is the fallback any bank's statement can be rewritten into with a spreadsheet.

The bank mappings below are modelled on the banks' usual internet-banking CSV exports; check one
against a real statement of the branch's account before relying on it, and fix the mapping here.

A file with any unreadable row is refused whole, with every bad row named: a bank's export is made by
a machine, so one bad row means the wrong format was chosen, and half a statement would show deposits
as missing that are not. Debit rows (money going out) are counted and skipped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from core.words import N_

MAX_ERRORS_SHOWN = 20
MAX_AMOUNT_IDR = 10**13  # Rp10 trillion: far above any branch credit, and within a BIGINT
FIRST_YEAR, LAST_YEAR = 2000, 2099  # a statement date outside these is a misread column
MAX_DESCRIPTION = 300  # statement_lines.description: the bank's free text is cut to it, at a word
MAX_REFERENCE = 80  # statement_lines.reference: a longer one is a misread column, and its row is refused


@dataclass(frozen=True)
class BankFormat:
    """Where a bank's CSV export keeps each thing, and how it writes dates and amounts."""

    code: str
    label: str
    date_column: str
    date_formats: tuple[str, ...]
    description_columns: tuple[str, ...]
    reference_column: str | None = None
    amount_column: str | None = None  # one signed column (credit positive), or with a CR/DB suffix
    credit_column: str | None = None  # or two columns
    debit_column: str | None = None
    thousands_separator: str = ","
    decimal_separator: str = "."

    def required_columns(self) -> list[str]:
        columns = [self.date_column, *self.description_columns]
        for optional in (self.reference_column, self.amount_column, self.credit_column, self.debit_column):
            if optional:
                columns.append(optional)
        return columns


BANK_FORMATS: dict[str, BankFormat] = {
    "generic": BankFormat(
        code="generic",
        label="Generic: date (YYYY-MM-DD), description, reference, amount (credit positive, debit negative)",
        date_column="date",
        date_formats=("%Y-%m-%d",),
        description_columns=("description",),
        reference_column="reference",
        amount_column="amount",
    ),
    "bri": BankFormat(
        code="bri",
        label="BRI internet banking (Tanggal Transaksi, Uraian Transaksi, Debet, Kredit; 1.500.000,00)",
        date_column="Tanggal Transaksi",
        date_formats=("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y"),
        description_columns=("Uraian Transaksi",),
        debit_column="Debet",
        credit_column="Kredit",
        thousands_separator=".",
        decimal_separator=",",
    ),
    "bca": BankFormat(
        code="bca",
        label="BCA KlikBCA (Tanggal Transaksi, Keterangan, Jumlah with CR/DB; 1,500,000.00 CR)",
        date_column="Tanggal Transaksi",
        date_formats=("%d/%m/%Y",),
        description_columns=("Keterangan",),
        amount_column="Jumlah",
    ),
    "mandiri": BankFormat(
        code="mandiri",
        label="Mandiri (Date, Description, Reference No., Debit, Credit; 1,500,000.00)",
        date_column="Date",
        date_formats=("%d/%m/%Y", "%d/%m/%y"),
        description_columns=("Description",),
        reference_column="Reference No.",
        debit_column="Debit",
        credit_column="Credit",
    ),
}


@dataclass(frozen=True)
class ParsedLine:
    """A credit on the statement: money that came into the branch's account."""

    row_number: int
    booked_on: date
    amount_idr: int
    description: str
    reference: str | None
    line_key: str  # the same credit in an overlapping file has the same key


SEN_CREDIT = "sen"  # the key of a credit with sen (interest): counted and skipped, never a contribution


@dataclass
class ParsedStatement:
    lines: list[ParsedLine] = field(default_factory=list)
    debit_rows: int = 0
    skipped_credits: int = 0  # credits with sen: bank interest and the like, never contributions
    errors: list[str] = field(default_factory=list)  # "row 7, column Kredit: ..."
    first_day: date | None = None  # the days the statement's transactions span, debits included
    last_day: date | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


class StatementFormatError(ValueError):
    """The file cannot be read with the chosen format at all (no header, missing columns)."""


def normalise(text: str) -> str:
    """Letters and digits only, upper case: how references are compared across banks' spellings."""
    return re.sub(r"[^0-9A-Z]", "", text.upper())


def parse_amount(text: str, bank: BankFormat) -> int:
    """Whole rupiah from a bank's way of writing it; a sign or a CR/DB suffix gives the direction."""
    amount = read_amount(text, bank)
    if amount.has_sen:
        raise ValueError(N_("'%(text)s' has sen; contributions are whole rupiah") % {"text": text})
    return amount.signed_idr


@dataclass(frozen=True)
class Amount:
    rupiah: int  # whole rupiah, not signed
    has_sen: bool  # interest and tax on interest have sen; contributions never do
    debit: bool  # money going out

    @property
    def signed_idr(self) -> int:
        return -self.rupiah if self.debit else self.rupiah

    @property
    def zero(self) -> bool:
        return self.rupiah == 0 and not self.has_sen


MAX_FRACTION_DIGITS = 4  # sen and beyond: a bank writes 2


def read_amount(text: str, bank: BankFormat) -> Amount:
    """An amount as a bank writes it: a sign, brackets or a CR/DB suffix give the direction."""
    raw = text.strip().upper().replace("RP", "").replace(" ", "")
    sign = 1
    if raw.endswith("CR"):
        raw = raw[:-2]
    elif raw.endswith("DB") or raw.endswith("DR"):
        raw, sign = raw[:-2], -1
    if raw.startswith("(") and raw.endswith(")"):
        raw, sign = raw[1:-1], -sign
    if raw.startswith("-"):
        raw, sign = raw[1:], -sign
    elif raw.startswith("+"):
        raw = raw[1:]
    whole, _, fraction = raw.partition(bank.decimal_separator) if bank.decimal_separator in raw else (raw, "", "")
    if bank.thousands_separator:
        groups = whole.split(bank.thousands_separator)
        if len(groups) > 1 and (not groups[0] or any(len(g) != 3 for g in groups[1:])):
            raise ValueError(_not_an_amount(text, bank))
        whole = "".join(groups)
    if not whole.isdecimal() or (fraction and not fraction.isdecimal()) or len(fraction) > MAX_FRACTION_DIGITS:
        raise ValueError(_not_an_amount(text[:40], bank))
    if len(whole.lstrip("0")) > len(str(MAX_AMOUNT_IDR)) or int(whole) > MAX_AMOUNT_IDR:  # int() stops at 4,300 digits
        raise ValueError(
            N_("'%(text)s' is more than %(max)s: check the column mapping")
            % {"text": text[:40], "max": f"Rp{MAX_AMOUNT_IDR:,}".replace(",", ".")}
        )
    return Amount(int(whole), bool(fraction) and int(fraction) != 0, sign < 0)


def _not_an_amount(text: str, bank: BankFormat) -> str:
    example = f"1{bank.thousands_separator}500{bank.thousands_separator}000{bank.decimal_separator}00"
    return N_("'%(text)s' is not an amount in this bank's format (like %(example)s)") % {
        "text": text,
        "example": example,
    }


def _parse_date(text: str, bank: BankFormat) -> date:
    return _read_date(text.strip(), bank.date_formats)


@lru_cache(maxsize=4096)  # a statement has a few dozen distinct days in 100,000 rows
def _read_date(value: str, date_formats: tuple[str, ...]) -> date:
    for pattern in date_formats:
        try:
            day = datetime.strptime(value, pattern).date()
        except ValueError:
            continue
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValueError(
                N_("'%(value)s' is outside %(first)s–%(last)s: check the date column")
                % {"value": value, "first": FIRST_YEAR, "last": LAST_YEAR}
            )
        return day
    written = " / ".join(datetime(2026, 11, 22).strftime(p) for p in date_formats)
    raise ValueError(
        N_("'%(value)s' is not a date in this bank's format (write it like %(example)s)")
        % {"value": value, "example": written}
    )


def _rows(text: str) -> list[list[str]]:
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect)]


def _find_header(rows: Sequence[Sequence[str]], bank: BankFormat) -> int:
    """Banks put account details above the table: the header is the first row naming the date column."""
    wanted = bank.date_column.strip().lower()
    for index, row in enumerate(rows[:30]):
        if any(cell.strip().lower() == wanted for cell in row):
            return index
    raise StatementFormatError(
        N_(
            "No header row with a '%(column)s' column in the first 30 rows: this does not look like a '%(bank)s' "
            "statement. Formats: %(formats)s."
        )
        % {"column": bank.date_column, "bank": bank.code, "formats": ", ".join(sorted(BANK_FORMATS))}
    )


def parse_statement(text: str, bank: BankFormat, on_row: Callable[[int], None] | None = None) -> ParsedStatement:
    """The credit lines of a statement export, or the rows that could not be read and why."""
    if "\x00" in text:
        raise StatementFormatError(N_("The file is not text: export the statement as CSV."))
    rows = _rows(text.lstrip("\ufeff"))
    header_at, at = _header(rows, bank)
    result = ParsedStatement()
    seen: Counter[tuple[object, ...]] = Counter()
    for offset, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if on_row:
            on_row(1)
        if not any(cell.strip() for cell in row):
            continue
        if _is_summary(_cell(row, at, bank.date_column)):
            continue  # "Saldo Awal", "Total Mutasi", "Saldo Akhir": the bank's own totals, not transactions
        try:
            line = _parse_row(row, at, bank, offset)
        except ValueError as error:
            if len(result.errors) < MAX_ERRORS_SHOWN:
                result.errors.append(N_("row %(row)s: %(problem)s") % {"row": offset, "problem": error})
            elif len(result.errors) == MAX_ERRORS_SHOWN:
                result.errors.append(N_("… and more rows like these"))
            continue
        if line is None:
            continue
        if line.line_key == SEN_CREDIT:
            result.skipped_credits += 1
            continue
        result.first_day = min(result.first_day or line.booked_on, line.booked_on)
        result.last_day = max(result.last_day or line.booked_on, line.booked_on)
        if line.amount_idr < 0:
            result.debit_rows += 1
            continue
        # Keyed by the whole description, as before descriptions were cut to their column: a line imported
        # then keeps its key, and an overlapping statement does not add it again.
        identity = (line.booked_on, line.amount_idr, normalise(line.description), normalise(line.reference or ""))
        seen[identity] += 1
        key = hashlib.sha256(repr((*identity, seen[identity])).encode()).hexdigest()[:40]
        description = cut_at_word(line.description, MAX_DESCRIPTION)
        result.lines.append(
            ParsedLine(line.row_number, line.booked_on, line.amount_idr, description, line.reference, key)
        )
    return result


def cut_at_word(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, never ending in part of a word: half a reference kept could
    name another deposit (``BRI77810`` cut to ``BRI7781``)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    if re.match(r"[0-9A-Za-z]", text[limit]):
        cut = re.sub(r"[0-9A-Za-z]+$", "", cut) or cut
    return cut.rstrip()


def _header(rows: Sequence[Sequence[str]], bank: BankFormat) -> tuple[int, dict[str, int]]:
    """The header row's index and where each column the format needs is; refused when one is missing."""
    header_at = _find_header(rows, bank)
    header = [cell.strip().lower() for cell in rows[header_at]]
    missing = [c for c in bank.required_columns() if c.lower() not in header]
    if missing:
        found = ", ".join(cell for cell in rows[header_at] if cell.strip())
        raise StatementFormatError(
            N_("The '%(bank)s' format needs the column(s) %(missing)s; the file has %(found)s.")
            % {"bank": bank.code, "missing": ", ".join(missing), "found": found}
        )
    return header_at, {name: header.index(name.lower()) for name in bank.required_columns()}


def check_columns(first_lines: Sequence[str], bank: BankFormat) -> None:
    """Refuse (:class:`StatementFormatError`) the start of a file that has no header of the bank's format."""
    text = "\n".join(first_lines)
    if "\x00" in text:
        raise StatementFormatError(N_("The file is not text: export the statement as CSV."))
    _header(_rows(text.lstrip("\ufeff")), bank)


def _is_summary(date_cell: str) -> bool:
    """A row whose date cell holds words and no digits: a balance or total line above or below the table."""
    return bool(re.search(r"[A-Za-z]", date_cell)) and not re.search(r"\d", date_cell)


def _cell(row: Sequence[str], at: dict[str, int], column: str | None) -> str:
    if column is None:
        return ""
    index = at[column]
    return row[index].strip() if index < len(row) else ""


def _in_column(column: str | None, error: ValueError) -> str:
    return N_("column %(column)s: %(problem)s") % {"column": column, "problem": error}


def _parse_row(row: Sequence[str], at: dict[str, int], bank: BankFormat, row_number: int) -> ParsedLine | None:
    date_text = _cell(row, at, bank.date_column)
    if not date_text:
        raise ValueError(N_("column %(column)s is empty") % {"column": bank.date_column})
    try:
        booked_on = _parse_date(date_text, bank)
    except ValueError as error:
        raise ValueError(_in_column(bank.date_column, error)) from None
    if bank.amount_column:
        column = bank.amount_column
        try:
            amount = read_amount(_cell(row, at, column), bank)
        except ValueError as error:
            raise ValueError(_in_column(column, error)) from None
    else:
        assert bank.credit_column and bank.debit_column
        credit_text, debit_text = _cell(row, at, bank.credit_column), _cell(row, at, bank.debit_column)
        nothing = Amount(0, False, False)
        try:
            credit = read_amount(credit_text, bank) if credit_text else nothing
        except ValueError as error:
            raise ValueError(_in_column(bank.credit_column, error)) from None
        try:
            debit = read_amount(debit_text, bank) if debit_text else nothing
        except ValueError as error:
            raise ValueError(_in_column(bank.debit_column, error)) from None
        if not credit.zero and not debit.zero:
            raise ValueError(
                N_("both %(credit)s and %(debit)s are filled in")
                % {"credit": bank.credit_column, "debit": bank.debit_column}
            )
        amount = credit if not credit.zero else Amount(debit.rupiah, debit.has_sen, not debit.debit)
    if amount.zero:
        return None  # a balance line or a zero correction: no money moved
    if amount.debit:
        return ParsedLine(row_number, booked_on, -max(amount.rupiah, 1), "", None, "")
    if amount.has_sen:
        return ParsedLine(row_number, booked_on, 0, "", None, SEN_CREDIT)
    amount_idr = amount.rupiah
    description = " ".join(_cell(row, at, c) for c in bank.description_columns).strip()  # cut once it is keyed
    reference = _cell(row, at, bank.reference_column) or None
    if reference is not None and len(reference) > MAX_REFERENCE:
        raise ValueError(
            N_(
                "column %(column)s: the reference is longer than %(max)s characters ('%(start)s…'): check the column "
                "mapping"
            )
            % {"column": bank.reference_column, "max": MAX_REFERENCE, "start": reference[:20]}
        )
    return ParsedLine(row_number, booked_on, amount_idr, description, reference, "")
