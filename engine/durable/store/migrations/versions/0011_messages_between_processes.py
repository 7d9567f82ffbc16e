"""messages between processes: the outbox, deliveries, and subscriptions with the values they are reached by

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'message_subscriptions',
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('correlation_key', sa.String(length=255), nullable=True),
        sa.Column('business_key', sa.String(length=255), nullable=True),
        sa.Column('element', sa.String(length=255), nullable=True),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'kind', 'name'),
    )
    op.create_index('ix_subscriptions_key', 'message_subscriptions', ['kind', 'name', 'correlation_key'])
    op.create_index('ix_subscriptions_business_key', 'message_subscriptions', ['kind', 'name', 'business_key'])
    # What instances waited for before: reached by their business key (their diagrams' keys are read
    # at their next step that changes what they wait for).
    op.execute("INSERT INTO message_subscriptions (instance_id, kind, name, business_key, since) "
               "SELECT a.instance_id, 'message', a.name, i.business_key, i.updated_at "
               "FROM awaited_messages a JOIN instances i ON i.id = a.instance_id")
    op.drop_index('ix_awaited_messages_name', table_name='awaited_messages')
    op.drop_table('awaited_messages')

    op.create_table(
        'messages',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('correlation', sa.String(length=255), nullable=True),
        sa.Column('business_key', sa.String(length=255), nullable=True),
        sa.Column('match_variables', sa.JSON(), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('locked_by', sa.String(length=255), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published_by', sa.String(length=255), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('source_instance_id', sa.String(length=36), nullable=True),
        sa.Column('source_element', sa.String(length=255), nullable=True),
        sa.Column('trace', sa.String(length=64), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_messages_status_due', 'messages', ['status', 'due_at'])
    op.create_index('ix_messages_buffered', 'messages', ['status', 'kind', 'name', 'correlation'])
    op.create_index('ix_messages_business_key', 'messages', ['business_key'])
    op.create_index('ix_messages_correlation', 'messages', ['correlation'])
    op.create_index('ix_messages_source', 'messages', ['source_instance_id'])

    op.create_table(
        'message_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.String(length=36), nullable=False),
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('element', sa.String(length=255), nullable=True),
        sa.Column('process_key', sa.String(length=255), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id', 'instance_id'),
        sa.UniqueConstraint('message_id', 'process_key'),
    )
    op.create_index('ix_deliveries_instance', 'message_deliveries', ['instance_id'])

    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('trace', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('trace')
    op.drop_index('ix_deliveries_instance', table_name='message_deliveries')
    op.drop_table('message_deliveries')
    for index in ('ix_messages_source', 'ix_messages_correlation', 'ix_messages_business_key',
                  'ix_messages_buffered', 'ix_messages_status_due'):
        op.drop_index(index, table_name='messages')
    op.drop_table('messages')
    op.create_table(
        'awaited_messages',
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'name'),
    )
    op.create_index('ix_awaited_messages_name', 'awaited_messages', ['name'])
    op.execute("INSERT INTO awaited_messages (instance_id, name) "
               "SELECT instance_id, name FROM message_subscriptions WHERE kind = 'message'")
    op.drop_index('ix_subscriptions_business_key', table_name='message_subscriptions')
    op.drop_index('ix_subscriptions_key', table_name='message_subscriptions')
    op.drop_table('message_subscriptions')
