"""Sponsors', national imports' and members' API messages in the client's language: English by default, Bahasa
Indonesia with Accept-Language: id; an import's stored per-row report stays in English whoever uploaded it."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from collection.sponsors.models import SponsorImport
from core.extensions import db
from tests.factories import nik_for

INDONESIAN = {"Accept-Language": "id-ID,id;q=0.9"}


def both(client: Any, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> tuple[Any, Any]:
    """The same request answered in English, then in Indonesian (same status)."""
    english = client.open(path, method=method, headers=headers, **kwargs)
    indonesian = client.open(path, method=method, headers=headers | INDONESIAN, **kwargs)
    assert english.status_code == indonesian.status_code, (english.get_json(), indonesian.get_json())
    return english, indonesian


def a_programme(client: Any, world: dict[str, Any]) -> int:
    finance = world["finance"]
    sponsor = client.post(
        "/api/v1/sponsors",
        json={"kind": "city", "name": "Pemerintah Kota Pangkalpinang", "region_code": "1971"},
        headers=finance.headers,
    )
    assert sponsor.status_code == 201, sponsor.get_json()
    body = {
        "code": "PKP-2026",
        "name": "Kota",
        "sponsor_id": sponsor.get_json()["id"],
        "package": "JKK+JKM",
        "first_month": "2026-11",
        "months": 3,
        "budget_idr": 1_000_000,
    }
    programme = client.post("/api/v1/sponsor-programmes", json=body, headers=finance.headers)
    assert programme.status_code == 201, programme.get_json()
    return int(programme.get_json()["id"])


def upload(name: str, text: str) -> dict[str, Any]:
    """A multipart body with ``text`` as the file ``name`` (a new stream each time: a request reads it to its end)."""
    return {"data": {"file": (io.BytesIO(text.encode()), name)}, "content_type": "multipart/form-data"}


def test_a_sponsors_field_message_is_in_the_clients_language(client, world):
    body = {"kind": "donor", "name": "Yayasan Peduli", "region_code": "1971"}
    english, indonesian = both(client, "POST", "/api/v1/sponsors", world["finance"].headers, json=body)

    assert english.status_code == 422
    assert english.get_json()["errors"]["json"]["region_code"] == ["A donor has no region: leave 'region_code' out."]
    assert indonesian.get_json()["errors"]["json"]["region_code"] == [
        "Donatur tidak memiliki wilayah: kosongkan 'region_code'."
    ]


def test_a_programme_not_found_and_a_row_refused_in_the_clients_language(client, world, pinned_app):
    english, indonesian = both(client, "GET", "/api/v1/sponsor-programmes/999999", world["finance"].headers)
    assert english.status_code == 404
    assert english.get_json()["message"] == "There is no sponsor programme 999999 in your branch."
    assert indonesian.get_json()["message"] == "Tidak ada program sponsor 999999 di cabang Anda."

    programme_id = a_programme(client, world)
    foreign = {"nik": nik_for("1903", date(1980, 1, 1), serial=1), "name": "A", "birth_date": "1980-01-01"}
    path = f"/api/v1/sponsor-programmes/{programme_id}/members"
    english, indonesian = both(client, "POST", path, world["finance"].headers, json=foreign)
    assert english.status_code == 422
    assert "not in Kota Pangkal Pinang (1971)" in english.get_json()["errors"]["json"]["nik"][0]
    assert "bukan di Kota Pangkal Pinang (1971)" in indonesian.get_json()["errors"]["json"]["nik"][0]


def test_an_imports_report_is_stored_in_english_and_shown_in_the_readers_language(client, world, pinned_app):
    programme_id = a_programme(client, world)
    text = "nik,name,birth_date\n" + f"{nik_for('1971', date(1990, 1, 12))},,12-01-1990\n"
    headers = world["finance"].headers | INDONESIAN

    response = client.post(
        f"/api/v1/sponsor-programmes/{programme_id}/imports", headers=headers, **upload("peserta.csv", text)
    )

    assert response.status_code == 201, response.get_json()
    [row] = response.get_json()["rows"]
    assert row["reason"] == "Nama belum diisi: tulis sesuai KTP."
    english = client.get(f"/api/v1/sponsor-imports/{response.get_json()['id']}", headers=world["finance"].headers)
    assert english.get_json()["rows"][0]["reason"] == "The name is missing: write it as on the KTP card."
    with pinned_app.app_context():
        stored = db.session.get(SponsorImport, response.get_json()["id"]).report
    assert "The name is missing: write it as on the KTP card." in stored  # one report for every reader


def test_a_csv_without_its_columns_is_refused_in_the_clients_language(client, world, pinned_app):
    programme_id = a_programme(client, world)
    path = f"/api/v1/sponsor-programmes/{programme_id}/imports"
    english = client.post(path, headers=world["finance"].headers, **upload("a.csv", ""))
    indonesian = client.post(path, headers=world["finance"].headers | INDONESIAN, **upload("a.csv", ""))

    assert english.status_code == indonesian.status_code == 422
    assert english.get_json()["errors"]["files"]["file"][0].startswith("The file is empty: the first line must name")
    assert indonesian.get_json()["errors"]["files"]["file"][0].startswith("Berkas kosong: baris pertama harus berisi")


def test_national_imports_and_member_search_answer_in_the_clients_language(client, world):
    path = "/api/v1/national-imports/999999"
    english, indonesian = both(client, "GET", path, world["supervisor"].headers)
    assert english.status_code == 404
    assert english.get_json()["message"] == "There is no national import 999999."
    assert indonesian.get_json()["message"] == "Tidak ada impor nasional 999999."

    path = f"/api/v1/branches/{world['ptk']}/national-imports"
    headers = world["supervisor"].headers | {"Idempotency-Key": "national-language-1"}
    english = client.post(path, headers=headers, **upload("n.csv", "kpj\n1\n"))
    indonesian = client.post(path, headers=headers | INDONESIAN, **upload("n.csv", "kpj\n1\n"))

    assert english.status_code == indonesian.status_code == 404

    assert english.get_json()["message"] == f"There is no branch {world['ptk']} among yours."
    assert indonesian.get_json()["message"] == f"Cabang {world['ptk']} tidak termasuk cabang Anda."

    english, indonesian = both(client, "GET", "/api/v1/members?q=%2B%2B", world["finance"].headers)
    assert english.status_code == 422
    assert english.get_json()["errors"]["query"]["q"] == [
        "Type a name (at least one letter), a 16-digit NIK, an 11-digit KPJ or a phone number."
    ]
    assert indonesian.get_json()["errors"]["query"]["q"] == [
        "Ketik nama (minimal satu huruf), NIK 16 angka, KPJ 11 angka, atau nomor HP."
    ]
