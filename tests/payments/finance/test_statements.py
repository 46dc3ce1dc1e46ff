"""Bank statement files: each bank's mapping, amounts as banks write them, bad rows, overlapping files."""

from __future__ import annotations

from datetime import date

import pytest

from payments.finance.statements import BANK_FORMATS, StatementFormatError, normalise, parse_amount, parse_statement

BRI = """Rekening,0123-01-000123-30-1
Nama,BPJS KETENAGAKERJAAN KC PANGKALPINANG
Periode,18/11/2026 - 21/11/2026

Tanggal Transaksi,Uraian Transaksi,Teller,Debet,Kredit,Saldo
18/11/2026,SALDO AWAL,,,,"10.000.000,00"
19/11/2026,SETORAN TUNAI BRI-7781 AGEN BUDI,0001,,"25.200,00","10.025.200,00"
19/11/2026,BIAYA ADM,0000,"5.000,00",,"10.020.200,00"
20/11/2026,TRF DARI PEMDA BANGKA,0000,,"1.000.000,00","11.020.200,00"
Saldo Akhir,,,,,"11.020.200,00"
"""

BCA = """Tanggal Transaksi,Keterangan,Cabang,Jumlah,,Saldo
19/11/2026,SETORAN TUNAI SETOR-C-1,0012,"16,800.00",CR,"1,016,800.00"
19/11/2026,BIAYA ADMIN,0000,"2,500.00 DB",,"1,014,300.00"
"""

MANDIRI = """Account No,Date,Val. Date,Transaction Code,Description,Reference No.,Debit,Credit
1230001234567,20/11/26,20/11/26,1001,MIDTRANS SETTLEMENT,MT-20261120,,"33,600.00"
1230001234567,20/11/26,20/11/26,1001,ADM,,"1,000.00",
"""

GENERIC = """date,description,reference,amount
2026-11-19,SETORAN TUNAI,ABC123,16800
2026-11-19,SETORAN TUNAI,ABC123,16800
2026-11-19,BIAYA,,-2500
"""


def test_bri_rows_above_the_table_balances_and_debits_are_left_out():
    parsed = parse_statement(BRI, BANK_FORMATS["bri"])

    assert parsed.ok, parsed.errors
    assert [(line.booked_on, line.amount_idr) for line in parsed.lines] == [
        (date(2026, 11, 19), 25_200),
        (date(2026, 11, 20), 1_000_000),
    ]
    assert parsed.lines[0].description == "SETORAN TUNAI BRI-7781 AGEN BUDI"
    assert parsed.lines[0].row_number == 7
    assert parsed.debit_rows == 1


def test_bca_amounts_with_a_cr_or_db_suffix():
    parsed = parse_statement(BCA, BANK_FORMATS["bca"])

    assert parsed.ok, parsed.errors
    assert [line.amount_idr for line in parsed.lines] == [16_800]
    assert parsed.debit_rows == 1


def test_mandiri_reference_column_and_two_digit_years():
    parsed = parse_statement(MANDIRI, BANK_FORMATS["mandiri"])

    assert parsed.ok, parsed.errors
    (line,) = parsed.lines
    assert (line.booked_on, line.amount_idr, line.reference) == (date(2026, 11, 20), 33_600, "MT-20261120")


def test_identical_lines_in_one_file_are_two_credits_with_different_keys():
    parsed = parse_statement(GENERIC, BANK_FORMATS["generic"])

    assert [line.amount_idr for line in parsed.lines] == [16_800, 16_800]
    assert parsed.lines[0].line_key != parsed.lines[1].line_key
    assert parsed.debit_rows == 1


def test_an_overlapping_file_gives_the_same_keys_for_the_same_credits():
    first = parse_statement(GENERIC, BANK_FORMATS["generic"])
    overlapping = parse_statement(GENERIC + "2026-11-20,SETORAN TUNAI,XYZ999,50000\n", BANK_FORMATS["generic"])

    assert {line.line_key for line in first.lines} < {line.line_key for line in overlapping.lines}
    assert len(overlapping.lines) == 3


@pytest.mark.parametrize(
    ("text", "bank", "expected"),
    [
        ("1.500.000,00", "bri", 1_500_000),
        ("1,500,000.00", "bca", 1_500_000),
        ("1,500,000.00 CR", "bca", 1_500_000),
        ("1,500,000.00 DB", "bca", -1_500_000),
        ("-250000", "generic", -250_000),
        ("(2,500.00)", "mandiri", -2_500),
        ("Rp 16.800", "bri", 16_800),
        ("16800", "bri", 16_800),
    ],
)
def test_amounts_as_banks_write_them(text, bank, expected):
    assert parse_amount(text, BANK_FORMATS[bank]) == expected


