"""A national export read and checked row by row (no database): each row a member to load, with his KPJ kept, his
package and bracket, the start of his membership and the month he has paid through; or the reason to refuse it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext

from collection.members import csv_files
from collection.members import nik as nik_rule
from collection.members.csv_files import parse_date
from collection.members.kpj import KpjError, national_kpj
from collection.members.names import display_name
from collection.members.nik import MEMBER_MIN_AGE
from collection.members.rates import Package, RateError, RateTable
from collection.members.schemas import MAX_INCOME_IDR
from core.errors import field_error
from core.i18n import rupiah
from core.months import Month
from core.phones import PhoneError, normalise_phone

NAME_MAX = 120
TEXT_MAX = 80
PAID_AHEAD_MONTHS = 24  # as far ahead as iuran lets anyone pay (collection/members/position.py)

COLUMNS: dict[str, tuple[str, ...]] = {
    "kpj": ("kpj", "no_kpj", "nomor_kpj", "kpj_number", "no_peserta", "nomor_peserta"),
    **csv_files.PERSON_COLUMNS,
    "package": ("package", "program", "paket", "program_bpjs", "programs"),
    "declared_income": (
        "declared_income", "declared_income_idr", "income", "penghasilan", "upah", "penghasilan_sebulan",
        "upah_dilaporkan",
    ),
    "bracket": ("bracket", "kelas", "kelas_iuran", "golongan"),
    "period_started_on": (
        "period_started_on", "tanggal_kepesertaan", "tgl_kepesertaan", "mulai", "tanggal_mulai", "mulai_kepesertaan",
    ),
    "paid_through": ("paid_through", "lunas_sampai", "iuran_terakhir", "bulan_terakhir", "dibayar_sampai"),
}  # fmt: skip
REQUIRED_COLUMNS = ("kpj", "nik", "name", "birth_date", "occupation", "package", "period_started_on", "paid_through")
EXAMPLE_HEADER = "kpj,nik,name,birth_date,phone,occupation,package,declared_income,period_started_on,paid_through"


class Outcome:
    CREATED = "created"
    EXISTING = "existing"  # the NIK is a member of iuran already: reported, not duplicated
    UNCHANGED = "unchanged"  # brought in by an earlier import of the national system
    REJECTED = "rejected"


@dataclass(frozen=True)
class RowOutcome:
    """What became of one row: ``row`` is its line in the file (the header is line 1)."""

    row: int
    kpj: str
    nik: str
    outcome: str
    member_id: int | None = None
    field: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CheckedRow:
    """A row that passed every check that needs no database."""

    row: int
    kpj: str
    nik: nik_rule.NikInfo
    name: str
    phone: str | None
    occupation: str
    village: str | None
    package: Package
    declared_income_idr: int
    bracket: int
    period_started_on: date
    first_month: Month  # the first month owed: the start's month, or the rate table's first if that is later
    paid_through: Month | None  # None: nothing paid


def read_rows(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """The export's data rows with their line numbers, keyed by our column names; a 422 on the header."""
    rows = csv_files.read_rows(content, COLUMNS, REQUIRED_COLUMNS, EXAMPLE_HEADER)
    if rows and "declared_income" not in rows[0][1] and "bracket" not in rows[0][1]:
        accepted = ", ".join(COLUMNS["declared_income"] + COLUMNS["bracket"])
        raise field_error(
            "file",
            gettext(
                "The header has no column for declared_income or bracket (one is needed): %(accepted)s.",
                accepted=accepted,
            ),
            "files",
        )
    return rows


def parse_package(value: str) -> Package:
    """``JKK+JKM`` or ``JKK+JKM+JHT``, written with +, commas, slashes or spaces, in any case and order."""
    parts = {
        p for p in value.upper().replace(",", "+").replace("/", "+").replace("&", "+").replace(" ", "+").split("+")
    }
    parts.discard("")
    for package in Package:
        if parts == set(package.value.split("+")):
            return package
    raise ValueError(gettext("'%(value)s' is not a BPU package: write JKK+JKM or JKK+JKM+JHT.", value=value.strip()))


def parse_rupiah(value: str) -> int:
    """Whole rupiah as exports write them: ``1500000``, ``1.500.000``, ``Rp 1.500.000,00``."""
    cleaned = value.strip().upper().removeprefix("RP").strip()
    for cents in (",00", ".00"):
        if cleaned.endswith(cents) and len(cleaned) > 3:
            cleaned = cleaned[: -len(cents)]
    digits = cleaned.replace(".", "").replace(",", "").replace(" ", "")
    if not digits.isdecimal():
        raise ValueError(
            gettext(
                "'%(value)s' is not an amount in rupiah: write the monthly income, e.g. 1500000.", value=value.strip()
            )
        )
    return int(digits)


def parse_month(value: str) -> Month:
    """``YYYY-MM`` (also ``YYYY/MM``, ``MM-YYYY``, ``MM/YYYY``)."""
    parts = value.strip().replace("/", "-").replace(".", "-").split("-")
    try:
        if len(parts) == 2 and len(parts[0]) == 4:
            return Month(int(parts[0]), int(parts[1]))
        if len(parts) == 2 and len(parts[1]) == 4:
            return Month(int(parts[1]), int(parts[0]))
    except ValueError:
        pass
    raise ValueError(
        gettext("'%(value)s' is not a month: write the last month paid as YYYY-MM (e.g. 2026-03).", value=value.strip())
    )


