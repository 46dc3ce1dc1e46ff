"""outbox texts are claimed before they are sent, so two deliveries never send one twice

Revision ID: 0012_outbox_claims
Revises: 0011_statement_import_jobs
Create Date: 2026-12-05 13:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_outbox_claims'
down_revision = '0011_statement_import_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
