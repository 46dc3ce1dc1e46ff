"""outbox: a partial index on the unsent texts, so a delivery and a metrics scrape read only those

Revision ID: 0020_outbox_unsent_index
Revises: 0019_stored_files
Create Date: 2026-12-05 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_outbox_unsent_index'
down_revision = '0019_stored_files'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(
            'ix_outbox_messages_unsent', ['id'], unique=False,
            sqlite_where=sa.text('sent_at IS NULL'), postgresql_where=sa.text('sent_at IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_unsent')
