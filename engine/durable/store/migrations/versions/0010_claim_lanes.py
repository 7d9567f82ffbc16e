"""due work in two lanes: starts queue behind what was promised for its time (timers, retries...)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('lane', sa.Integer(), nullable=False, server_default='0'))
        batch.drop_index('ix_jobs_due_at')
        batch.create_index('ix_jobs_lane_due_at', ['lane', 'due_at'], unique=False)
    # Lane 1: instances that have not run yet (store.jobs.STARTS); everything else is lane 0.
    op.execute("UPDATE jobs SET lane = 1 WHERE reason = 'start'")


def downgrade():
    with op.batch_alter_table('jobs') as batch:
        batch.drop_index('ix_jobs_lane_due_at')
        batch.create_index('ix_jobs_due_at', ['due_at'], unique=False)
        batch.drop_column('lane')
