"""CSV exports: plain integers, ISO dates, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from enum import StrEnum

import pytest

from core.csvexport import BOM, csv_filename, csv_lines, csv_text, safe_cell


class Colour(StrEnum):
    RED = "red"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (1_500_000, 1_500_000),
        (-5_000, -5_000),
        (0, 0),
        (None, ""),
        (True, "yes"),
        (date(2026, 11, 19), "2026-11-19"),
        (datetime(2026, 11, 22, 2, 0, 7, 123), "2026-11-22T02:00:07"),
        (Colour.RED, "red"),
        ("SETORAN TUNAI", "SETORAN TUNAI"),
        ("=1+1", "'=1+1"),
        ("+62812", "'+62812"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("  =cmd|'/C calc'!A0", "'  =cmd|'/C calc'!A0"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=b", "a=b"),
        ("Rp1.500.000", "Rp1.500.000"),
        ("", ""),
    ],
)
def test_a_cell_is_written_safely(value, cell):
    assert safe_cell(value) == cell


def test_the_text_reads_back_with_its_header_and_rows():
    text = csv_text(
        ("day", "amount_idr", "description"),
        [(date(2026, 11, 19), 25_200, 'SETOR, "tunai"'), (date(2026, 11, 20), 0, "=HYPERLINK()")],
    )

    assert text.startswith(BOM)
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    assert rows == [
        ["day", "amount_idr", "description"],
        ["2026-11-19", "25200", 'SETOR, "tunai"'],
        ["2026-11-20", "0", "'=HYPERLINK()"],
    ]


def test_a_row_of_the_wrong_width_is_a_bug_not_a_shifted_column():
    with pytest.raises(ValueError, match="2 cells; the header has 3"):
        csv_text(("a", "b", "c"), [(1, 2)])


def test_an_empty_list_is_just_the_header():
    assert csv_text(("a", "b"), []) == BOM + "a,b\r\n"


@pytest.mark.parametrize(
    ("parts", "name"),
    [
        (("batches", "PKP", date(2026, 11, 19)), "batches-PKP-2026-11-19.csv"),
        (("batch", "A-12", None, "contributions"), "batch-A-12-contributions.csv"),
        (('a"b', "c/d\\e", "ü"), "a-b-c-d-e.csv"),
        ((), "export.csv"),
    ],
)
def test_a_download_name_has_no_character_a_header_or_a_path_could_trip_on(parts, name):
    assert csv_filename(*parts) == name


def test_the_streamed_text_is_the_whole_text_in_pieces_of_rows():
    header = ("name", "amount_idr")
    rows = [("=SUM(A1)", 1), ("Budi", -2), ("Siti", 3)]

    pieces = list(csv_lines(header, iter(rows), every=2))

    assert "".join(pieces) == csv_text(header, rows)
    assert len(pieces) == 3  # the header, two rows, the last row
    with pytest.raises(ValueError, match="2 cells"):
        list(csv_lines(("a", "b", "c"), [("x", "y")]))
