"""Each reason code of an incentive line, and a Wadah's share, worded in Bahasa Indonesia and in English."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from agents.incentives.rules import (
    CollectedLine,
    Enrolment,
    IncentiveRules,
    LineKind,
    Reason,
    StatementLine,
    agent_statement,
    wadah_statement,
)
from agents.incentives.texts import CSV_COLUMNS, csv_row, explanation, rate_label, share_explanation, worded
from collection.members.rates import Package
from core.months import Month

pytestmark = pytest.mark.sqlite_only  # words only: no database

AGENT = 7
MARCH, APRIL = Month(2026, 3), Month(2026, 4)


def line(month_number: int = 7, eligible_on: date | None = date(2026, 3, 11), reversed_on: date | None = None) -> Any:
    return CollectedLine(501, 9_001, AGENT, MARCH, month_number, 16_800, date(2026, 3, 10), eligible_on, reversed_on)


def one(statement: Any, pending: bool = False) -> StatementLine:
    (found,) = statement.pending_lines if pending else statement.lines
    return found


def enrolled(count: int, nik_new: bool = True) -> list[Enrolment]:
    return [Enrolment(n + 1, AGENT, Package.JKK_JKM_JHT, date(2026, 3, 5), nik_new) for n in range(count)]


LINES = {
    Reason.COLLECTED: lambda: one(agent_statement(AGENT, MARCH, [], [line()])),
    Reason.PAST_LAST_BAND: lambda: one(agent_statement(AGENT, MARCH, [], [line(month_number=61)])),
    Reason.REVERSED: lambda: one(agent_statement(AGENT, APRIL, [], [line(reversed_on=date(2026, 4, 10))])),
    Reason.AWAITING_APPROVAL: lambda: one(agent_statement(AGENT, MARCH, [], [line(eligible_on=None)]), True),
    Reason.CARRIED: lambda: one(agent_statement(AGENT, APRIL, [], [], carried_in_idr=-1_260)),
    Reason.UNDER_THRESHOLD: lambda: agent_statement(AGENT, MARCH, enrolled(2), []).lines[0],
    Reason.NEW_NIK: lambda: agent_statement(AGENT, MARCH, enrolled(25), []).lines[0],
    Reason.REENROLMENT: lambda: one(agent_statement(AGENT, MARCH, enrolled(1, nik_new=False), [])),
}

WORDS = {
    "id": {
        Reason.COLLECTED: (
            "15% (bulan ke-7)",
            "Rp16.800 untuk Mar 2026, ditagih 10 Mar 2026, layak dibayar 11 Mar 2026; bulan iuran ke-7",
        ),
        Reason.PAST_LAST_BAND: (
            "0% (bulan ke-61)",
            "Rp16.800 untuk Mar 2026, ditagih 10 Mar 2026, layak dibayar 11 Mar 2026; bulan iuran ke-61, melewati "
            "batas bulan yang diberi insentif: tanpa insentif penagihan",
        ),
        Reason.REVERSED: (
            "15% (bulan ke-7)",
            "pembayaran dibatalkan 10 Apr 2026: menarik kembali Rp2.520 yang didapat pada Mar 2026",
        ),
        Reason.AWAITING_APPROVAL: (
            "15% (bulan ke-7)",
            "ditagih 10 Mar 2026; mendapat insentif setelah uangnya disetor dan keuangan menyetujui batch-nya",
        ),
        Reason.CARRIED: (
            "dibawa",
            "-Rp1.260 dibawa dari Mar 2026, karena penarikan kembali melebihi pendapatan",
        ),
        Reason.UNDER_THRESHOLD: (
            "Rp15.000 (JKK+JKM+JHT)",
            "didaftarkan 5 Mar 2026; 2 NIK baru bulan ini, kurang dari 25: tanpa imbalan",
        ),
        Reason.NEW_NIK: (
            "Rp15.000 (JKK+JKM+JHT)",
            "didaftarkan 5 Mar 2026; NIK baru, satu dari 25 bulan ini (minimal 25)",
        ),
        Reason.REENROLMENT: (
            "Rp15.000 (JKK+JKM+JHT)",
            "didaftarkan 5 Mar 2026; NIK sudah pernah terdaftar: pendaftaran ulang tidak mendapat imbalan dan "
            "tidak dihitung",
        ),
    },
    "en": {
        Reason.COLLECTED: (
            "15% (month 7)",
            "Rp16,800 for Mar 2026 collected on 10 Mar 2026, eligible on 11 Mar 2026; contribution month 7",
        ),
        Reason.PAST_LAST_BAND: (
            "0% (month 61)",
            "Rp16,800 for Mar 2026 collected on 10 Mar 2026, eligible on 11 Mar 2026; contribution month 61, past "
            "the last paid band: no collection incentive",
        ),
        Reason.REVERSED: (
            "15% (month 7)",
            "payment reversed on 10 Apr 2026: takes back the Rp2,520 it earned in Mar 2026",
        ),
        Reason.AWAITING_APPROVAL: (
            "15% (month 7)",
            "collected on 10 Mar 2026; earns once its cash is deposited and finance approves the batch",
        ),
        Reason.CARRIED: ("carried", "-Rp1,260 carried from Mar 2026, where clawbacks exceeded earnings"),
        Reason.UNDER_THRESHOLD: (
            "Rp15,000 (JKK+JKM+JHT)",
            "enrolled on 5 Mar 2026; 2 new NIKs this month, fewer than 25: no fee",
        ),
        Reason.NEW_NIK: (
            "Rp15,000 (JKK+JKM+JHT)",
            "enrolled on 5 Mar 2026; new NIK, one of 25 this month (at least 25)",
        ),
        Reason.REENROLMENT: (
            "Rp15,000 (JKK+JKM+JHT)",
            "enrolled on 5 Mar 2026; NIK registered before: a re-enrolment earns no fee and does not count",
        ),
    },
}


def test_every_reason_has_its_words_in_both_languages() -> None:
    assert set(LINES) == set(Reason) == set(WORDS["id"]) == set(WORDS["en"])


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("reason", list(Reason))
def test_each_reason_is_worded_in_the_readers_language(app: Any, lang: str, reason: Reason) -> None:
    found = LINES[reason]()
    assert found.reason == reason

    with app.test_request_context(f"/agen/insentif?lang={lang}"):
        assert (rate_label(found), explanation(found)) == WORDS[lang][reason]


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "id",
            "12,5% dari Rp2.520, yang dibayarkan kepada 2 agen untuk Mar 2026, dibulatkan ke rupiah terdekat; 1 agen "
            "dengan bulan minus tidak menambah apa pun dan membawanya ke bulan berikutnya",
        ),
        (
            "en",
            "12.5% of Rp2,520, what 2 agents are paid for Mar 2026, rounded half up; 1 agent with a negative month "
            "adds nothing and carries it to his next month",
        ),
    ],
)
def test_a_wadahs_share_is_worded_in_the_readers_language(app: Any, lang: str, words: str) -> None:
    earning = CollectedLine(1, 1, 1, MARCH, 30, 50_400, date(2026, 3, 2), date(2026, 3, 3))
    statements = [
        agent_statement(1, MARCH, [], [earning]),
        agent_statement(2, MARCH, [], [], carried_in_idr=-1_260),
    ]
    share = wadah_statement(3, MARCH, statements, IncentiveRules(wadah_share_bp=1_250))

    with app.test_request_context(f"/keuangan/insentif?lang={lang}"):
        assert share_explanation(share) == words


def test_a_worded_line_keeps_the_lines_values_and_a_csv_row_its_code(app: Any) -> None:
    found = LINES[Reason.COLLECTED]()

    with app.test_request_context("/keuangan/insentif?lang=id"):
        shown = worded(found)
        row = dict(zip(CSV_COLUMNS, csv_row(found), strict=True))

    assert (shown.kind, shown.amount_idr, shown.rate_label) == (LineKind.COLLECTION, 2_520, "15% (bulan ke-7)")
    assert (row["reason"], row["rate_label"], row["contribution_month"]) == ("collected", "15% (bulan ke-7)", "2026-03")
