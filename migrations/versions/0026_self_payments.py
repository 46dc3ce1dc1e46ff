"""members on their own: one-time codes, members' sessions, self-paid charges; channels virtual_account and qris

Revision ID: 0026_self_payments
Revises: 0025_finance_texts_as_data
Create Date: 2026-12-06 00:40:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0026_self_payments'
down_revision = "0025_finance_texts_as_data"
branch_labels = None
depends_on = None

CHANNELS = "channel IN ('cash', 'auto_debit', 'sponsor', 'bank_transfer', 'imported')"
CHANNELS_WITH_SELF_PAYMENTS = (
    "channel IN ('cash', 'auto_debit', 'sponsor', 'bank_transfer', 'imported', 'virtual_account', 'qris')"
)


def upgrade():
    op.create_table(
        'member_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('challenge_digest', sa.String(length=64), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=True),
        sa.Column('code_digest', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_member_codes_attempts_non_negative')),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_codes_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_codes')),
        sa.UniqueConstraint('challenge_digest', name=op.f('uq_member_codes_challenge_digest')),
    )
    with op.batch_alter_table('member_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_codes_member_id'), ['member_id'], unique=False)

    op.create_table(
        'member_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_sessions_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_sessions')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_member_sessions_token_digest')),
    )
    with op.batch_alter_table('member_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_sessions_member_id'), ['member_id'], unique=False)

    op.create_table(
        'self_charges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.String(length=64), nullable=True),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('first_month', sa.Date(), nullable=False),
        sa.Column('months', sa.Integer(), nullable=False),
        sa.Column('amount_idr', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('va_bank', sa.String(length=16), nullable=True),
        sa.Column('va_number', sa.String(length=40), nullable=True),
        sa.Column('qr_string', sa.Text(), nullable=True),
        sa.Column('provider_transaction_id', sa.String(length=80), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('failure_reason', sa.String(length=200), nullable=True),
        sa.Column('payment_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('amount_idr > 0', name=op.f('ck_self_charges_amount_positive')),
        sa.CheckConstraint('months > 0', name=op.f('ck_self_charges_months_positive')),
        sa.CheckConstraint("method IN ('virtual_account', 'qris')", name=op.f('ck_self_charges_method_known')),
        sa.CheckConstraint(
            "status IN ('created', 'pending', 'settled', 'expired', 'failed', 'review')",
            name=op.f('ck_self_charges_status_known'),
        ),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_self_charges_member_id_members')),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_self_charges_payment_id_payments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_self_charges')),
        sa.UniqueConstraint('order_id', name=op.f('uq_self_charges_order_id')),
    )
    with op.batch_alter_table('self_charges', schema=None) as batch_op:
        batch_op.create_index('ix_self_charges_member_status', ['member_id', 'status'], unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint('channel_known', type_='check')
        batch_op.create_check_constraint('channel_known', CHANNELS_WITH_SELF_PAYMENTS)


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint('channel_known', type_='check')
        batch_op.create_check_constraint('channel_known', CHANNELS)
    with op.batch_alter_table('self_charges', schema=None) as batch_op:
        batch_op.drop_index('ix_self_charges_member_status')
    op.drop_table('self_charges')
    with op.batch_alter_table('member_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_sessions_member_id'))
    op.drop_table('member_sessions')
    with op.batch_alter_table('member_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_codes_member_id'))
    op.drop_table('member_codes')
