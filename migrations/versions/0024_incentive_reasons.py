"""incentive lines and Wadah shares: a reason code and its figures instead of an English sentence

An approved statement's lines kept how each figure was computed as English text (rate_label, explanation), which
the Indonesian pages showed as it was. They now keep data: rate_bp (a collection or clawback line's rate), reason
(agents/incentives/rules.py Reason) and facts (JSON: days, months, counts, rupiah), and the pages word them in the
reader's language. A Wadah's stored summary keeps rate_bp and carrying_agents instead of its explanation. Existing
rows are converted by reading their sentences back; downgrade writes the English sentences again.

Revision ID: 0024_incentive_reasons
Revises: 0023_batch_answers
Create Date: 2026-12-06 00:45:00.000000

"""

import json
import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_incentive_reasons"
down_revision = "0023_batch_answers"
branch_labels = None
depends_on = None

DAY = r"(\d{4}-\d{2}-\d{2})"
MONTH = r"(\d{4}-\d{2})"
RATE = re.compile(r"^(\d+(?:\.\d+)?)%")
PACKAGE = re.compile(r"\(([A-Z+]+)\)$")

lines = sa.table(
    "incentive_lines",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("contribution_month", sa.Date),
    sa.column("month_number", sa.Integer),
    sa.column("base_idr", sa.Integer),
    sa.column("amount_idr", sa.Integer),
    sa.column("rate_label", sa.String),
    sa.column("explanation", sa.String),
    sa.column("rate_bp", sa.Integer),
    sa.column("reason", sa.String),
    sa.column("facts", sa.Text),
)
statements = sa.table(
    "incentive_statements",
    sa.column("id", sa.Integer),
    sa.column("holder_kind", sa.String),
    sa.column("month", sa.Date),
    sa.column("summary", sa.Text),
)


def _rate_bp(rate_label):
    found = RATE.match(rate_label or "")
    return round(float(found.group(1)) * 100) if found else None


def _digits(text):
    return int(re.sub(r"\D", "", text)) if re.search(r"\d", text) else 0


def reason_of(kind, rate_label, explanation):
    """A stored line's reason, facts and rate from its English sentences (as rules.py wrote them until 0024)."""
    text = explanation or ""
    facts = {}
    if kind == "carried":
        found = re.search(r"carried from " + MONTH, text)
        return "carried", ({"carried_from": found.group(1)} if found else {}), None
    if kind == "acquisition":
        found = re.search(r"enrolled on " + DAY, text)
        if found:
            facts["enrolled_on"] = found.group(1)
        package = PACKAGE.search(rate_label or "")
        if package:
            facts["package"] = package.group(1)
        under = re.search(r"(\d+) new NIKs this month, fewer than (\d+)", text)
        counted = re.search(r"one of (\d+) this month \(at least (\d+)\)", text)
        if under or counted:
            count, threshold = (under or counted).groups()
            facts |= {"new_nik_count": int(count), "threshold": int(threshold)}
            return ("under_threshold" if under else "new_nik"), facts, None
        return "reenrolment", facts, None
    rate_bp = _rate_bp(rate_label)
    if kind == "clawback":
        found = re.search(r"reversed on " + DAY + r": takes back the (-?Rp[\d.,]+) it earned in " + MONTH, text)
        if found:
            facts = {"reversed_on": found.group(1), "earned_idr": _digits(found.group(2)), "earned_in": found.group(3)}
        return "reversed", facts, rate_bp
    found = re.search(r"collected on " + DAY + r"(?:, eligible on " + DAY + r")?", text)
    if found:
        facts["collected_on"] = found.group(1)
        if found.group(2):
            facts["eligible_on"] = found.group(2)
    if kind == "pending":
        return "awaiting_approval", facts, rate_bp
    return ("past_last_band" if "past the last paid band" in text else "collected"), facts, rate_bp


def _rupiah(amount):
    return ("-" if amount < 0 else "") + f"Rp{abs(amount):,}".replace(",", ".")


def _month(first_day):
    return first_day.strftime("%Y-%m") if first_day else ""


def _percent(rate_bp):
    whole, rest = divmod(rate_bp or 0, 100)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest:02d}".rstrip("0") + "%"


