"""The pages' two languages, Bahasa Indonesia (default) and English: the texts the agents' app, the login forms and
the public receipt share, in one table, and how money and months are written."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, has_request_context, request

from core.months import Month

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Bahasa Indonesia, English)
    "app_name": ("Perisai iuran", "Perisai iuran"),
    "login": ("Masuk", "Log in"),
    "logout": ("Keluar", "Log out"),
    "username": ("Nama pengguna", "Username"),
    "password": ("Kata sandi", "Password"),
    "login_failed": ("Nama pengguna atau kata sandi salah.", "Wrong username or password."),
    "login_throttled": (
        "Terlalu banyak percobaan. Coba lagi dalam 15 menit.",
        "Too many attempts. Try again in 15 minutes.",
    ),
    "agents_only": ("Aplikasi ini untuk agen Perisai.", "This app is for Perisai agents."),
    "session_expired": ("Sesi habis, silakan masuk lagi.", "Your session expired: log in again."),
    "csrf_failed": (
        "Formulir kedaluwarsa. Muat ulang halaman dan coba lagi.",
        "The form expired: reload and try again.",
    ),
    "queued_by_other": (
        "Formulir ini diisi oleh agen lain di ponsel ini; hanya agen itu yang dapat mengirimnya.",
        "Another agent filled in this form on this phone; only that agent can send it.",
    ),
    "home": ("Beranda", "Home"),
    "batch_returned": (
        "Keuangan mengembalikan setoran tanggal {day}: {reason}",
        "Finance returned your batch of {day}: {reason}",
    ),
    "today": ("Hari ini", "Today"),
    "collected_today": ("Terkumpul hari ini", "Collected today"),
    "cash_on_hand": ("Uang di tangan", "Cash on hand"),
    "deposit_by": ("Setor paling lambat", "Deposit by"),
    "nothing_to_deposit": ("Tidak ada uang yang harus disetor.", "No cash to deposit."),
    "blocked": (
        "Setor dulu uang yang Anda pegang sebelum menerima iuran baru.",
        "Deposit the cash you hold before you collect more.",
    ),
    "search": ("Cari", "Search"),
    "search_hint": ("NIK, KPJ, nomor HP atau nama", "NIK, KPJ, phone or name"),
    "no_results": ("Tidak ada peserta yang cocok.", "No member matches."),
    "enrol": ("Daftar peserta baru", "Enrol a member"),
    "deposit": ("Setoran", "Deposit"),
    "queue": ("Antrean kirim", "Waiting to send"),
    "member": ("Peserta", "Member"),
    "status": ("Status", "Status"),
    "status_active": ("Aktif", "Active"),
    "status_in_arrears": ("Menunggak", "In arrears"),
    "status_lapsed": ("Berakhir (lewat 3 bulan)", "Lapsed (over 3 months)"),
    "months_owed": ("Bulan tertunggak", "Months owed"),
    "arrears": ("Tunggakan", "Arrears"),
    "paid_through": ("Lunas sampai", "Paid through"),
    "next_due": ("Jatuh tempo berikutnya", "Next due"),
    "new_period_note": (
        "Kepesertaan sudah berakhir: pembayaran ini memulai perlindungan baru mulai bulan ini.",
        "Membership lapsed: this payment starts new cover from this month.",
    ),
    "record_payment": ("Catat iuran tunai", "Record cash contribution"),
    "months_n": ("{n} bulan", "{n} months"),
    "pay": ("Terima uang & cetak kuitansi", "Take cash & issue receipt"),
    "sending": ("Mengirim…", "Sending…"),
    "receipt": ("Kuitansi", "Receipt"),
    "receipt_number": ("Nomor kuitansi", "Receipt number"),
    "verification_code": ("Kode verifikasi", "Verification code"),
    "amount": ("Jumlah", "Amount"),
    "months_covered": ("Untuk bulan", "Months covered"),
    "paid_on": ("Tanggal bayar", "Paid on"),
    "deposited": ("Sudah disetor ke bank", "Deposited at the bank"),
    "not_deposited": ("Belum disetor ke bank", "Not yet deposited"),
    "reversed": ("DIBATALKAN", "REVERSED"),
    "verify_at": ("Peserta dapat memeriksa di", "The member can check at"),
    "back_home": ("Kembali ke beranda", "Back home"),
    "name": ("Nama lengkap", "Full name"),
    "nik": ("NIK (16 angka, dari KTP)", "NIK (16 digits, from the KTP)"),
    "birth_date": ("Tanggal lahir", "Date of birth"),
    "phone": ("Nomor HP", "Mobile phone"),
    "occupation": ("Pekerjaan", "Occupation"),
    "sector": ("Sektor", "Sector"),
    "sector_transport": ("Transportasi (ojek, kurir)", "Transport (ojek, courier)"),
    "sector_other": ("Lainnya", "Other"),
    "income": ("Penghasilan per bulan (Rp)", "Monthly income (Rp)"),
    "package": ("Program", "Package"),
    "save": ("Simpan", "Save"),
    "enrolled": ("Peserta terdaftar. KPJ: {kpj}", "Member enrolled. KPJ: {kpj}"),
    "already_member": (
        "NIK ini sudah terdaftar sebagai peserta {kpj}.",
        "This NIK is already member {kpj}.",
    ),
    "bank_reference": ("Nomor referensi bank", "Bank reference"),
    "deposited_on": ("Tanggal setor", "Deposited on"),
    "deposit_saved": ("Setoran Rp{amount} tercatat.", "Deposit of Rp{amount} recorded."),
    "queue_empty": ("Tidak ada yang menunggu.", "Nothing is waiting."),
    "queued": (
        "Tidak ada sinyal. Tersimpan di HP dan akan dikirim otomatis saat sinyal kembali.",
        "No connection. Saved on this phone; it will be sent when the connection returns.",
    ),
    "queue_waiting": ("Menunggu sinyal", "Waiting for a connection"),
    "queue_sent": ("Terkirim", "Sent"),
    "queue_failed": ("Ditolak", "Refused"),
    "required": ("Wajib diisi.", "Required."),
    "invalid": ("Isian tidak valid.", "Not valid."),
    "must_be_number": ("Harus angka bulat, tanpa titik.", "Must be a whole number, without dots."),
    "nik_length": ("NIK harus 16 angka. Salin dari KTP.", "A NIK has 16 digits. Copy it from the KTP."),
    "nik_digits": ("NIK hanya berisi angka.", "A NIK has only digits."),
    "nik_province": ("Kode provinsi (2 angka pertama) tidak dikenal.", "Unknown province code (first 2 digits)."),
    "nik_regency": ("Kode kabupaten/kota (angka 3–4) tidak dikenal.", "Unknown regency code (digits 3–4)."),
    "nik_district": ("Kode kecamatan (angka 5–6) tidak dikenal.", "Unknown district code (digits 5–6)."),
    "nik_birth_date": (
        "Tanggal lahir dalam NIK (angka 7–12) tidak valid. Perempuan: tanggal + 40.",
        "The birth date in the NIK (digits 7–12) is not valid. Women: day + 40.",
    ),
    "nik_serial": ("Nomor urut NIK (4 angka terakhir) tidak boleh 0000.", "The NIK serial (last 4) cannot be 0000."),
    "nik_age": ("Peserta harus berumur paling sedikit 15 tahun.", "A member must be at least 15."),
    "nik_mismatch": ("Tidak cocok dengan NIK. Periksa KTP.", "Does not match the NIK. Check the KTP."),
    "phone_invalid": ("Tulis nomor HP yang dimulai 08, misalnya 0812-3456-7890.", "Write a mobile number starting 08."),
    "choose_months": ("Pilih jumlah bulan.", "Choose how many months."),
    "language": ("English", "Bahasa Indonesia"),
    "autodebit": ("Autodebet", "Auto-debit"),
    "autodebit_none": (
        "Belum ada autodebet. Daftarkan bersama peserta agar iuran tidak terlambat.",
        "No auto-debit yet. Set it up with the member so no month is missed.",
    ),
    "provider": ("Penyedia", "Provider"),
    "account": ("Nomor rekening / e-wallet", "Account or e-wallet number"),
    "months_per_debit": ("Bulan per debet", "Months per debit"),
    "mandate_saved": ("Autodebet tersimpan.", "Auto-debit saved."),
    "pause": ("Jeda", "Pause"),
    "resume": ("Lanjutkan", "Resume"),
    "cancel": ("Batalkan", "Cancel"),
    "mandate_status_active": ("aktif", "active"),
    "mandate_status_paused": ("dijeda", "paused"),
    "mandate_status_pending_authorisation": ("menunggu persetujuan", "awaiting authorisation"),
    "not_found": ("Tidak ditemukan.", "Not found."),
    "public_receipt_title": ("Bukti pembayaran iuran", "Contribution receipt"),
    "public_receipt_unknown": (
        "Kode tidak dikenal. Periksa kode pada SMS atau kuitansi.",
        "Unknown code. Check the code on the text or the receipt.",
    ),
    "incentives": ("Insentif saya", "My incentives"),
    "bad_month": ("Bulan tidak valid: tulis TTTT-BB, misalnya 2026-10.", "Not a month: write YYYY-MM, e.g. 2026-10."),
    "incentive_draft": (
        "Sementara: keuangan belum menyetujui bulan ini.",
        "Provisional: finance has not approved this month yet.",
    ),
    "incentive_approved": ("Disetujui keuangan: final.", "Approved by finance: final."),
    "new_niks": ("NIK baru bulan ini", "New NIKs this month"),
    "threshold_reached": ("target 25 tercapai", "25 reached"),
    "threshold_not_reached": ("belum 25: belum ada fee akuisisi", "under 25: no acquisition fee yet"),
    "incentive_acquisition": ("Akuisisi", "Acquisition"),
    "incentive_collection": ("Penagihan", "Collection"),
    "incentive_clawback": ("Ditarik kembali", "Clawed back"),
    "incentive_carried": ("Bawaan bulan lalu", "Carried in"),
    "incentive_pending": ("Tertunda", "Pending"),
    "incentive_total": ("Total", "Total"),
    "incentive_payable": ("Dibayar", "Payable"),
    "incentive_carried_out": ("Dibawa ke bulan depan", "Carried to next month"),
    "incentive_lines": ("Rincian", "Lines"),
    "incentive_pending_lines": (
        "Tertunda: setor uangnya dan tunggu persetujuan keuangan",
        "Pending: deposit the cash and wait for finance to approve",
    ),
    "no_incentive_lines": ("Belum ada.", "None yet."),
    "previous_month": ("‹ Bulan lalu", "‹ Previous month"),
    "next_month": ("Bulan berikutnya ›", "Next month ›"),
    "too_many_lookups": (
        "Terlalu banyak permintaan. Coba lagi sebentar lagi.",
        "Too many requests. Try again shortly.",
    ),
}

MONTH_NAMES = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


def language() -> str:
    """The request's language: ``?lang=``, else the ``lang`` cookie, else Bahasa Indonesia."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    chosen = getattr(g, "lang", None) or request.args.get("lang") or request.cookies.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, **values: object) -> str:
    """The text for ``key`` in the request's language."""
    indonesian, english = TEXTS[key]
    text = english if language() == "en" else indonesian
    return text.format(**values) if values else text


