"""Finance's services return codes and figures (a variance, what is pending, why a credit is unmatched); the desk
and the API word them in the reader's language, and the stored English sentences of before are converted."""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from payments.finance.batches import Pending, Variance
from payments.finance.texts import line_note, pending_text, variance_cause
from tests.payments.finance.test_batches import batches_of, code, deposit, pay

DUE = date(2026, 12, 5)
DAY = date(2026, 12, 4)

VARIANCES = [  # (variance, English, Indonesian)
    (
        Variance("missing_deposit", 19_800, collected_on=DAY, due_by=DUE),
        "Rp19,800 of the cash collected on 4 Dec 2026 was not deposited by 5 Dec 2026.",
        "Uang tunai Rp19.800 yang dipungut pada 4 Des 2026 belum disetor sampai 5 Des 2026.",
    ),
    (
        Variance("not_in_bank", 50_000, reference="BRI-1", declared_idr=50_000),
        "Deposit BRI-1 of Rp50,000 is on no imported bank statement.",
        "Setoran BRI-1 sebesar Rp50.000 tidak ada di rekening koran yang sudah diunggah.",
    ),
    (
        Variance("short_in_bank", 5_000, reference="BRI-2", declared_idr=50_000, banked_idr=45_000),
        "Deposit BRI-2 was declared as Rp50,000; the bank credited Rp45,000: Rp5,000 short.",
        "Setoran BRI-2 dilaporkan Rp50.000; bank mencatat Rp45.000: kurang Rp5.000.",
    ),
    (
        Variance("over_in_bank", 1_000, reference="BRI-3", declared_idr=50_000, banked_idr=51_000),
        "Deposit BRI-3 was declared as Rp50,000; the bank credited Rp51,000: Rp1,000 over.",
        "Setoran BRI-3 dilaporkan Rp50.000; bank mencatat Rp51.000: lebih Rp1.000.",
    ),
]
PENDING = [
    (
        Pending("cash_due", 19_800, due_by=DUE),
        "Rp19,800 of this day's cash is due at the bank by 5 Dec 2026.",
        "Uang tunai hari ini Rp19.800 harus disetor ke bank paling lambat 5 Des 2026.",
    ),
    (
        Pending("no_statement", 19_800, "DEMO-1", day=DAY),
        "Deposit DEMO-1: no imported bank statement covers 4 Dec 2026 yet.",
        "Setoran DEMO-1: belum ada rekening koran terunggah yang mencakup 4 Des 2026.",
    ),
]


def line(code: str | None, **figures: Any) -> dict[str, Any]:
    return {"note_code": code, "note_count": None, "note_amount_idr": None, "note_on": None, "provider": None} | figures


NOTES = [
    (
        line("no_match"),
        "no deposit or provider payout with this reference or amount",
        "tidak ada setoran atau pencairan penyedia dengan referensi atau jumlah ini",
    ),
    (
        line("many_by_reference", note_count=2),
        "2 deposits carry this reference: match it by hand",
        "2 setoran memakai referensi ini: cocokkan secara manual",
    ),
    (
        line("many_by_amount", note_count=3),
        "3 deposits of this amount in the days before: match it by hand",
        "3 setoran dengan jumlah ini pada hari-hari sebelumnya: cocokkan secara manual",
    ),
    (line("declared_differs", note_amount_idr=48_000), "deposit declared as Rp48,000", "setoran dilaporkan Rp48.000"),
    (
        line("provider_payout", note_count=4, note_on=DAY, provider="midtrans"),
        "midtrans payout of 4 debit(s) settled 4 Dec 2026",
        "pencairan midtrans untuk 4 debit yang lunas 4 Des 2026",
    ),
    (line(None, note="bunga bank"), "bunga bank", "bunga bank"),  # finance's own reason, as written
]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("value", "english", "indonesian"), VARIANCES + PENDING + NOTES)
def test_every_code_is_worded_in_english_and_in_indonesian(app, value, english, indonesian):
    word = {Variance: variance_cause, Pending: pending_text, dict: line_note}[type(value)]
    for lang, expected in (("en", english), ("id", indonesian)):
        with app.test_request_context(f"/keuangan/batch?lang={lang}"):
            assert word(value) == expected


