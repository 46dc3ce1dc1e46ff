"""payments, deposits: indexes that an agent's cash position reads without scanning or sorting his history

Recording cash works out the agent's cash on hand and his oldest undeposited cash from a running sum of his
settled cash payments (payments/ledger/recording.py). ix_payments_agent_settled_cash holds those payments alone,
in the running sum's order (paid_on, recorded_at, id), with the amount on PostgreSQL (INCLUDE), so the read is an
index-only range in order instead of every payment of the agent fetched and sorted. On PostgreSQL
ix_deposits_agent_id gains the amount (INCLUDE) for the sum of his deposits; SQLite has no INCLUDE and keeps it.

Revision ID: 0022_agent_cash_indexes
Revises: 0021_name_search_indexes
Create Date: 2026-12-05 22:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_agent_cash_indexes'
down_revision = '0021_name_search_indexes'
branch_labels = None
depends_on = None

SETTLED_CASH = "channel = 'cash' AND status = 'settled'"


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(
            'ix_payments_agent_settled_cash', ['agent_id', 'paid_on', 'recorded_at', 'id'], unique=False,
            postgresql_include=['amount_idr'],
            postgresql_where=sa.text(SETTLED_CASH), sqlite_where=sa.text(SETTLED_CASH),
        )
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_deposits_agent_id', table_name='deposits')
        op.create_index('ix_deposits_agent_id', 'deposits', ['agent_id'], unique=False, postgresql_include=['amount_idr'])


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_deposits_agent_id', table_name='deposits')
        op.create_index('ix_deposits_agent_id', 'deposits', ['agent_id'], unique=False)
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_agent_settled_cash')
