"""members: declared income as BIGINT

Revision ID: 0004_income_bigint
Revises: 0003_auto_debit
Create Date: 2026-11-22 03:45:47.593824

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_income_bigint'
down_revision = '0003_auto_debit'
branch_labels = None
depends_on = None


def upgrade():
    # PostgreSQL's INTEGER stops at 2^31; SQLite's INTEGER is 64-bit already, and a batch rebuild of
    # members there would only risk its CHECK constraints, so SQLite is left alone.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("members", "declared_income_idr", existing_type=sa.INTEGER(), type_=sa.BigInteger())


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("members", "declared_income_idr", existing_type=sa.BigInteger(), type_=sa.INTEGER())
