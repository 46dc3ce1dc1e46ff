"""Compressed answers (core/compression.py): HTML, JSON and CSV in gzip or brotli when asked, plain when not, the
same bytes either way; small answers, ranges and other types as they are; streams still streamed."""

from __future__ import annotations

import gzip
import random
import re
from collections.abc import Iterator
from typing import Any

import brotli
import pytest
from flask import Response

from tests.factories import PASSWORD, nik_for

GZIP = {"Accept-Encoding": "gzip"}
TOKEN = re.compile(rb'name="csrf_token" value="[^"]+"')


def login(client: Any, path: str, username: str) -> None:
    page = client.get(f"{path}/masuk").data
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    answer = client.post(f"{path}/masuk", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert answer.status_code in (302, 303), answer.status_code


def assert_compressed_as(plain: Any, packed: Any, encoding: str = "gzip", mask_tokens: bool = False) -> bytes:
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in plain.headers["Vary"] and "Accept-Encoding" in packed.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
    body = gzip.decompress(packed.data) if encoding == "gzip" else brotli.decompress(packed.data)
    if mask_tokens:  # each page writes the CSRF token with a fresh mask (BREACH)
        body, plain_body = TOKEN.sub(b"TOKEN", body), TOKEN.sub(b"TOKEN", plain.data)
    else:
        plain_body = plain.data
    assert body == plain_body
    return body


def test_a_json_list_comes_back_in_gzip_or_brotli_when_asked_and_plain_when_not(client, world):
    headers = world["agent"].headers
    for serial in range(1, 4):
        body = {
            "nik": nik_for(serial=serial),
            "name": f"budi santoso {serial}",
            "phone": f"0812-3456-78{serial:02d}",
            "occupation": "ojek online",
            "sector": "transport",
            "declared_income_idr": 1_000_000,
            "package": "JKK+JKM",
        }
        assert client.post("/api/v1/members", json=body, headers=headers).status_code == 201

    plain = client.get("/api/v1/members", headers=headers)
    packed = client.get("/api/v1/members", headers=headers | GZIP)
    brotlied = client.get("/api/v1/members", headers=headers | {"Accept-Encoding": "br, gzip"})

    assert len(plain.get_json()) == 3
    assert_compressed_as(plain, packed)
    assert_compressed_as(plain, brotlied, "br")


def test_an_agent_page_comes_back_compressed_with_a_fresh_csrf_mask_each_time(client, world):
    login(client, "/agen", "agent.pkp")

    plain = client.get("/agen/")
    packed = client.get("/agen/", headers=GZIP)

    assert_compressed_as(plain, packed, mask_tokens=True)
    tokens = {m.group(0) for m in TOKEN.finditer(plain.data + gzip.decompress(packed.data))}
    assert len(tokens) == 2  # the same session, two masks: no stable secret for BREACH to guess at


def test_a_csv_export_comes_back_compressed(client, world):
    login(client, "/keuangan", "finance.pkp")
    path = "/keuangan/setoran-harian?from=2026-10-01&to=2026-11-20&format=csv"

    plain = client.get(path)
    packed = client.get(path, headers=GZIP)

    assert plain.mimetype == "text/csv" and plain.data.count(b"\r\n") > 20
    assert_compressed_as(plain, packed)


def test_a_small_answer_is_sent_as_it_is_and_still_varies_on_accept_encoding(client):
    answer = client.get("/healthz", headers=GZIP)

    assert len(answer.data) < 500
    assert "Content-Encoding" not in answer.headers
    assert "Accept-Encoding" in answer.headers["Vary"]


def test_a_range_of_a_file_is_sent_as_it_is(client):
    answer = client.get("/agen/sw.js", headers=GZIP | {"Range": "bytes=0-599"})

    assert answer.status_code == 206
    assert "Content-Encoding" not in answer.headers
    assert len(answer.data) == 600
    answer.close()


def test_a_streamed_csv_stays_streamed_when_compressed(app):
    rng = random.Random(14)
    rows = [",".join(str(rng.randrange(10**9)) for _ in range(10)).encode() + b"\r\n" for _ in range(20_000)]
    made: list[int] = []

    def stream() -> Iterator[bytes]:
        for row in rows:
            made.append(1)
            yield row

    app.add_url_rule("/test-stream.csv", "test_stream", lambda: Response(stream(), mimetype="text/csv"))
    answer = app.test_client().get("/test-stream.csv", headers=GZIP, buffered=False)

    assert answer.headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in answer.headers
    chunks = iter(answer.response)
    first = next(chunks)
    assert first and len(made) < len(rows)  # bytes went out before the last row was made
    body = first + b"".join(chunks)
    answer.close()
    assert gzip.decompress(body) == b"".join(rows)


@pytest.mark.parametrize("path", ["/agen/static/app.css", "/agen/static/app.js"])
def test_the_agents_apps_css_and_javascript_are_compressed(client, path):
    answer = client.get(path, headers=GZIP)

    assert answer.headers["Content-Encoding"] == "gzip"
    answer.close()
