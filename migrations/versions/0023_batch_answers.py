"""daily_batches: the agent's answer to a day finance returned (a note, and when he sent it)

The agent answers a returned batch from his phone with a note (and, if need be, a corrected deposit recorded as
any other); the batch goes back to finance's queue (closed) with the note beside finance's reason.

Revision ID: 0023_batch_answers
Revises: 0022_agent_cash_indexes
Create Date: 2026-12-06 01:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_batch_answers'
down_revision = '0022_agent_cash_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('daily_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_note', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('daily_batches', schema=None) as batch_op:
        batch_op.drop_column('answered_at')
        batch_op.drop_column('answer_note')
