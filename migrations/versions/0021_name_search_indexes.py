"""member_name_keys: indexes that name search can use under any collation, and the member's branch on each key

On PostgreSQL the key is indexed with varchar_pattern_ops: the plain btree ix_member_name_keys_key served a prefix
LIKE only under the C collation, so a database created with a language collation scanned every key. The new
indexes hold (key, member_id) for a search across branches and (branch_id, key, member_id) for a search within a
branch, which reads that branch's keys alone; the branch is copied from the member (members never change branch).
ix_member_name_keys_key goes: equality on the key uses the new index as well.

Revision ID: 0021_name_search_indexes
Revises: 0020_outbox_unsent_index
Create Date: 2026-12-05 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_name_search_indexes'
down_revision = '0020_outbox_unsent_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('member_name_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('branch_id', sa.Integer(), nullable=True))
    op.execute(
        'UPDATE member_name_keys SET branch_id = '
        '(SELECT members.branch_id FROM members WHERE members.id = member_name_keys.member_id)'
    )
    with op.batch_alter_table('member_name_keys', schema=None) as batch_op:
        batch_op.alter_column('branch_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_member_name_keys_branch_id_branches'), 'branches', ['branch_id'], ['id']
        )
        batch_op.create_index(
            'ix_member_name_keys_key_member', ['key', 'member_id'], unique=False,
            postgresql_ops={'key': 'varchar_pattern_ops'},
        )
        batch_op.create_index(
            'ix_member_name_keys_branch_key_member', ['branch_id', 'key', 'member_id'], unique=False,
            postgresql_ops={'key': 'varchar_pattern_ops'},
        )
        batch_op.drop_index('ix_member_name_keys_key')


def downgrade():
    with op.batch_alter_table('member_name_keys', schema=None) as batch_op:
        batch_op.create_index('ix_member_name_keys_key', ['key'], unique=False)
        batch_op.drop_index('ix_member_name_keys_branch_key_member')
        batch_op.drop_index('ix_member_name_keys_key_member')
        batch_op.drop_constraint(batch_op.f('fk_member_name_keys_branch_id_branches'), type_='foreignkey')
        batch_op.drop_column('branch_id')
