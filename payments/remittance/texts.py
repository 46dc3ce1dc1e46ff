"""The remittance pages' texts in Bahasa Indonesia (default) and English (the desk's own are in payments/finance)."""

from __future__ import annotations

from core.i18n import language

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Bahasa Indonesia, English)
    "title": ("Berkas remitansi ke sistem nasional", "Remittance files for the national system"),
    "note": (
        "Setiap hari setelah tutup hari cabang, satu berkas berisi iuran yang diterima sejak berkas sebelumnya "
        "(pembatalan sebagai baris negatif). Sistem nasional harus mengonfirmasi dalam 2 hari kerja.",
        "Every day after the branch's day end, one file of the contributions received since the previous file "
        "(reversals as negative lines). The national system must acknowledge it within 2 working days.",
    ),
    "overdue_heading": ("Belum dikonfirmasi setelah 2 hari kerja", "Not acknowledged after 2 working days"),
    "no_files": ("Belum ada berkas remitansi.", "No remittance files yet."),
    "file": ("Berkas", "File"),
    "day": ("Hari", "Day"),
    "lines": ("Baris", "Lines"),
    "total": ("Jumlah", "Total"),
    "checksum": ("SHA-256", "SHA-256"),
    "acknowledgement": ("Konfirmasi", "Acknowledgement"),
    "due_on": ("Batas konfirmasi", "Due by"),
    "overdue": ("terlambat", "overdue"),
    "download": ("Unduh", "Download"),
    "reference": ("Nomor referensi", "Reference"),
    "acknowledge": ("Catat konfirmasi", "Record acknowledgement"),
    "acknowledged": ("Dikonfirmasi {at} oleh {who}, ref. {reference}", "Acknowledged {at} by {who}, ref. {reference}"),
    "acknowledged_flash": ("Konfirmasi berkas {name} dicatat.", "The acknowledgement of {name} is recorded."),
    "waiting": ("menunggu", "waiting"),
}


def rt(key: str, **values: object) -> str:
    """The remittance page's text for ``key`` in the request's language."""
    indonesian, english = TEXTS[key]
    text = english if language() == "en" else indonesian
    return text.format(**values) if values else text
