"""drafts of diagrams, and what each processes folder last deployed of its files

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'drafts',
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('xml', sa.Text(), nullable=False),
        sa.Column('saved_by', sa.String(length=255), nullable=False),
        sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('based_on_version', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_table(
        'folder_deployments',
        sa.Column('folder', sa.String(length=255), nullable=False),
        sa.Column('file_name', sa.String(length=1024), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('versions', sa.JSON(), nullable=False),
        sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('folder', 'file_name'),
    )


def downgrade():
    op.drop_table('folder_deployments')
    op.drop_table('drafts')
