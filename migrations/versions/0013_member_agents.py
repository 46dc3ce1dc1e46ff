"""the agent who serves a member now, apart from the one who enrolled him

Revision ID: 0013_member_agents
Revises: 0012_outbox_claims
Create Date: 2026-12-05 15:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_member_agents'
down_revision = '0012_outbox_claims'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agent_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_members_agent_id'), ['agent_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_members_agent_id_agents'), 'agents', ['agent_id'], ['id'])
    op.execute("UPDATE members SET agent_id = enrolled_by_agent_id")


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_members_agent_id_agents'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_members_agent_id'))
        batch_op.drop_column('agent_id')