def check_row(row: int, raw: dict[str, str], today: date, table: RateTable) -> CheckedRow | RowOutcome:
    """Check a row as an enrolment would, plus the KPJ, the package, the bracket and the months paid."""
    typed_nik = raw.get("nik", "")
    nik_digits = "".join(ch for ch in typed_nik if ch.isdecimal()) or typed_nik
    typed_kpj = raw.get("kpj", "")

    def rejected(field: str, reason: str) -> RowOutcome:
        kpj = "".join(ch for ch in typed_kpj if ch.isdecimal()) or typed_kpj
        return RowOutcome(row, kpj, nik_digits, Outcome.REJECTED, None, field, reason)

    try:
        kpj = national_kpj(typed_kpj)
    except KpjError as error:
        return rejected("kpj", str(error))
    born: date | None = None
    born_error: str | None = gettext("The birth date is missing: copy it from the export as DD-MM-YYYY.")
    if raw.get("birth_date"):
        try:
            born, born_error = parse_date(raw["birth_date"]), None
        except ValueError as error:
            born_error = str(error)
    if born is not None and born > today:
        return rejected(
            "birth_date",
            gettext(
                "The birth date %(day)s is in the future: check it against the KTP.", day=born.strftime("%d-%m-%Y")
            ),
        )
    try:
        info = nik_rule.parse_nik(typed_nik, today, typed_birth_date=born)
    except nik_rule.NikError as error:
        return rejected(error.field, error.message)
    if born_error is not None:
        return rejected("birth_date", born_error)
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
    occupation = " ".join(raw.get("occupation", "").split())[:TEXT_MAX]
    if not occupation:
        return rejected("occupation", gettext("The occupation is missing: it decides the sector (transport or other)."))
    village = " ".join(raw.get("village", "").split())[:TEXT_MAX] or None
    try:
        package = parse_package(raw.get("package", ""))
    except ValueError as error:
        return rejected("package", str(error))
    try:
        income, bracket = _bracket(raw, today, table)
    except _FieldError as error:
        return rejected(error.field, str(error))
    if not raw.get("period_started_on"):
        return rejected("period_started_on", gettext("The start of membership is missing: copy it as DD-MM-YYYY."))
    try:
        started = parse_date(raw["period_started_on"], gettext("start of membership"), "01-03-2024")
    except ValueError as error:
        return rejected("period_started_on", str(error))
    if started > today:
        return rejected(
            "period_started_on",
            gettext("The start of membership %(day)s is in the future.", day=started.strftime("%d-%m-%Y")),
        )
    age_then = (
        started.year
        - info.birth_date.year
        - ((started.month, started.day) < (info.birth_date.month, info.birth_date.day))
    )
    if age_then < MEMBER_MIN_AGE:
        return rejected(
            "period_started_on",
            gettext(
                "The member was %(age)s on %(day)s: members are at least %(min_age)s. Check the start of membership "
                "and the birth date.",
                age=age_then,
                day=started.strftime("%d-%m-%Y"),
                min_age=MEMBER_MIN_AGE,
            ),
        )
    first_month = max(Month.of(started), min(s.effective_from for s in table.schedules))
    paid_through = None
    if raw.get("paid_through"):
        try:
            paid_through = parse_month(raw["paid_through"])
        except ValueError as error:
            return rejected("paid_through", str(error))
        if paid_through < first_month:
            return rejected(
                "paid_through",
                gettext(
                    "Paid through %(month)s is before the first month owed (%(first)s): leave it empty when nothing "
                    "was paid.",
                    month=str(paid_through),
                    first=str(first_month),
                ),
            )
        if paid_through > Month.of(today) + PAID_AHEAD_MONTHS:
            return rejected(
                "paid_through",
                gettext(
                    "Paid through %(month)s is more than %(months)s months ahead: check the export.",
                    month=str(paid_through),
                    months=PAID_AHEAD_MONTHS,
                ),
            )
    return CheckedRow(
        row, kpj, info, name, phone, occupation, village, package, income, bracket, started, first_month, paid_through
    )


class _FieldError(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def _bracket(raw: dict[str, str], today: date, table: RateTable) -> tuple[int, int]:
    """(declared income, bracket) from either or both columns; _FieldError naming the column at fault."""
    month = Month.of(today)
    income: int | None = None
    if raw.get("declared_income"):
        try:
            income = parse_rupiah(raw["declared_income"])
            if income > MAX_INCOME_IDR:
                raise ValueError(
                    gettext(
                        "'%(value)s' is more than any monthly income: check it.",
                        value=raw["declared_income"].strip()[:40],
                    )
                )
            by_income = table.bracket_for_income(income, month).number
        except (ValueError, RateError) as error:
            raise _FieldError("declared_income", str(error)) from None
    number: int | None = None
    if raw.get("bracket"):
        typed = raw["bracket"].strip()
        try:
            number = table.bracket(int(typed), month).number
        except (ValueError, RateError):
            brackets = len(table.schedule_for(month).brackets)
            raise _FieldError(
                "bracket",
                gettext(
                    "'%(typed)s' is not a bracket: write its number, 1 to %(brackets)s.", typed=typed, brackets=brackets
                ),
            ) from None
    if income is None and number is None:
        raise _FieldError(
            "declared_income", gettext("The declared income (or the bracket) is missing: copy one from the export.")
        )
    if income is not None and number is not None and number != by_income:
        raise _FieldError(
            "bracket",
            gettext(
                "An income of %(income)s is bracket %(bracket)s, not %(given)s: correct one.",
                income=rupiah(income),
                bracket=by_income,
                given=number,
            ),
        )
    if income is None:
        assert number is not None
        return table.bracket(number, month).income_from_idr, number
    return income, by_income
