"""statement_lines, daily_batches, branch_alerts: unmatched reasons, variances and alerts stored as codes and figures

The matcher wrote its reasons into statement_lines.note as English sentences ("2 deposits of this amount in the
days before: match it by hand"), and an approved batch's snapshot held each variance's cause as an English
sentence; the desk and the API now word them in the reader's language from a code and its figures. The note
becomes note_code with note_count, note_amount_idr and note_on (note keeps finance's own reason for a match by
hand or an ignore), and each variance of a snapshot gets its reference, declared and banked amounts, day and
deadline in place of its cause. A cash_limit alert keeps the agent's cash, oldest day and deadline (held_idr,
oldest_on, due_by) in place of its English message. Existing rows are converted; a sentence that cannot be read
keeps its text.

Revision ID: 0025_finance_texts_as_data
Revises: 0024_incentive_reasons
Create Date: 2026-12-06 00:40:00.000000

"""
import json
import re
from datetime import date

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0025_finance_texts_as_data'
down_revision = "0024_incentive_reasons"
branch_labels = None
depends_on = None

NO_MATCH = "no deposit or provider payout with this reference or amount"
NOTES = (  # (code, pattern): the groups are note_count, note_amount_idr, note_on where the code has them
    ("many_by_reference", re.compile(r"^(?P<count>\d+) deposits carry this reference: match it by hand$")),
    ("many_by_amount", re.compile(r"^(?P<count>\d+) deposits of this amount in the days before: match it by hand$")),
    ("declared_differs", re.compile(r"^deposit declared as Rp(?P<amount>\d+)$")),
    ("provider_payout", re.compile(r"^.+ payout of (?P<count>\d+) debit\(s\) settled (?P<on>\d{4}-\d{2}-\d{2})$")),
)
NOT_IN_BANK = re.compile(r"^Deposit (?P<reference>.+) of Rp(?P<declared>[\d.]+) is on no imported bank statement\.$")
SHORT_OR_OVER = re.compile(
    r"^Deposit (?P<reference>.+) was declared as Rp(?P<declared>[\d.]+); the bank credited Rp(?P<banked>[\d.]+): "
)
CASH_DUE = re.compile(
    r"^Rp(?P<amount>[\d.]+) of this day's cash is due at the bank by (?P<due>\d{4}-\d{2}-\d{2}|None)\.$"
)
NO_STATEMENT = re.compile(r"^Deposit (?P<reference>.+): no imported bank statement covers (?P<day>[\d-]+) yet\.$")

lines = sa.table(
    'statement_lines',
    sa.column('id', sa.Integer), sa.column('note', sa.String), sa.column('note_code', sa.String),
    sa.column('note_count', sa.Integer), sa.column('note_amount_idr', sa.BigInteger), sa.column('note_on', sa.Date),
    sa.column('provider', sa.String),
)
batches = sa.table('daily_batches', sa.column('id', sa.Integer), sa.column('approved_snapshot', sa.Text))
alerts = sa.table(
    'branch_alerts', sa.column('id', sa.Integer), sa.column('agent_id', sa.Integer), sa.column('message', sa.Text),
    sa.column('held_idr', sa.BigInteger),
    sa.column('oldest_on', sa.Date), sa.column('due_by', sa.Date),
)
ALERT = re.compile(
    r"^Agent (?P<code>\S+) holds Rp(?P<held>[\d.]+) undeposited"
    r"(?:, oldest from (?P<oldest>\d{4}-\d{2}-\d{2}) \(due by (?P<due>\d{4}-\d{2}-\d{2})\))?"
    r": new cash is blocked until a deposit is recorded\.$"
)


