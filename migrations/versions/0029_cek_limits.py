"""text enquiries answered by a worker: inbound_texts' 'received' outcome, and indexes for the limits and the purge

Revision ID: 0029_cek_limits
Revises: 0028_pay_links
Create Date: 2026-12-06 07:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0029_cek_limits'
down_revision = '0028_pay_links'
branch_labels = None
depends_on = None

OUTCOMES = "outcome IN ('received', 'answered', 'limited', 'ignored')"
OUTCOMES_BEFORE = "outcome IN ('answered', 'limited', 'ignored')"


def upgrade():
    with op.batch_alter_table('inbound_texts', schema=None) as batch_op:
        batch_op.drop_constraint('outcome_known', type_='check')
        batch_op.create_check_constraint('outcome_known', OUTCOMES)
        batch_op.create_index('ix_inbound_texts_sender_received_at', ['sender', 'received_at'], unique=False)
        batch_op.create_index('ix_inbound_texts_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_inbound_texts_outcome', ['outcome'], unique=False)


def downgrade():
    op.execute("UPDATE inbound_texts SET outcome = 'ignored' WHERE outcome = 'received'")
    with op.batch_alter_table('inbound_texts', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_texts_outcome')
        batch_op.drop_index('ix_inbound_texts_received_at')
        batch_op.drop_index('ix_inbound_texts_sender_received_at')
        batch_op.drop_constraint('outcome_known', type_='check')
        batch_op.create_check_constraint('outcome_known', OUTCOMES_BEFORE)
