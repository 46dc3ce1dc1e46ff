"""members' own charges: finance's resolution of one under review shows on it (statuses refunded and rejected)

Revision ID: 0030_charge_resolutions
Revises: 0029_cek_limits
Create Date: 2026-12-06 07:00:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = '0030_charge_resolutions'
down_revision = '0029_cek_limits'
branch_labels = None
depends_on = None

STATUSES = "status IN ('created', 'pending', 'settled', 'expired', 'failed', 'review')"
STATUSES_RESOLVED = "status IN ('created', 'pending', 'settled', 'expired', 'failed', 'review', 'refunded', 'rejected')"


def upgrade():
    with op.batch_alter_table("self_charges", schema=None) as batch_op:
        batch_op.drop_constraint("status_known", type_="check")
        batch_op.create_check_constraint("status_known", STATUSES_RESOLVED)


def downgrade():
    # a charge refunded or rejected by finance goes back to 'review': what it was before the resolution
    op.execute("UPDATE self_charges SET status = 'review' WHERE status IN ('refunded', 'rejected')")
    with op.batch_alter_table("self_charges", schema=None) as batch_op:
        batch_op.drop_constraint("status_known", type_="check")
        batch_op.create_check_constraint("status_known", STATUSES)
