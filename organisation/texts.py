"""The administration desk's words for stored values (a staff member's role), in the reader's language: looked up
with ``label("role", value)`` (core/i18n.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext

from core.i18n import Labels

LABELS: Labels = {
    "role": {
        "agent": lazy_gettext("Agent"),
        "branch_finance": lazy_gettext("Branch finance"),
        "supervisor": lazy_gettext("Supervisor"),
        "admin": lazy_gettext("Admin"),
    },
}
