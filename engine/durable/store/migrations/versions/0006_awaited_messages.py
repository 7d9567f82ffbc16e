"""the messages waiting instances wait for

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'awaited_messages',
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'name'),
    )
    op.create_index('ix_awaited_messages_name', 'awaited_messages', ['name'])


def downgrade():
    op.drop_index('ix_awaited_messages_name', table_name='awaited_messages')
    op.drop_table('awaited_messages')
