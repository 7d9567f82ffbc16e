"""indexes for counting instances per process and status, and for the unfiltered list

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
    op.create_index('ix_instances_created', 'instances', ['created_at', 'id'])


def downgrade():
    op.drop_index('ix_instances_created', table_name='instances')
    op.drop_index('ix_instances_key_status', table_name='instances')
