"""The roster pages' words for stored values (an agent's status) and for the moves an agent's page offers, in the
reader's language: looked up with ``label(family, value)`` (core/i18n.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext

from core.i18n import Labels

LABELS: Labels = {
    "roster_status": {
        "active": lazy_gettext("Active"),
        "deactivated": lazy_gettext("Deactivated"),
        "terminated": lazy_gettext("Terminated"),
    },
    "proposal_status": {
        "open": lazy_gettext("Open"),
        "accepted": lazy_gettext("Accepted: the agent was deactivated"),
        "dismissed": lazy_gettext("Dismissed: the agent stays"),
        "superseded": lazy_gettext("Superseded: the agent transacted again or his status changed"),
    },
    "agent_move": {
        "deactivate": lazy_gettext("Deactivate"),
        "terminate": lazy_gettext("Terminate"),
        "reactivate": lazy_gettext("Reactivate"),
        "hand_over": lazy_gettext("Hand over members and visits"),
    },
    "agent_move_note": {
        "deactivate": lazy_gettext(
            "3 months without a transaction. His sessions and tokens end at once; his cash on hand stays his until "
            "deposited."
        ),
        "terminate": lazy_gettext("Fraud: at once, and he can never be reactivated."),
        "reactivate": lazy_gettext("No earlier than 6 months after his deactivation."),
        "hand_over": lazy_gettext(
            "The members this agent serves and his open visits go to another active agent of the branch. Who "
            "enrolled a member (the acquisition incentive) does not change."
        ),
    },
}