def sentences_of(row):
    """The English rate_label and explanation of a line, for a downgrade."""
    facts = json.loads(row.facts or "{}")
    reason, g = row.reason, facts.get
    if row.kind == "carried":
        amount = _rupiah(row.amount_idr)
        return "carried", f"{amount} carried from {g('carried_from')}, where clawbacks exceeded earnings"
    if row.kind == "acquisition":
        rate = f"{_rupiah(row.base_idr)} ({g('package', '')})"
        if reason == "reenrolment":
            why = "NIK registered before: a re-enrolment earns no fee and does not count"
        elif reason == "under_threshold":
            why = f"{g('new_nik_count')} new NIKs this month, fewer than {g('threshold')}: no fee"
        else:
            why = f"new NIK, one of {g('new_nik_count')} this month (at least {g('threshold')})"
        return rate, f"enrolled on {g('enrolled_on')}; {why}"
    rate = f"{_percent(row.rate_bp)} (month {row.month_number})"
    if reason == "reversed":
        earned = _rupiah(g("earned_idr") or 0)
        return rate, f"payment reversed on {g('reversed_on')}: takes back the {earned} it earned in {g('earned_in')}"
    why = f"contribution month {row.month_number}"
    if reason == "past_last_band":
        why += ", past the last paid band: no collection incentive"
    return rate, (
        f"{_rupiah(row.base_idr)} for {_month(row.contribution_month)} collected on {g('collected_on')}, eligible on "
        f"{g('eligible_on')}; {why}"
    )


def upgrade():
    with op.batch_alter_table("incentive_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_bp", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("facts", sa.Text(), nullable=True))
    bind = op.get_bind()
    for row in bind.execute(sa.select(lines.c.id, lines.c.kind, lines.c.rate_label, lines.c.explanation)).all():
        reason, facts, rate_bp = reason_of(row.kind, row.rate_label, row.explanation)
        bind.execute(
            lines.update().where(lines.c.id == row.id).values(rate_bp=rate_bp, reason=reason, facts=json.dumps(facts))
        )
    for row in bind.execute(
        sa.select(statements.c.id, statements.c.summary).where(statements.c.holder_kind == "wadah")
    ).all():
        summary = json.loads(row.summary)
        text = summary.pop("explanation", "")
        found = RATE.match(text)
        carrying = re.search(r"; (\d+) agents with a negative month", text)
        summary["rate_bp"] = round(float(found.group(1)) * 100) if found else 1000
        summary["carrying_agents"] = int(carrying.group(1)) if carrying else 0
        bind.execute(statements.update().where(statements.c.id == row.id).values(summary=json.dumps(summary)))
    with op.batch_alter_table("incentive_lines", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.String(length=24), nullable=False)
        batch_op.alter_column("facts", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("explanation")
        batch_op.drop_column("rate_label")


def downgrade():
    with op.batch_alter_table("incentive_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rate_label", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("explanation", sa.String(length=300), nullable=True))
    bind = op.get_bind()
    for row in bind.execute(
        sa.select(
            lines.c.id,
            lines.c.kind,
            lines.c.contribution_month,
            lines.c.month_number,
            lines.c.base_idr,
            lines.c.amount_idr,
            lines.c.rate_bp,
            lines.c.reason,
            lines.c.facts,
        )
    ).all():
        rate_label, explanation = sentences_of(row)
        bind.execute(
            lines.update().where(lines.c.id == row.id).values(rate_label=rate_label[:40], explanation=explanation[:300])
        )
    for row in bind.execute(
        sa.select(statements.c.id, statements.c.month, statements.c.summary).where(statements.c.holder_kind == "wadah")
    ).all():
        summary = json.loads(row.summary)
        rate_bp, carrying = summary.pop("rate_bp", 1000), summary.pop("carrying_agents", 0)
        text = (
            f"{_percent(rate_bp)} of {_rupiah(summary.get('base_idr', 0))}, "
            f"what {len(summary.get('agent_totals', {}))} agents are paid for {_month(row.month)}, rounded half up"
        )
        if carrying:
            text += f"; {carrying} agents with a negative month add nothing and carry it to their next month"
        summary["explanation"] = text
        bind.execute(statements.update().where(statements.c.id == row.id).values(summary=json.dumps(summary)))
    with op.batch_alter_table("incentive_lines", schema=None) as batch_op:
        batch_op.alter_column("rate_label", existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column("explanation", existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_column("facts")
        batch_op.drop_column("reason")
        batch_op.drop_column("rate_bp")
