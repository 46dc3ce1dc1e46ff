"""member_name_keys: one index on (key, member_id) that serves name search's prefix LIKE under any collation

On PostgreSQL the key is indexed with varchar_pattern_ops: the plain btree ix_member_name_keys_key serves a
prefix LIKE only under the C collation, so a database created with a language collation scanned every key.
The new index also holds member_id, so a search reads the keys' members from the index alone; it replaces
ix_member_name_keys_key (equality on the key uses it as well).

Revision ID: 0021_name_key_prefix_index
Revises: 0020_outbox_unsent_index
Create Date: 2026-12-05 21:15:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021_name_key_prefix_index'
down_revision = '0020_outbox_unsent_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('member_name_keys', schema=None) as batch_op:
        batch_op.create_index(
            'ix_member_name_keys_key_member', ['key', 'member_id'], unique=False,
            postgresql_ops={'key': 'varchar_pattern_ops'},
        )
        batch_op.drop_index('ix_member_name_keys_key')


def downgrade():
    with op.batch_alter_table('member_name_keys', schema=None) as batch_op:
        batch_op.create_index('ix_member_name_keys_key', ['key'], unique=False)
        batch_op.drop_index('ix_member_name_keys_key_member')
