"""The roster pages' texts (/admin/agen) in Bahasa Indonesia (default) and English; the desk's own (the menu, the
login, the buttons every page shares) are in organisation/texts.py, and a service's refusal is shown as it words it."""

from __future__ import annotations

from core.i18n import language

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Bahasa Indonesia, English)
    "title": ("Agen Perisai cabang", "The branch's Perisai agents"),
    "choose_branch": ("Pilih cabang untuk melihat agennya.", "Choose a branch to see its agents."),
    "no_agents": ("Belum ada agen di cabang ini.", "The branch has no agents yet."),
    "code": ("Kode", "Code"),
    "name": ("Nama", "Name"),
    "status": ("Status", "Status"),
    "status_active": ("Aktif", "Active"),
    "status_deactivated": ("Nonaktif", "Deactivated"),
    "status_terminated": ("Diberhentikan", "Terminated"),
    "all_statuses": ("Semua status", "Every status"),
    "areas": ("Wilayah", "Areas"),
    "areas_help": (
        "Satu wilayah per baris: nama desa/kelurahan, atau kode kecamatan 6 angka (mis. 197102).",
        "One area a line: a village name, or a district (kecamatan) code of 6 digits (e.g. 197102).",
    ),
    "members_served": ("Anggota dilayani", "Members served"),
    "open_visits": ("Kunjungan terbuka", "Open visits"),
    "cash_on_hand": ("Uang di tangan", "Cash on hand"),
    "deposit_due_by": ("Setor paling lambat", "Deposit due by"),
    "wadah": ("Wadah", "Wadah"),
    "phone": ("Nomor HP", "Mobile phone"),
    "nik": ("NIK agen", "Agent's NIK"),
    "username": ("Nama pengguna", "Username"),
    "code_optional": ("Kode agen (kosongkan untuk dibuatkan)", "Agent code (leave empty to have one made)"),
    "new_agent": ("Daftarkan agen", "Enrol an agent"),
    "enrol": ("Daftarkan", "Enrol"),
    "open": ("Buka", "Open"),
    "proposals_link": ("Usulan penonaktifan agen tidak aktif", "Proposals to deactivate idle agents"),
    "agents_link": ("Daftar agen", "The agents"),
    "form_errors": (
        "Formulir belum dapat disimpan: perbaiki kolom yang ditandai.",
        "The form was not saved: fix the fields marked.",
    ),
    "enrolled": ("Agen {code} terdaftar", "Agent {code} is enrolled"),
    "first_password": ("Kata sandi pertama", "First password"),
    "first_password_note": (
        "Berikan nama pengguna dan kata sandi ini kepada {name} secara langsung. Ini hanya ditampilkan sekali; "
        "{name} harus menggantinya saat pertama masuk.",
        "Hand this username and password to {name} in person. It is shown this once; {name} must change it at "
        "the first login.",
    ),
    "edit_agent": ("Ubah nomor HP, Wadah dan wilayah", "Change phone, Wadah and areas"),
    "status_change": ("Ubah status", "Change the status"),
    "reason": ("Alasan", "Reason"),
    "deactivate": ("Nonaktifkan", "Deactivate"),
    "deactivate_note": (
        "3 bulan tanpa transaksi. Semua sesi dan token agen berakhir saat itu juga; uang di tangannya tetap "
        "tercatat sampai disetor.",
        "3 months without a transaction. His sessions and tokens end at once; his cash on hand stays his until "
        "deposited.",
    ),
    "terminate": ("Berhentikan", "Terminate"),
    "terminate_note": (
        "Penipuan: berlaku seketika dan tidak dapat diaktifkan kembali.",
        "Fraud: at once, and he can never be reactivated.",
    ),
    "reactivate": ("Aktifkan kembali", "Reactivate"),
    "reactivate_note": (
        "Paling cepat 6 bulan setelah dinonaktifkan.",
        "No earlier than 6 months after his deactivation.",
    ),
    "status_changed": ("Status agen {code}: {status}.", "Agent {code} is now {status}."),
    "hand_over": ("Serahkan anggota dan kunjungan", "Hand over members and visits"),
    "hand_over_note": (
        "Anggota yang dilayani agen ini dan kunjungan terbukanya pindah ke agen aktif lain di cabang. Yang "
        "mendaftarkan anggota (insentif akuisisi) tidak berubah.",
        "The members this agent serves and his open visits go to another active agent of the branch. Who "
        "enrolled a member (the acquisition incentive) does not change.",
    ),
    "to_agent": ("Kepada agen", "To agent"),
    "by_village": (
        "Menurut desa: anggota di wilayah agen tujuan kepadanya, sisanya kepada agen cadangan",
        "By village: members in the receiving agent's areas to him, the rest to the default agent",
    ),
    "default_agent": ("Agen cadangan (menurut desa)", "Default agent (by village)"),
    "none": ("–", "–"),
    "no_receiver": (
        "Tidak ada agen aktif lain di cabang ini untuk menerima anggota.",
        "No other active agent of the branch can take the members.",
    ),
    "handed_over": ("Serah terima dari agen {code}", "Hand-over from agent {code}"),
    "handed_over_totals": (
        "{members} anggota dan {visits} kunjungan dipindahkan.",
        "{members} members and {visits} visits moved.",
    ),
    "receiver": ("Penerima", "Receiver"),
    "members": ("Anggota", "Members"),
    "visits": ("Kunjungan", "Visits"),
    "members_by_status": ("Anggota per status", "Members by status"),
    "visits_by_reason": ("Kunjungan per alasan", "Visits by reason"),
    "proposals": ("Usulan penonaktifan agen", "Proposals to deactivate agents"),
    "proposals_note": (
        "Agen aktif tanpa transaksi (uang tunai atau pendaftaran) selama 3 bulan. Terima: agen dinonaktifkan. "
        "Tolak: 3 bulan dihitung lagi dari sekarang.",
        "Active agents with no transaction (cash or an enrolment) for 3 months. Accept: the agent is deactivated. "
        "Dismiss: his 3 months count again from now.",
    ),
    "no_proposals": ("Tidak ada usulan terbuka.", "No open proposals."),
    "idle_since": ("Tanpa transaksi sejak", "No transaction since"),
    "proposed_on": ("Diusulkan", "Proposed"),
    "note": ("Catatan", "Note"),
    "accept": ("Terima (nonaktifkan)", "Accept (deactivate)"),
    "dismiss": ("Tolak", "Dismiss"),
    "accepted": (
        "Usulan #{id} diterima: agen {code} dinonaktifkan.",
        "Proposal #{id} accepted: agent {code} deactivated.",
    ),
    "dismissed": (
        "Usulan #{id} ditolak: agen {code} tetap aktif.",
        "Proposal #{id} dismissed: agent {code} stays active.",
    ),
}


def rt(key: str, **values: object) -> str:
    """The roster pages' text for ``key`` in the request's language."""
    indonesian, english = TEXTS[key]
    text = english if language() == "en" else indonesian
    return text.format(**values) if values else text
