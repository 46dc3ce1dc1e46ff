"""stored files: large uploads (sponsor and national imports) wait for their worker in the database, not in the
instance folder, so web and workers share nothing but PostgreSQL and Redis

Revision ID: 0019_stored_files
Revises: 0018_periodic_runs
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_stored_files'
down_revision = '0018_periodic_runs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('size_bytes >= 0', name=op.f('ck_stored_files_size_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_files')),
    sa.UniqueConstraint('kind', 'key', name=op.f('uq_stored_files_kind_key'))
    )


def downgrade():
    op.drop_table('stored_files')
