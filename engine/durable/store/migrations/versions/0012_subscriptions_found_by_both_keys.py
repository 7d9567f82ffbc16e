"""subscriptions found by their correlation key and business key in one index

A message with a key reaches the catches whose diagram key is that value, and the catches without
one whose business key is, or that have neither (store/outbox.py, receivers): every branch an
equality lookup on (kind, name, correlation_key, business_key). With correlation_key alone, the
catches without a diagram key were all read, however many waited.

Revision ID: 0012
Revises: 0011
"""
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_subscriptions_key', table_name='message_subscriptions')
    op.create_index('ix_subscriptions_key', 'message_subscriptions', ['kind', 'name', 'correlation_key', 'business_key'])


def downgrade():
    op.drop_index('ix_subscriptions_key', table_name='message_subscriptions')
    op.create_index('ix_subscriptions_key', 'message_subscriptions', ['kind', 'name', 'correlation_key'])