@pytest.mark.parametrize(
    ("text", "bank", "says"),
    [
        ("1.500.000,50", "bri", "sen"),
        ("1,500,000.00", "bri", "not an amount"),  # BCA's way, read with BRI's mapping
        ("15.00.000", "bri", "not an amount"),
        ("abc", "generic", "not an amount"),
        ("9" * 5000, "generic", "more than"),  # past Python's 4,300-digit int(): the bank's column, not ours
        ("1," + "5" * 5000, "bri", "sen|not an amount"),
    ],
)
def test_amounts_that_are_refused(text, bank, says):
    with pytest.raises(ValueError, match=says):
        parse_amount(text, BANK_FORMATS[bank])


def test_a_bad_row_is_named_with_its_row_column_and_the_fix():
    text = GENERIC + "2026-13-01,SETORAN,,16800\n2026-11-20,SETORAN,,16x800\n"

    parsed = parse_statement(text, BANK_FORMATS["generic"])

    assert not parsed.ok
    assert parsed.errors[0].startswith("row 5: column date: '2026-13-01' is not a date")
    assert "2026-11-22" in parsed.errors[0]  # shows how to write it
    assert parsed.errors[1].startswith("row 6: column amount")


def test_the_wrong_format_is_refused_whole_with_the_columns_found():
    with pytest.raises(StatementFormatError, match="No header row with a 'Tanggal Transaksi'"):
        parse_statement(GENERIC, BANK_FORMATS["bri"])
    with pytest.raises(StatementFormatError, match=r"needs the column\(s\) Keterangan"):
        parse_statement("Tanggal Transaksi,Uraian,Jumlah\n19/11/2026,x,1\n", BANK_FORMATS["bca"])


def test_semicolon_separated_exports_are_read_too():
    text = "date;description;reference;amount\n2026-11-19;SETORAN;R1;16800\n"

    parsed = parse_statement(text, BANK_FORMATS["generic"])

    assert [line.amount_idr for line in parsed.lines] == [16_800]


def test_references_compare_on_letters_and_digits():
    assert normalise("bri-7781 / agen") == "BRI7781AGEN"


def test_interest_and_its_tax_have_sen_and_are_skipped_not_refused():
    text = BRI.replace(
        "Saldo Akhir",
        '30/11/2026,BUNGA,0000,,"1.234,56",\n'
        '30/11/2026,PAJAK BUNGA,0000,"246,91",\n'
        '30/11/2026,PAJAK,0000,"0,50",\nSaldo Akhir',
    )

    parsed = parse_statement(text, BANK_FORMATS["bri"])

    assert parsed.ok, parsed.errors
    assert parsed.skipped_credits == 1
    assert parsed.debit_rows == 3
    assert [line.amount_idr for line in parsed.lines] == [25_200, 1_000_000]
    assert parsed.last_day == date(2026, 11, 30)


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("0001-01-03,X,,100", "outside 2000–2099"),
        ("9999-12-31,X,,100", "outside 2000–2099"),
        ("2026-11-19,X,,99999999999999999999", "more than Rp10.000.000.000.000"),
    ],
)
def test_dates_and_amounts_no_statement_can_hold_are_row_errors(row, says):
    parsed = parse_statement("date,description,reference,amount\n" + row + "\n", BANK_FORMATS["generic"])

    assert not parsed.ok
    assert says in parsed.errors[0]


def test_a_credit_above_a_32_bit_integer_is_a_line():
    parsed = parse_statement(
        "date,description,reference,amount\n2026-11-19,SP2D APBD,,3000000000\n", BANK_FORMATS["generic"]
    )

    assert [line.amount_idr for line in parsed.lines] == [3_000_000_000]


def test_a_long_description_keeps_the_key_its_whole_text_gave_it_before_it_was_cut_to_its_column():
    """Lines imported before descriptions were cut were keyed by their whole text: an overlapping statement
    must find them by the same key, so two texts that differ only past the column's 300 characters differ."""
    head = "2026-11-20,SETORAN " + "KETERANGAN " * 30
    one = parse_statement(f"date,description,reference,amount\n{head}AKHIR SATU,,50000\n", BANK_FORMATS["generic"])
    two = parse_statement(f"date,description,reference,amount\n{head}AKHIR DUA,,50000\n", BANK_FORMATS["generic"])

    assert one.lines[0].description == two.lines[0].description  # both cut to the column, at a word
    assert len(one.lines[0].description) <= 300
    assert one.lines[0].line_key != two.lines[0].line_key
