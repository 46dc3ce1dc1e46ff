"""members from the national system: its imports, the members each brought, and the 'imported' payment channel

Revision ID: 0016_national_members
Revises: 0015_agent_roster
Create Date: 2026-12-06 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_national_members'
down_revision = '0015_agent_roster'
branch_labels = None
depends_on = None

CHANNELS = "channel IN ('cash', 'auto_debit', 'sponsor', 'bank_transfer')"
CHANNELS_WITH_IMPORTED = "channel IN ('cash', 'auto_debit', 'sponsor', 'bank_transfer', 'imported')"


def upgrade():
    op.create_table('national_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('existing', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('report', sa.Text(), nullable=True),
    sa.Column('imported_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('running', 'done', 'failed')", name=op.f('ck_national_imports_status_known')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_national_imports_branch_id_branches')),
    sa.ForeignKeyConstraint(['imported_by_user_id'], ['staff_users.id'], name=op.f('fk_national_imports_imported_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_national_imports')),
    sa.UniqueConstraint('branch_id', 'file_sha256', name=op.f('uq_national_imports_branch_id_file_sha256')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_national_imports_idempotency_key'))
    )
    with op.batch_alter_table('national_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_national_imports_branch_id'), ['branch_id'], unique=False)

    op.create_table('national_members',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['national_imports.id'], name=op.f('fk_national_members_import_id_national_imports')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_national_members_member_id_members')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_national_members_payment_id_payments')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_national_members'))
    )
    with op.batch_alter_table('national_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_national_members_import_id'), ['import_id'], unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint('channel_known', type_='check')
        batch_op.create_check_constraint('channel_known', CHANNELS_WITH_IMPORTED)


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint('channel_known', type_='check')
        batch_op.create_check_constraint('channel_known', CHANNELS)
    with op.batch_alter_table('national_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_national_members_import_id'))
    op.drop_table('national_members')
    with op.batch_alter_table('national_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_national_imports_branch_id'))
    op.drop_table('national_imports')
