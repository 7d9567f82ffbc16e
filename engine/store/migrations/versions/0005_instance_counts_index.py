"""an index for counting instances per process and status

Revision ID: 0005
Revises: 0004
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_instances_key_status', 'instances', ['key', 'status'])


def downgrade():
    op.drop_index('ix_instances_key_status', table_name='instances')
