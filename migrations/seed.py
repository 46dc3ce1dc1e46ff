"""Reference data that migrations keep in sync: the contribution table and the holiday calendar.

Both ship as data files (``collection/members/data/``). ``seed_reference_data`` inserts what is missing and
changes nothing that exists, so a later migration can call it again after a data file gains rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from collection.members.due_dates import load_holidays_csv
from collection.members.rates import default_rate_table

_schedules = sa.table(
    "rate_schedules",
    sa.column("id", sa.Integer),
    sa.column("effective_from", sa.Date),
    sa.column("effective_to", sa.Date),
    sa.column("jkk_rate_bp", sa.Integer),
    sa.column("jkm_flat_idr", sa.Integer),
    sa.column("jht_rate_bp", sa.Integer),
    sa.column("source", sa.String),
)
_brackets = sa.table(
    "rate_brackets",
    sa.column("schedule_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("income_from_idr", sa.Integer),
    sa.column("income_to_idr", sa.Integer),
    sa.column("base_idr", sa.Integer),
)
_discounts = sa.table(
    "rate_discounts",
    sa.column("name", sa.String),
    sa.column("programmes", sa.String),
    sa.column("percent", sa.Integer),
    sa.column("sectors", sa.String),
    sa.column("first_month", sa.Date),
    sa.column("last_month", sa.Date),
    sa.column("excluded_payers", sa.String),
    sa.column("source", sa.String),
)
_holidays = sa.table(
    "holidays",
    sa.column("on", sa.Date),
    sa.column("name", sa.String),
    sa.column("region_code", sa.String),
)


def seed_reference_data() -> None:
    """Insert the shipped rate schedules, discounts and holidays that the database does not have yet."""
    bind = op.get_bind()
    table = default_rate_table()
    known_schedules = set(bind.execute(sa.select(_schedules.c.effective_from)).scalars())
    for schedule in table.schedules:
        start = schedule.effective_from.first_day()
        if start in known_schedules:
            continue
        schedule_id = bind.execute(
            _schedules.insert()
            .values(
                effective_from=start,
                effective_to=schedule.effective_to.first_day() if schedule.effective_to else None,
                jkk_rate_bp=schedule.jkk_rate_bp,
                jkm_flat_idr=schedule.jkm_flat_idr,
                jht_rate_bp=schedule.jht_rate_bp,
                source=schedule.source,
            )
            .returning(_schedules.c.id)
        ).scalar_one()
        bind.execute(
            _brackets.insert(),
            [
                {
                    "schedule_id": schedule_id,
                    "number": bracket.number,
                    "income_from_idr": bracket.income_from_idr,
                    "income_to_idr": bracket.income_to_idr,
                    "base_idr": bracket.base_idr,
                }
                for bracket in schedule.brackets
            ],
        )
    known_discounts = set(bind.execute(sa.select(_discounts.c.name)).scalars())
    new_discounts = [
        {
            "name": discount.name,
            "programmes": ",".join(sorted(discount.programmes)),
            "percent": discount.percent,
            "sectors": ",".join(sorted(discount.sectors)),
            "first_month": discount.first_month.first_day(),
            "last_month": discount.last_month.first_day(),
            "excluded_payers": ",".join(sorted(discount.excluded_payers)),
            "source": discount.source,
        }
        for discount in table.discounts
        if discount.name not in known_discounts
    ]
    if new_discounts:
        bind.execute(_discounts.insert(), new_discounts)
    known_holidays = {tuple(row) for row in bind.execute(sa.select(_holidays.c.on, _holidays.c.region_code))}
    new_holidays = [
        {"on": row.on, "name": row.name, "region_code": row.region_code or ""}
        for row in load_holidays_csv()
        if (row.on, row.region_code or "") not in known_holidays
    ]
    if new_holidays:
        bind.execute(_holidays.insert(), new_holidays)


def protect_audit_log() -> None:
    """Make the audit log append-only in the database itself: UPDATE and DELETE raise."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_events is append-only';
            END $$;
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def unprotect_audit_log() -> None:
    """Undo :func:`protect_audit_log` (downgrade only)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
