"""Receipt numbers people can read out, and verification codes nobody can guess."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import date

from core.months import Month

# Crockford's base32 without I, L, O, U: nothing a member can misread on a phone screen.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 50 bits: guessing one of a million live codes takes ~10^9 tries; lookups are rate-limited


def receipt_number(branch_code: str, issued_on: date, payment_id: int) -> str:
    """``PKP-202603-00001234``: branch, month issued, and the payment's own number."""
    return f"{branch_code}-{issued_on:%Y%m}-{payment_id:08d}"


def new_verification_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A fresh random verification code from the OS's CSPRNG (or a seeded source, for demo data)."""
    return "".join(CODE_ALPHABET[randbelow(len(CODE_ALPHABET))] for _ in range(CODE_LENGTH))


def receipt_link(public_base_url: str, verification_code: str) -> str:
    """The public receipt page a member opens from the text: ``https://iuran.example.id/r/7K3QX9PM2A``."""
    return f"{public_base_url.rstrip('/')}/r/{verification_code}"


def receipt_text(amount_idr: int, months: Sequence[Month], number: str, code: str, link: str) -> str:
    """The text a member gets for a payment: the amount, the months it covered, the receipt and where to check it."""
    covered = "-" if not months else f"{months[0]}" if len(months) == 1 else f"{months[0]} s.d. {months[-1]}"
    return (
        f"BPJS Ketenagakerjaan: iuran Rp{amount_idr:,} untuk {covered} diterima. ".replace(",", ".")
        + f"Kuitansi {number}, kode {code}. Cek: {link}"
    )


def mask_name(name: str) -> str:
    """``Budi Santoso`` → ``B*** S******``: enough for a member to recognise, too little to identify."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split() if word)
