"""the roster of field agents: their NIKs, areas, status history and the proposals to deactivate idle agents

Revision ID: 0015_agent_roster
Revises: 0014_administration
Create Date: 2026-12-05 15:09:17.977734

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_agent_roster'
down_revision = '0014_administration'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agent_areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.CheckConstraint("kind IN ('village', 'district')", name=op.f('ck_agent_areas_kind_known')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_areas_agent_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_areas')),
    sa.UniqueConstraint('agent_id', 'kind', 'key', name=op.f('uq_agent_areas_agent_id_kind_key'))
    )
    with op.batch_alter_table('agent_areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_areas_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index('ix_agent_areas_kind_key', ['kind', 'key'], unique=False)

    op.create_table('agent_deactivation_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('idle_since', sa.DateTime(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.CheckConstraint("status IN ('open', 'accepted', 'dismissed', 'superseded')", name=op.f('ck_agent_deactivation_proposals_status_known')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_deactivation_proposals_agent_id_agents')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_agent_deactivation_proposals_branch_id_branches')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['staff_users.id'], name=op.f('fk_agent_deactivation_proposals_decided_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_deactivation_proposals'))
    )
    with op.batch_alter_table('agent_deactivation_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_deactivation_proposals_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_deactivation_proposals_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index('uq_agent_deactivation_proposals_open', ['agent_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('agent_profiles',
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('nik', sa.String(length=16), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=True),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=True),
    sa.CheckConstraint("sex IN ('M', 'F')", name=op.f('ck_agent_profiles_sex_known')),
    sa.CheckConstraint('length(nik) = 16', name=op.f('ck_agent_profiles_nik_16_digits')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_profiles_agent_id_agents')),
    sa.PrimaryKeyConstraint('agent_id', name=op.f('pk_agent_profiles')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_agent_profiles_idempotency_key')),
    sa.UniqueConstraint('nik', name=op.f('uq_agent_profiles_nik'))
    )
    op.create_table('agent_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('changed_by_user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("to_status IN ('active', 'deactivated', 'terminated')", name=op.f('ck_agent_status_changes_to_status_known')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_status_changes_agent_id_agents')),
    sa.ForeignKeyConstraint(['changed_by_user_id'], ['staff_users.id'], name=op.f('fk_agent_status_changes_changed_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_status_changes'))
    )
    with op.batch_alter_table('agent_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_status_changes_agent_id'), ['agent_id'], unique=False)



def downgrade():
    with op.batch_alter_table('agent_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_status_changes_agent_id'))

    op.drop_table('agent_status_changes')
    op.drop_table('agent_profiles')
    with op.batch_alter_table('agent_deactivation_proposals', schema=None) as batch_op:
        batch_op.drop_index('uq_agent_deactivation_proposals_open', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_agent_deactivation_proposals_branch_id'))
        batch_op.drop_index(batch_op.f('ix_agent_deactivation_proposals_agent_id'))

    op.drop_table('agent_deactivation_proposals')
    with op.batch_alter_table('agent_areas', schema=None) as batch_op:
        batch_op.drop_index('ix_agent_areas_kind_key')
        batch_op.drop_index(batch_op.f('ix_agent_areas_agent_id'))

    op.drop_table('agent_areas')
