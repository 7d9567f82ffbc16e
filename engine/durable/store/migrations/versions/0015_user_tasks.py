"""user tasks as the people who work them see them: assignee, candidates, dates, priority, state

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_tasks',
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('element', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('process_key', sa.String(length=255), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('business_key', sa.String(length=255), nullable=True),
        sa.Column('assignee', sa.String(length=255), nullable=True),
        sa.Column('candidate_users', sa.JSON(), nullable=False),
        sa.Column('candidate_groups', sa.JSON(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('follow_up_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('priority', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('completed_by', sa.String(length=255), nullable=True),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'task_id'),
    )
    op.create_index('ix_user_tasks_open', 'user_tasks', ['state', 'priority', 'due_at', 'created_at'], unique=False)
    op.create_index('ix_user_tasks_assignee', 'user_tasks', ['state', 'assignee'], unique=False)
    # Instances waiting in a user task before this revision get no row: their tasks show on their pages,
    # and a new step of theirs writes none for a task already waiting (a known gap, see README "Tasks").


def downgrade():
    op.drop_index('ix_user_tasks_assignee', table_name='user_tasks')
    op.drop_index('ix_user_tasks_open', table_name='user_tasks')
    op.drop_table('user_tasks')
