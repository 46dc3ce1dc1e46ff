"""Digits that are not ASCII (superscripts, Arabic-Indic) in numbers typed into forms and files: a clear 4xx or
a refusal, never a 500 (``"²".isdigit()`` is true but ``int("²")`` fails)."""

from __future__ import annotations

import io
import re

import pytest

from payments.finance.statements import BANK_FORMATS, parse_statement


def test_a_superscript_amount_in_a_statement_is_a_row_error():
    parsed = parse_statement("date,description,reference,amount\n2026-11-19,X,,1²\n", BANK_FORMATS["generic"])

    assert not parsed.ok and "row 2" in parsed.errors[0]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("url", ["/keuangan/cakupan?year=²", "/keuangan/kinerja?from=²&to=2026-11"])
def test_finance_pages_refuse_superscript_numbers(client, world, url):
    from tests.factories import PASSWORD

    page = client.get("/keuangan/masuk").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/keuangan/masuk", data={"csrf_token": token, "username": "finance.pkp", "password": PASSWORD})

    response = client.get(url)

    assert 400 <= response.status_code < 500


@pytest.mark.sqlite_only
def test_a_sponsor_csv_with_an_unclosed_quote_is_a_422(client, world):
    sponsor = client.post(
        "/api/v1/sponsors",
        json={"kind": "regency", "name": "Pemkab Bangka Selatan", "region_code": "1903"},
        headers=world["finance"].headers,
    )
    assert sponsor.status_code == 201, sponsor.get_json()
    programme = client.post(
        "/api/v1/sponsor-programmes",
        json={
            "sponsor_id": sponsor.get_json()["id"],
            "code": "BASEL-TEST",
            "name": "Test",
            "package": "JKK+JKM",
            "first_month": "2026-11",
            "months": 6,
            "budget_idr": 1_000_000,
        },
        headers=world["finance"].headers,
    )
    assert programme.status_code == 201, programme.get_json()
    body = "nik,name,birth_date\n" + '"' + "x" * 200_000 + "\n"

    response = client.post(
        f"/api/v1/sponsor-programmes/{programme.get_json()['id']}/imports",
        data={"file": (io.BytesIO(body.encode()), "list.csv")},
        headers=world["finance"].headers,
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert "unclosed quote" in response.get_json()["message"]
