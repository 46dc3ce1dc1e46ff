"""Migration 0024: approved statements stored as English sentences become reason codes with their figures, and a
downgrade writes the same sentences back."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import flask_migrate
from sqlalchemy import text

from core.extensions import db

BEFORE = "0022_agent_cash_indexes"
LINES = [  # kind, contribution month, month number, base, amount, rate_label, explanation (as rules.py wrote them)
    (
        "carried",
        None,
        None,
        -1_260,
        -1_260,
        "carried",
        "-Rp1.260 carried from 2026-09, where clawbacks exceeded earnings",
    ),
    (
        "acquisition",
        None,
        None,
        15_000,
        0,
        "Rp15.000 (JKK+JKM+JHT)",
        "enrolled on 2026-10-19; 2 new NIKs this month, fewer than 25: no fee",
    ),
    (
        "acquisition",
        None,
        None,
        10_000,
        10_000,
        "Rp10.000 (JKK+JKM)",
        "enrolled on 2026-10-20; new NIK, one of 25 this month (at least 25)",
    ),
    (
        "acquisition",
        None,
        None,
        10_000,
        0,
        "Rp10.000 (JKK+JKM)",
        "enrolled on 2026-10-21; NIK registered before: a re-enrolment earns no fee and does not count",
    ),
    (
        "collection",
        date(2026, 10, 1),
        7,
        8_400,
        1_260,
        "15% (month 7)",
        "Rp8.400 for 2026-10 collected on 2026-10-02, eligible on 2026-10-05; contribution month 7",
    ),
    (
        "collection",
        date(2026, 10, 1),
        61,
        8_400,
        0,
        "0% (month 61)",
        "Rp8.400 for 2026-10 collected on 2026-10-02, eligible on 2026-10-05; contribution month 61, past the last "
        "paid band: no collection incentive",
    ),
    (
        "clawback",
        date(2026, 9, 1),
        25,
        16_800,
        -840,
        "5% (month 25)",
        "payment reversed on 2026-10-03: takes back the Rp840 it earned in 2026-09",
    ),
]
WADAH_TEXT = (
    "10% of Rp11.260, what 1 agents are paid for 2026-10, rounded half up; 1 agents with a negative month add "
    "nothing and carry it to their next month"
)


def _store_the_old_way(world: dict[str, Any]) -> None:
    finance = world["finance"]
    insert = text(
        "INSERT INTO incentive_statements (holder_kind, holder_id, branch_id, month, total_idr, payable_idr, "
        "carried_out_idr, summary, approved_by_user_id, approved_at) VALUES (:kind, :holder, :branch, :month, 0, 0, 0, "
        ":summary, :user, :at)"
    )
    common = {"branch": world["pkp"], "month": date(2026, 10, 1), "user": finance.id, "at": datetime(2026, 11, 2)}
    db.session.execute(insert, {**common, "kind": "agent", "holder": world["agent"].agent_id, "summary": "{}"})
    summary = json.dumps({"agent_totals": {"1": 11_260}, "base_idr": 11_260, "explanation": WADAH_TEXT})
    db.session.execute(insert, {**common, "kind": "wadah", "holder": 1, "summary": summary})
    statement_id = db.session.scalar(text("SELECT id FROM incentive_statements WHERE holder_kind = 'agent'"))
    for kind, month, number, base, amount, rate_label, explanation in LINES:
        db.session.execute(
            text(
                "INSERT INTO incentive_lines (statement_id, kind, contribution_month, month_number, base_idr, "
                "rate_label, amount_idr, explanation) VALUES (:s, :kind, :month, :number, :base, :rate, :amount, "
                ":why)"
            ),
            {
                "s": statement_id,
                "kind": kind,
                "month": month,
                "number": number,
                "base": base,
                "rate": rate_label,
                "amount": amount,
                "why": explanation,
            },
        )
    db.session.commit()


def test_0024_turns_stored_sentences_into_reasons_with_figures_and_back(app: Any, world: dict[str, Any]) -> None:
    with app.app_context():
        flask_migrate.downgrade(revision=BEFORE)
        _store_the_old_way(world)

        flask_migrate.upgrade()
        converted = db.session.execute(text("SELECT reason, rate_bp, facts FROM incentive_lines ORDER BY id")).all()
        wadah = json.loads(
            db.session.scalar(text("SELECT summary FROM incentive_statements WHERE holder_kind='wadah'"))
        )
        db.session.commit()
        flask_migrate.downgrade(revision=BEFORE)
        restored = db.session.execute(text("SELECT rate_label, explanation FROM incentive_lines ORDER BY id")).all()
        summary = json.loads(
            db.session.scalar(text("SELECT summary FROM incentive_statements WHERE holder_kind='wadah'"))
        )
        db.session.commit()
        flask_migrate.upgrade()

    assert [(reason, rate_bp, json.loads(facts)) for reason, rate_bp, facts in converted] == [
        ("carried", None, {"carried_from": "2026-09"}),
        (
            "under_threshold",
            None,
            {"enrolled_on": "2026-10-19", "package": "JKK+JKM+JHT", "new_nik_count": 2, "threshold": 25},
        ),
        ("new_nik", None, {"enrolled_on": "2026-10-20", "package": "JKK+JKM", "new_nik_count": 25, "threshold": 25}),
        ("reenrolment", None, {"enrolled_on": "2026-10-21", "package": "JKK+JKM"}),
        ("collected", 1_500, {"collected_on": "2026-10-02", "eligible_on": "2026-10-05"}),
        ("past_last_band", 0, {"collected_on": "2026-10-02", "eligible_on": "2026-10-05"}),
        ("reversed", 500, {"reversed_on": "2026-10-03", "earned_idr": 840, "earned_in": "2026-09"}),
    ]
    assert wadah == {"agent_totals": {"1": 11_260}, "base_idr": 11_260, "rate_bp": 1_000, "carrying_agents": 1}
    assert [tuple(row) for row in restored] == [(rate_label, why) for *_, rate_label, why in LINES]
    assert summary["explanation"] == WADAH_TEXT
