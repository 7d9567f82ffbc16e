"""how many workers died holding a job since its instance last made progress (poison pills)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('crashes', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('crashes')
