"""deposits: finance's correction of a short deposit to what the bank credited (what the agent declared kept)

When the bank credits less than an agent declared, branch finance lowers the deposit to the credited amount
(payments/finance/corrections.py). ``amount_idr`` then says what the bank holds, so the agent's kept cash totals
(agent_cash_totals, kept by the deposits trigger of 0027_agent_cash_totals on UPDATE OF amount_idr) give him back
the difference to deposit. ``declared_idr`` keeps what he declared, written once at the first correction; a CHECK
holds that a correction only ever lowers a deposit.

On SQLite the columns are added with plain ALTER TABLE statements, never a batch "recreate": rebuilding deposits
would drop the cash-total triggers with the old table.

Revision ID: 0031_short_deposits
Revises: 0030_charge_resolutions
Create Date: 2026-12-06 07:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0031_short_deposits'
down_revision = '0030_charge_resolutions'
branch_labels = None
depends_on = None

LOWERS = 'declared_idr IS NULL OR declared_idr > amount_idr'
COLUMNS = ('correction_reason', 'corrected_at', 'declared_idr')


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(
            'ALTER TABLE deposits ADD COLUMN declared_idr INTEGER '
            f'CONSTRAINT ck_deposits_correction_lowers CHECK ({LOWERS})'
        )
        op.execute('ALTER TABLE deposits ADD COLUMN corrected_at DATETIME')
        op.execute('ALTER TABLE deposits ADD COLUMN correction_reason VARCHAR(300)')
        return
    op.add_column('deposits', sa.Column('declared_idr', sa.Integer(), nullable=True))
    op.add_column('deposits', sa.Column('corrected_at', sa.DateTime(), nullable=True))
    op.add_column('deposits', sa.Column('correction_reason', sa.String(length=300), nullable=True))
    op.create_check_constraint(op.f('ck_deposits_correction_lowers'), 'deposits', LOWERS)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for column in COLUMNS:
            op.execute(f'ALTER TABLE deposits DROP COLUMN {column}')
        return
    op.drop_constraint(op.f('ck_deposits_correction_lowers'), 'deposits', type_='check')
    for column in COLUMNS:
        op.drop_column('deposits', column)
