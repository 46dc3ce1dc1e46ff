"""A national export's rows checked one by one (no database): every bad field refused with its message."""

from __future__ import annotations

from datetime import date

import pytest

from collection.members.kpj import kpj_for
from collection.members.rates import Package, default_rate_table
from collection.national.rows import CheckedRow, Outcome, RowOutcome, check_row, parse_package, read_rows
from core.errors import DomainError
from core.months import Month
from tests.factories import nik_for

TODAY = date(2026, 11, 22)
TABLE = default_rate_table()
NIK = nik_for(born=date(1984, 2, 3), serial=7)


def good(**overrides: str) -> dict[str, str]:
    raw = {
        "kpj": "23190000007",
        "nik": NIK,
        "name": "siti aminah",
        "birth_date": "03-02-1984",
        "phone": "0812-3456-7890",
        "occupation": "pedagang pasar",
        "package": "JKK+JKM",
        "declared_income": "1.500.000",
        "period_started_on": "15-03-2024",
        "paid_through": "2026-10",
    }
    raw.update(overrides)
    return raw


def test_a_good_row_keeps_its_kpj_and_finds_its_bracket_and_first_month():
    row = check_row(2, good(), TODAY, TABLE)

    assert isinstance(row, CheckedRow)
    assert (row.kpj, row.bracket, row.declared_income_idr) == ("23190000007", 4, 1_500_000)
    assert (row.first_month, row.paid_through, row.package) == (Month(2024, 3), Month(2026, 10), Package.JKK_JKM)
    assert row.phone == "+6281234567890" and row.nik.district_code == NIK[:6]


def test_a_start_before_the_rate_table_owes_from_its_first_month():
    row = check_row(2, good(period_started_on="01-01-2014", paid_through="2026-10"), TODAY, TABLE)

    assert isinstance(row, CheckedRow) and row.first_month == Month(2015, 7)


def test_a_bracket_alone_is_enough_and_the_income_is_its_lowest():
    row = check_row(2, good(declared_income="", bracket="10"), TODAY, TABLE)

    assert isinstance(row, CheckedRow) and (row.bracket, row.declared_income_idr) == (10, 2_700_000)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kpj", "", "The KPJ is missing"),
        ("kpj", "2319000000", "a KPJ has 11 digits"),
        ("kpj", kpj_for(7), "iuran's own numbering"),
        ("nik", "19710112900", "16"),
        ("birth_date", "04-02-1984", "The NIK gives the date of birth 03-02-1984"),
        ("birth_date", "", "The birth date is missing"),
        ("birth_date", "1984/02", "is not a date"),
        ("name", "", "The name is missing"),
        ("phone", "021-5551234", "mobile"),
        ("occupation", "", "The occupation is missing"),
        ("package", "JHT", "is not a BPU package"),
        ("declared_income", "satu juta", "is not an amount in rupiah"),
        ("bracket", "34", "is not a bracket"),
        ("bracket", "1", "is bracket 4, not 1"),
        ("period_started_on", "", "The start of membership is missing"),
        ("period_started_on", "2024-13-01", "is not a date"),
        ("period_started_on", "01-01-2027", "is in the future"),
        ("period_started_on", "01-01-1995", "members are at least 15"),
        ("paid_through", "Oktober", "is not a month"),
        ("paid_through", "2024-02", "before the first month owed (2024-03)"),
        ("paid_through", "2029-01", "more than 24 months ahead"),
    ],
)
def test_every_bad_field_is_refused_with_its_message(field, value, message):
    outcome = check_row(5, good(**{field: value}), TODAY, TABLE)

    assert isinstance(outcome, RowOutcome)
    assert (outcome.row, outcome.outcome) == (5, Outcome.REJECTED)
    assert outcome.field == field
    assert message in (outcome.reason or ""), outcome.reason


def test_neither_income_nor_bracket_is_refused():
    outcome = check_row(3, good(declared_income="", bracket=""), TODAY, TABLE)

    assert isinstance(outcome, RowOutcome) and outcome.field == "declared_income"


@pytest.mark.parametrize("typed", ["JKK+JKM+JHT", "jkk, jkm, jht", "JHT/JKK/JKM", "JKK + JKM + JHT"])
def test_the_package_is_read_however_it_is_written(typed):
    assert parse_package(typed) == Package.JKK_JKM_JHT


def test_indonesian_headers_with_semicolons_are_read():
    text = (
        "No KPJ;NIK;Nama;Tanggal Lahir;No HP;Pekerjaan;Program;Kelas;Tanggal Kepesertaan;Lunas Sampai\n"
        f"23190000007;{NIK};Siti Aminah;03-02-1984;081234567890;ojek;JKK+JKM+JHT;2;01-06-2025;10/2026\n"
    )
    [(line, raw)] = read_rows(text.encode())
    row = check_row(line, raw, TODAY, TABLE)

    assert isinstance(row, CheckedRow)
    assert (line, row.bracket, row.package, row.paid_through) == (2, 2, Package.JKK_JKM_JHT, Month(2026, 10))


def test_a_header_without_income_or_bracket_is_a_422_naming_both():
    text = f"kpj,nik,name,birth_date,occupation,package,period_started_on,paid_through\n23190000007,{NIK},a,b,c,d,e,f\n"
    with pytest.raises(DomainError) as refused:
        read_rows(text.encode())

    assert "declared_income or bracket" in refused.value.message or "declared_income or bracket" in str(
        refused.value.errors
    )


@pytest.mark.parametrize("header", ["village", "desa", "kelurahan", "Desa/Kelurahan"])
def test_the_village_column_is_optional_and_kept_tidied(header):
    text = f"kpj,nik,name,birth_date,occupation,package,declared_income,period_started_on,paid_through,{header}\n"
    text += f"23190000007,{NIK},siti,03-02-1984,petani,JKK+JKM,1500000,15-03-2024,2026-10,  Bukit   Merapin \n"
    [(line, raw)] = read_rows(text.encode())

    row = check_row(line, raw, TODAY, TABLE)

    assert isinstance(row, CheckedRow) and row.village == "Bukit Merapin"
    without = check_row(2, good(), TODAY, TABLE)
    assert isinstance(without, CheckedRow) and without.village is None
