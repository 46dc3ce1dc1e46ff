"""The remittance file's format and the acknowledgement deadline, as pure rules."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from payments.remittance.rules import Line, acknowledgement_due_on, check_file, file_name, is_overdue, write_file


def test_the_file_name_is_branch_code_sequence_and_day():
    assert file_name("PKP", 1, date(2026, 11, 22)) == "PKP-000001-20261122.csv"
    assert file_name("PTK", 1234, date(2027, 1, 5)) == "PTK-001234-20270105.csv"


def test_a_file_is_a_header_its_lines_and_a_trailer_with_count_total_and_the_body_checksum():
    lines = [
        Line("00000000018", "2026-11", "cash", "PKP-20261122-000001", date(2026, 11, 22), 8_400, "payment"),
        Line("00000000026", "2026-12", "sponsor", "PKP-SP202611-000001", date(2026, 11, 22), 16_800, "payment"),
        Line("00000000018", "2026-10", "auto_debit", "PKP-20261101-000009", date(2026, 11, 1), -8_400, "reversal"),
    ]

    written = write_file("PKP", 7, date(2026, 11, 22), lines)

    body = (
        "kpj,month,channel,receipt_number,paid_on,amount_idr,type\n"
        "00000000018,2026-11,cash,PKP-20261122-000001,2026-11-22,8400,payment\n"
        "00000000026,2026-12,sponsor,PKP-SP202611-000001,2026-11-22,16800,payment\n"
        "00000000018,2026-10,auto_debit,PKP-20261101-000009,2026-11-01,-8400,reversal\n"
    )
    digest = hashlib.sha256(body.encode()).hexdigest()
    assert written.content.decode() == body + f"TRAILER,PKP,000007,2026-11-22,3,16800,{digest}\n"
    assert (written.line_count, written.total_idr, written.body_sha256) == (3, 16_800, digest)
    assert written.sha256 == hashlib.sha256(written.content).hexdigest()
    assert check_file(written.content).total_idr == 16_800


def test_a_file_whose_body_was_changed_fails_its_check():
    content = write_file(
        "PKP",
        1,
        date(2026, 11, 22),
        [Line("00000000018", "2026-11", "cash", "R1", date(2026, 11, 22), 8_400, "payment")],
    ).content

    with pytest.raises(ValueError, match="total"):
        check_file(content.replace(b",8400,", b",9400,", 1))  # the line, not the trailer
    with pytest.raises(ValueError, match="checksum"):
        check_file(content.replace(b"R1", b"R2"))


def test_many_lines_stream_in_chunks_into_one_body():
    lines = [Line(f"{n:011d}", "2026-11", "cash", f"R{n}", date(2026, 11, 22), 8_400, "payment") for n in range(12_345)]

    written = write_file("PKP", 1, date(2026, 11, 22), iter(lines))

    assert check_file(written.content).line_count == 12_345
    assert written.total_idr == 12_345 * 8_400


@pytest.mark.parametrize(
    ("made_on", "holidays", "due_on"),
    [
        (date(2026, 11, 23), set(), date(2026, 11, 25)),  # Monday: Tuesday and Wednesday
        (date(2026, 11, 21), set(), date(2026, 11, 24)),  # Saturday: Sunday is skipped (Saturday works)
        (date(2026, 11, 22), set(), date(2026, 11, 24)),  # Sunday: Monday and Tuesday
        (date(2026, 11, 22), {date(2026, 11, 24)}, date(2026, 11, 25)),  # a holiday on Tuesday
        (date(2026, 12, 23), {date(2026, 12, 25)}, date(2026, 12, 26)),  # Christmas, then Saturday
    ],
)
def test_the_national_system_has_two_working_days_to_acknowledge(made_on, holidays, due_on):
    assert acknowledgement_due_on(made_on, holidays) == due_on
    assert not is_overdue(made_on, False, due_on, holidays)
    assert is_overdue(made_on, False, due_on.fromordinal(due_on.toordinal() + 1), holidays)
    assert not is_overdue(made_on, True, due_on.fromordinal(due_on.toordinal() + 30), holidays)
