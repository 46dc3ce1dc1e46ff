"""text enquiries: inbound_texts, each gateway message once (CEK <KPJ> answered to the phone on record)

Revision ID: 0028_pay_links
Revises: 0027_agent_cash_totals
Create Date: 2026-12-06 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028_pay_links'
down_revision = '0027_agent_cash_totals'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'inbound_texts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('message_id', sa.String(length=100), nullable=False),
        sa.Column('sender', sa.String(length=32), nullable=False),
        sa.Column('body', sa.String(length=320), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('answered', 'limited', 'ignored')", name=op.f('ck_inbound_texts_outcome_known')
        ),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_inbound_texts_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_texts')),
        sa.UniqueConstraint('provider', 'message_id', name=op.f('uq_inbound_texts_provider_message_id')),
    )
    with op.batch_alter_table('inbound_texts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_texts_member_id'), ['member_id'], unique=False)


def downgrade():
    with op.batch_alter_table('inbound_texts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_texts_member_id'))
    op.drop_table('inbound_texts')
