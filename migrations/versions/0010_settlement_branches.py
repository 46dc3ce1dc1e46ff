"""settlement lines carry their branch; large settlement reports wait in settlement_imports for a worker

Revision ID: 0010_settlement_branches
Revises: 0009_web_sessions
Create Date: 2026-12-05 12:30:00

A settlement line belongs to the branch of its order's member. Existing lines get it from their order; a
line of no known order cannot be attributed to any branch and is deleted (no branch's import could match
it, and the bank matching never used it). The unique key becomes (provider, branch_id, order_id), so one
branch's upload can never make another branch's line a duplicate.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_settlement_branches'
down_revision = '0009_web_sessions'
branch_labels = None
depends_on = None

OWNER = (
    "SELECT m.branch_id FROM debit_attempts a "
    "JOIN debit_requests r ON r.id = a.debit_request_id "
    "JOIN members m ON m.id = r.member_id "
    "WHERE a.order_id = settlement_lines.order_id"
)


def upgrade():
    op.create_table('settlement_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('new_lines', sa.Integer(), nullable=False),
    sa.Column('report', sa.Text(), nullable=True),
    sa.Column('errors', sa.Text(), nullable=True),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'invalid', 'failed')", name=op.f('ck_settlement_imports_status_known')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_settlement_imports_branch_id_branches')),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['staff_users.id'], name=op.f('fk_settlement_imports_uploaded_by_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_imports')),
    sa.UniqueConstraint('provider', 'scope', 'file_sha256', name=op.f('uq_settlement_imports_provider_scope_file_sha256'))
    )
    with op.batch_alter_table('settlement_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlement_imports_branch_id'), ['branch_id'], unique=False)

    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('branch_id', sa.Integer(), nullable=True))
    op.execute(f"UPDATE settlement_lines SET branch_id = ({OWNER})")
    op.execute("DELETE FROM settlement_lines WHERE branch_id IS NULL")
    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.alter_column('branch_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_settlement_lines_provider_order_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_settlement_lines_provider_branch_id_order_id'), ['provider', 'branch_id', 'order_id'])
        batch_op.create_index(batch_op.f('ix_settlement_lines_branch_id'), ['branch_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_settlement_lines_branch_id_branches'), 'branches', ['branch_id'], ['id'])


def downgrade():
    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_settlement_lines_branch_id_branches'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_settlement_lines_branch_id'))
        batch_op.drop_constraint(batch_op.f('uq_settlement_lines_provider_branch_id_order_id'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_settlement_lines_provider_order_id'), ['provider', 'order_id'])
        batch_op.drop_column('branch_id')

    with op.batch_alter_table('settlement_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_imports_branch_id'))

    op.drop_table('settlement_imports')