def test_the_batch_api_carries_the_codes_and_figures_and_words_them_as_asked(client, world, enrol):
    member = enrol()
    amount = pay(client, world["agent"], member["id"])["amount_idr"]
    deposit(client, world["agent"], amount, "NOSTMT-9")

    english = batches_of(client, world["finance"], world["pkp"])[code(world, "agent")]["figures"]
    with_lang = client.get(
        f"/api/v1/branches/{world['pkp']}/batches?date=2026-11-19&lang=id", headers=world["finance"].headers
    ).get_json()
    indonesian = next(b for b in with_lang if b["figures"]["agent_code"] == code(world, "agent"))["figures"]

    expected = {"code": "no_statement", "amount_idr": amount, "reference": "NOSTMT-9", "day": "2026-11-19"}
    assert [{k: p[k] for k in expected} for p in english["pending_items"]] == [expected]
    assert english["pending"] == ["Deposit NOSTMT-9: no imported bank statement covers 19 Nov 2026 yet."]
    assert indonesian["pending_items"][0]["day"] == "2026-11-19"  # data fields stay ISO in every language
    assert indonesian["pending"] == ["Setoran NOSTMT-9: belum ada rekening koran terunggah yang mencakup 19 Nov 2026."]


def test_an_api_error_of_a_finance_service_is_english_by_default_and_indonesian_when_asked(client, world):
    path = "/api/v1/batches/999999/approve"
    english = client.post(path, json={"note": "x"}, headers=world["finance"].headers).get_json()
    indonesian = client.post(path + "?lang=id", json={"note": "x"}, headers=world["finance"].headers).get_json()

    assert english["message"] == "There is no batch 999999."
    assert indonesian["message"] == "Batch 999999 tidak ada."


MIGRATION = Path(__file__).resolve().parents[3] / "migrations" / "versions" / "0025_finance_texts_as_data.py"


def migration() -> Any:
    spec = importlib.util.spec_from_file_location("finance_texts_as_data", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_reads_the_stored_english_notes_and_causes_back_into_codes_and_figures():
    m = migration()
    snapshot = {"business_date": "2026-11-19", "deposit_due_by": "2026-11-20"}

    notes = {
        text: next((c, p.match(text).groupdict()) for c, p in m.NOTES if p.match(text))
        for text in (
            "2 deposits carry this reference: match it by hand",
            "3 deposits of this amount in the days before: match it by hand",
            "deposit declared as Rp48000",
            "midtrans payout of 4 debit(s) settled 2026-11-20",
        )
    }
    missing = m._variance({"kind": "missing_deposit", "amount_idr": 8_400, "cause": "…"}, snapshot)
    short = m._variance(
        {
            "kind": "short_in_bank",
            "amount_idr": 5_000,
            "cause": "Deposit BRI 77-81 was declared as Rp1.250.000; the bank credited Rp1.245.000: Rp5.000 short.",
        },
        snapshot,
    )
    pending = m._pending("Rp19.800 of this day's cash is due at the bank by 2026-12-05.")

    assert list(notes.values()) == [
        ("many_by_reference", {"count": "2"}),
        ("many_by_amount", {"count": "3"}),
        ("declared_differs", {"amount": "48000"}),
        ("provider_payout", {"count": "4", "on": "2026-11-20"}),
    ]
    assert (missing["collected_on"], missing["due_by"], "cause" in missing) == ("2026-11-19", "2026-11-20", False)
    assert (short["reference"], short["declared_idr"], short["banked_idr"]) == ("BRI 77-81", 1_250_000, 1_245_000)
    assert pending == {"code": "cash_due", "amount_idr": 19_800, "reference": None, "day": None, "due_by": "2026-12-05"}
    assert json.loads(json.dumps(short))  # what is written back is JSON
    alert = m.ALERT.match(
        "Agent A-7 holds Rp1.234.500 undeposited, oldest from 2026-11-22 (due by 2026-11-23): new cash is blocked "
        "until a deposit is recorded."
    )
    assert (m._idr(alert["held"]), alert["oldest"], alert["due"]) == (1_234_500, "2026-11-22", "2026-11-23")
    assert m.ALERT.match("Agent A-7 holds Rp8.400 undeposited: new cash is blocked until a deposit is recorded.")
