"""tasks stored one row each

Revision ID: 0002
Revises: 0001

Instances saved by 0001 hold their whole task tree in instances.state; this
moves each task to its own row and leaves the rest of the state in place.
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('instance_tasks',
    sa.Column('instance_id', sa.String(length=36), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('workflow', sa.String(length=36), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['instances.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('instance_id', 'task_id')
    )
    split_saved_task_trees()


def split_saved_task_trees():
    connection = op.get_bind()
    instances = sa.table("instances", sa.column("id"), sa.column("state"))
    tasks = sa.table("instance_tasks", sa.column("instance_id"), sa.column("task_id"),
                     sa.column("workflow"), sa.column("body"))
    for instance_id, state in connection.execute(sa.select(instances.c.id, instances.c.state)).all():
        saved = json.loads(state)
        if "tasks" not in saved:
            continue
        rows = []
        for workflow_key, workflow in [("", saved), *saved.get("subprocesses", {}).items()]:
            for task_id, body in workflow.pop("tasks").items():
                rows.append({"instance_id": instance_id, "task_id": task_id, "workflow": workflow_key,
                             "body": json.dumps(body)})
        if rows:
            connection.execute(tasks.insert(), rows)
        connection.execute(instances.update().where(instances.c.id == instance_id).values(state=json.dumps(saved)))


def downgrade():
    op.drop_table('instance_tasks')
