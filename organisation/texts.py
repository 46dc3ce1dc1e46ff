"""The administration pages (/admin) and the password page (/akun) in Bahasa Indonesia (default) and English: every
text they show, in one table. The language is chosen as in the other apps (core/i18n.py); the services' own
messages (a refusal, a field's fix) are shown as the services word them."""

from __future__ import annotations

from core.i18n import TEXTS as SHARED_TEXTS
from core.i18n import language

SHARED = ("login", "logout", "username", "password", "login_failed", "login_throttled", "session_expired", "language")

TEXTS: dict[str, tuple[str, str]] = {
    **{key: SHARED_TEXTS[key] for key in SHARED},
    # key: (Bahasa Indonesia, English)
    "app_name": ("Administrasi cabang", "Branch administration"),
    "managers_only": (
        "Halaman ini untuk kepala cabang (supervisor) dan admin.",
        "These pages are for branch heads (supervisors) and admins.",
    ),
    "admins_only": ("Hanya admin yang dapat mengelola cabang.", "Only an admin manages branches."),
    "csrf_failed": (
        "Formulir kedaluwarsa. Muat ulang halaman dan coba lagi.",
        "The form expired: reload the page and try again.",
    ),
    "error": ("Tidak dapat diproses", "Could not be done"),
    "back": ("Kembali", "Back"),
    "save": ("Simpan", "Save"),
    "create": ("Buat", "Create"),
    "edit": ("Ubah", "Edit"),
    "saved": ("Tersimpan.", "Saved."),
    "nav_branches": ("Cabang", "Branches"),
    "nav_wadahs": ("Wadah", "Wadah"),
    "nav_staff": ("Staf", "Staff"),
    "nav_agents": ("Agen", "Agents"),  # the roster's pages (agents/roster/pages.py)
    "branches": ("Kantor cabang", "Branch offices"),
    "new_branch": ("Cabang baru", "New branch"),
    "code": ("Kode", "Code"),
    "name": ("Nama", "Name"),
    "province_code": ("Kode provinsi", "Province code"),
    "regency_code": ("Kode kabupaten/kota", "Regency or city code"),
    "timezone": ("Zona waktu", "Time zone"),
    "timezone_of_province": ("Sesuai provinsi", "The province's"),
    "cash_limit_idr": ("Batas uang di tangan agen (Rp)", "Agents' cash limit (Rp)"),
    "deposit_deadline_working_days": ("Batas setor (hari kerja)", "Deposit deadline (working days)"),
    "wadahs": ("Wadah (asosiasi agen)", "Wadah (agents' associations)"),
    "new_wadah": ("Wadah baru", "New Wadah"),
    "agreement_ref": ("Nomor perjanjian kerja sama", "Agreement reference"),
    "branch": ("Cabang", "Branch"),
    "all_branches": ("Semua cabang", "All branches"),
    "show": ("Tampilkan", "Show"),
    "staff": ("Staf", "Staff"),
    "new_staff": ("Staf baru", "New staff member"),
    "full_name": ("Nama lengkap", "Full name"),
    "role": ("Peran", "Role"),
    "role_agent": ("Agen", "Agent"),
    "role_branch_finance": ("Keuangan cabang", "Branch finance"),
    "role_supervisor": ("Supervisor", "Supervisor"),
    "role_admin": ("Admin", "Admin"),
    "phone": ("Nomor HP", "Mobile phone"),
    "active": ("Aktif", "Active"),
    "disabled": ("Nonaktif", "Disabled"),
    "must_change": ("Harus ganti kata sandi", "Must change password"),
    "password_optional": (
        "Kata sandi awal (kosongkan untuk dibuatkan)",
        "Initial password (leave empty to have one made)",
    ),
    "reset_password": ("Atur ulang kata sandi", "Reset password"),
    "disable": ("Nonaktifkan", "Disable"),
    "enable": ("Aktifkan", "Enable"),
    "temporary_password": ("Kata sandi sementara", "Temporary password"),
    "temporary_password_note": (
        "Berikan kata sandi ini kepada {name} secara langsung. Ini hanya ditampilkan sekali; {name} harus "
        "menggantinya saat masuk.",
        "Hand this password to {name} in person. It is shown this once; {name} must change it at the next login.",
    ),
    "no_temporary_password": (
        "Kata sandi awal yang Anda tulis berlaku; {name} harus menggantinya saat masuk.",
        "The initial password you wrote holds; {name} must change it at the first login.",
    ),
    "sessions_ended": ("Semua sesi {name} telah diakhiri.", "Every session of {name} has ended."),
    "change_password": ("Ganti kata sandi", "Change your password"),
    "change_password_why": (
        "Kata sandi Anda dibuat oleh orang lain. Pilih kata sandi Anda sendiri sebelum melanjutkan.",
        "Your password was set by someone else. Choose your own before you go on.",
    ),
    "current_password": ("Kata sandi sekarang", "Current password"),
    "new_password": ("Kata sandi baru (min. 10 karakter)", "New password (at least 10 characters)"),
    "repeat_password": ("Ulangi kata sandi baru", "Repeat the new password"),
    "passwords_differ": ("Kedua kata sandi baru tidak sama.", "The two new passwords differ."),
    "password_changed": ("Kata sandi telah diganti.", "Your password has been changed."),
}


def t(key: str, **values: object) -> str:
    """The administration text for ``key`` in the request's language."""
    indonesian, english = TEXTS[key]
    text = english if language() == "en" else indonesian
    return text.format(**values) if values else text
