"""what an instance page reads without rebuilding the instance: each logged step's variables, and the
tasks whose compensation has run or that left the task tree

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('instance_steps') as batch:
        batch.add_column(sa.Column('variables', sa.Text(), nullable=True))
    op.create_table(
        'task_marks',
        sa.Column('instance_id', sa.String(length=36), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('mark', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'task_id', 'mark'),
    )
    # The instances already there wrote none of this: their pages go on rebuilding them.
    op.execute("INSERT INTO task_marks (instance_id, task_id, mark) SELECT id, '', 'rebuild' FROM instances")


def downgrade():
    op.drop_table('task_marks')
    with op.batch_alter_table('instance_steps') as batch:
        batch.drop_column('variables')