def upgrade():
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note_code', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('note_count', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('note_amount_idr', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True)
        )
        batch_op.add_column(sa.Column('note_on', sa.Date(), nullable=True))
    with op.batch_alter_table('branch_alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_idr', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('oldest_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('due_by', sa.Date(), nullable=True))
        batch_op.alter_column('message', existing_type=sa.Text(), nullable=True)
    bind = op.get_bind()
    for alert_id, message in bind.execute(sa.select(alerts.c.id, alerts.c.message)).all():
        found = ALERT.match(message or '')
        if found:
            bind.execute(alerts.update().where(alerts.c.id == alert_id).values(
                message=None, held_idr=_idr(found['held']),
                oldest_on=date.fromisoformat(found['oldest']) if found['oldest'] else None,
                due_by=date.fromisoformat(found['due']) if found['due'] else None,
            ))
    bind.execute(lines.update().where(lines.c.note == NO_MATCH).values(note_code='no_match', note=None))
    for line_id, note in bind.execute(
        sa.select(lines.c.id, lines.c.note).where(
            sa.or_(lines.c.note.like('% match it by hand'), lines.c.note.like('deposit declared as Rp%'),
                   lines.c.note.like('% payout of % debit(s) settled %'))
        )
    ).all():
        for code, pattern in NOTES:
            found = pattern.match(note)
            if found:
                figures = found.groupdict()
                bind.execute(lines.update().where(lines.c.id == line_id).values(
                    note=None, note_code=code,
                    note_count=int(figures['count']) if 'count' in figures else None,
                    note_amount_idr=int(figures['amount']) if 'amount' in figures else None,
                    note_on=date.fromisoformat(figures['on']) if 'on' in figures else None,
                ))
                break
    for batch_id, snapshot in bind.execute(
        sa.select(batches.c.id, batches.c.approved_snapshot).where(batches.c.approved_snapshot.is_not(None))
    ).all():
        data = json.loads(snapshot)
        data['variances'] = [_variance(v, data) for v in data.get('variances', [])]
        data['pending'] = [_pending(p) for p in data.get('pending', [])]
        bind.execute(batches.update().where(batches.c.id == batch_id).values(
            approved_snapshot=json.dumps(data, sort_keys=True)
        ))


def _idr(text):
    return int(text.replace('.', ''))


def _variance(variance, figures):
    if 'cause' not in variance:
        return variance
    cause = variance.pop('cause')
    data = {'reference': None, 'declared_idr': None, 'banked_idr': None, 'collected_on': None, 'due_by': None}
    if variance['kind'] == 'missing_deposit':
        data.update(collected_on=figures.get('business_date'), due_by=figures.get('deposit_due_by'))
    elif (found := NOT_IN_BANK.match(cause)):
        data.update(reference=found['reference'], declared_idr=_idr(found['declared']))
    elif (found := SHORT_OR_OVER.match(cause)):
        data.update(
            reference=found['reference'], declared_idr=_idr(found['declared']), banked_idr=_idr(found['banked'])
        )
    return {**variance, **data}


def _pending(pending):
    if not isinstance(pending, str):
        return pending
    if (found := CASH_DUE.match(pending)):
        due = None if found['due'] == 'None' else found['due']
        return {'code': 'cash_due', 'amount_idr': _idr(found['amount']), 'reference': None, 'day': None, 'due_by': due}
    found = NO_STATEMENT.match(pending)
    return {
        'code': 'no_statement', 'amount_idr': 0, 'reference': found['reference'] if found else pending,
        'day': found['day'] if found else None, 'due_by': None,
    }


def downgrade():
    bind = op.get_bind()
    codes = sa.table('agents', sa.column('id', sa.Integer), sa.column('code', sa.String))
    for alert_id, held, oldest, due, code in bind.execute(
        sa.select(alerts.c.id, alerts.c.held_idr, alerts.c.oldest_on, alerts.c.due_by, codes.c.code)
        .select_from(alerts.outerjoin(codes, codes.c.id == alerts.c.agent_id))
        .where(alerts.c.held_idr.is_not(None))
    ).all():
        overdue = f", oldest from {oldest} (due by {due})" if oldest else ""
        message = f"Agent {code} holds {_rp(held)} undeposited{overdue}: new cash is blocked until a deposit is recorded."
        bind.execute(alerts.update().where(alerts.c.id == alert_id).values(message=message))
    bind.execute(alerts.update().where(alerts.c.message.is_(None)).values(message=''))
    with op.batch_alter_table('branch_alerts', schema=None) as batch_op:
        batch_op.alter_column('message', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('due_by')
        batch_op.drop_column('oldest_on')
        batch_op.drop_column('held_idr')
    bind.execute(lines.update().where(lines.c.note_code == 'no_match').values(note=NO_MATCH))
    for line_id, code, count, amount, on, provider in bind.execute(
        sa.select(lines.c.id, lines.c.note_code, lines.c.note_count, lines.c.note_amount_idr, lines.c.note_on,
                  lines.c.provider).where(lines.c.note_code.is_not(None), lines.c.note_code != 'no_match')
    ).all():
        note = {
            'many_by_reference': f"{count} deposits carry this reference: match it by hand",
            'many_by_amount': f"{count} deposits of this amount in the days before: match it by hand",
            'declared_differs': f"deposit declared as Rp{amount}",
            'provider_payout': f"{provider} payout of {count} debit(s) settled {on}",
        }.get(code, code)
        bind.execute(lines.update().where(lines.c.id == line_id).values(note=note))
    with op.batch_alter_table('statement_lines', schema=None) as batch_op:
        batch_op.drop_column('note_on')
        batch_op.drop_column('note_amount_idr')
        batch_op.drop_column('note_count')
        batch_op.drop_column('note_code')
    for batch_id, snapshot in bind.execute(
        sa.select(batches.c.id, batches.c.approved_snapshot).where(batches.c.approved_snapshot.is_not(None))
    ).all():
        data = json.loads(snapshot)
        for variance in data.get('variances', []):
            variance['cause'] = _cause(variance)
            for name in ('reference', 'declared_idr', 'banked_idr', 'collected_on', 'due_by'):
                variance.pop(name, None)
        data['pending'] = []  # an approved batch has nothing pending
        bind.execute(batches.update().where(batches.c.id == batch_id).values(
            approved_snapshot=json.dumps(data, sort_keys=True)
        ))


def _rp(amount):
    return 'Rp' + f"{amount or 0:,}".replace(',', '.')


def _cause(v):
    if v['kind'] == 'missing_deposit':
        return (
            f"{_rp(v['amount_idr'])} of the cash collected on {v.get('collected_on')} was not deposited by "
            f"{v.get('due_by')}."
        )
    if v['kind'] == 'not_in_bank':
        return f"Deposit {v.get('reference')} of {_rp(v.get('declared_idr'))} is on no imported bank statement."
    word = 'short' if v['kind'] == 'short_in_bank' else 'over'
    return (
        f"Deposit {v.get('reference')} was declared as {_rp(v.get('declared_idr'))}; the bank credited "
        f"{_rp(v.get('banked_idr'))}: {_rp(v['amount_idr'])} {word}."
    )
