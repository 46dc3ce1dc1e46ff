"""The receipt's link in a member's text: an absolute address, whatever the setting's trailing slash."""

from __future__ import annotations

import pytest

from payments.ledger.receipts import receipt_link


@pytest.mark.parametrize(
    ("base", "link"),
    [
        ("https://iuran.example.id", "https://iuran.example.id/r/7K3QX9PM2A"),
        ("https://iuran.example.id/", "https://iuran.example.id/r/7K3QX9PM2A"),
        ("https://example.id/iuran/", "https://example.id/iuran/r/7K3QX9PM2A"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000/r/7K3QX9PM2A"),
    ],
)
def test_the_receipt_link_joins_the_public_address_and_the_code_with_one_slash(base, link):
    assert receipt_link(base, "7K3QX9PM2A") == link
