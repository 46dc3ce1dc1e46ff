"""Texts stored in English for every reader (an import's row reasons, a statement's unreadable rows) are worded in
the reader's language when shown: found back in the catalogs with their figures (core/i18n.py stored_text)."""

from __future__ import annotations

from typing import Any

import pytest

from core.i18n import stored_text, stored_texts
from core.words import N_


@pytest.mark.parametrize(
    ("stored", "indonesian"),
    [
        ("The name is missing: write it as on the KTP card.", "Nama belum diisi: tulis sesuai KTP."),  # no figures
        ("The NIK is repeated: row 2 has it.", "NIK ini berulang: baris 2 sudah memuatnya."),
        (  # a figure that is itself a text of the catalogs, twice over
            "row 5: column date: '2026-13-01' is not a date in this bank's format (write it like 2026-11-22)",
            "baris 5: kolom date: '2026-13-01' bukan tanggal dalam format bank ini (tulis seperti 2026-11-22)",
        ),
        (  # of two texts that both fit, the longer one (the shorter would take the second sentence as a figure)
            "The NIK is already member 23190000001 (id 7) of this branch in iuran: not added again. The export gives "
            "KPJ 23190000002: check which is right.",
            "NIK ini sudah menjadi peserta 23190000001 (id 7) di cabang ini dalam iuran: tidak ditambahkan lagi. "
            "Ekspor mencantumkan KPJ 23190000002: periksa mana yang benar.",
        ),
        (  # a figure in words that is data (the provider's own message) stays as it is
            "midtrans refused the mandate: HTTP 400 account closed",
            "midtrans menolak mandat: HTTP 400 account closed",
        ),
        ("Checked by hand on 3 March.", "Checked by hand on 3 March."),  # no catalog holds it: as stored
        ("", ""),
    ],
)
def test_a_stored_english_text_is_worded_in_the_readers_language(app: Any, stored: str, indonesian: str) -> None:
    with app.test_request_context("/api/v1/members?lang=id"):
        app.preprocess_request()
        assert stored_text(stored) == indonesian
    with app.test_request_context("/api/v1/members"):
        app.preprocess_request()
        assert stored_text(stored) == stored  # English: as stored


def test_a_structure_of_messages_is_worded_text_by_text_and_its_keys_kept(app: Any) -> None:
    stored = {
        "message": N_("Rows of the CSV cannot be stored; nothing was imported."),
        "row 3": {"order_id": [N_("repeated: row %(row)s has this order") % {"row": 2}]},
        "count": 2,
    }
    with app.test_request_context("/api/v1/members?lang=id"):
        app.preprocess_request()
        assert stored_texts(stored) == {
            "message": "Ada baris CSV yang tidak dapat disimpan; tidak ada yang diimpor.",
            "row 3": {"order_id": ["berulang: baris 2 sudah memuat order ini"]},
            "count": 2,
        }
