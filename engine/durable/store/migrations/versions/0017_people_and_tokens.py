"""people (accounts) and their API tokens; who started, deployed and retried

Accounts sign in to the web app and the API (engine/durable/people.py): a local password or an
OpenID Connect identity, roles and groups. A personal API token is stored as the SHA-256 of its
secret only. instances.started_by names a person now (was "user" or "timer": 16 characters);
definitions.deployed_by says who deployed a version; incidents.resolved_by who retried it.

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'people',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(length=255), nullable=False, unique=True),
        sa.Column('display_name', sa.String(length=255), nullable=True),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('roles', sa.JSON(), nullable=False),
        sa.Column('groups', sa.JSON(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('disabled', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('owner', sa.String(length=255), sa.ForeignKey('people.name', ondelete='CASCADE'),
                  nullable=False, index=True),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False, unique=True),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    )
    _started_by_length(16, 255)
    op.add_column('definitions', sa.Column('deployed_by', sa.String(length=255), nullable=True))
    op.add_column('incidents', sa.Column('resolved_by', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('resolved_by')
    with op.batch_alter_table('definitions', schema=None) as batch_op:
        batch_op.drop_column('deployed_by')
    _started_by_length(255, 16)
    op.drop_table('api_tokens')
    op.drop_table('people')


def _started_by_length(old, new):
    """PostgreSQL enforces a VARCHAR's length; SQLite does not, and changing it there would copy the
    instances table, whose drop cascades to its history (foreign keys are on): left as it is."""
    if op.get_bind().dialect.name == 'sqlite':
        return
    op.alter_column('instances', 'started_by', existing_type=sa.String(length=old), type_=sa.String(length=new),
                    existing_nullable=False, existing_server_default='user')
