"""suspended instances: who suspended an instance, when and why

A suspended instance keeps its status; its jobs wait in a lane of their own that no claim reads
(store/jobs.py, SUSPENDED), so suspending costs workers nothing. These columns say it is suspended
(suspended_at not null), for its page, lists, filters and the deliveries that must buffer for it.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('suspended_by', sa.String(255), nullable=True))
        batch.add_column(sa.Column('suspended_reason', sa.Text(), nullable=True))


def downgrade():
    # Resumes what was suspended: its jobs go back to their lanes.
    op.execute("UPDATE jobs SET lane = CASE WHEN reason = 'start' THEN 1 ELSE 0 END WHERE lane = 2")
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('suspended_reason')
        batch.drop_column('suspended_by')
        batch.drop_column('suspended_at')