def rupiah(amount: int | None) -> str:
    """``16800`` → ``Rp16.800``."""
    return "Rp0" if not amount else f"Rp{amount:,}".replace(",", ".")


def month_label(month: Month | None) -> str:
    """``Month(2026, 11)`` → ``Nov 2026``."""
    if month is None:
        return "–"
    return f"{MONTH_NAMES[language()][month.month - 1]} {month.year}"


def months_label(months: tuple[Month, ...] | list[Month]) -> str:
    """A run of months, ``Nov 2026 – Jan 2027``."""
    if not months:
        return "–"
    first, last = min(months), max(months)
    return month_label(first) if first == last else f"{month_label(first)} – {month_label(last)}"


def install(app: Flask) -> None:
    """Give every page ``t``, ``lang`` and the money and month filters, and keep the language a user chose."""
    app.add_template_global(t, "t")
    app.add_template_global(language, "lang")
    app.add_template_filter(rupiah, "rupiah")
    app.add_template_filter(month_label, "month")
    app.add_template_filter(months_label, "months")
    app.before_request(_language)
    app.after_request(_remember_language)


def _language() -> None:
    chosen = request.args.get("lang")
    g.lang = chosen if chosen in LANGUAGES else request.cookies.get("lang")


def _remember_language(response: Response) -> Response:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        # Like the session's: no script reads it, and in production it only travels over HTTPS.
        secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
        response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax", secure=secure, httponly=True)
    return response
