"""how a completed instance ended: its outcome (completed or rolled_back) and the end event reached

Worked out when an instance completes (engine/run/outcomes.py) and kept in its row, so that the
instances list filters on it by an index instead of reading each instance's history. Instances that
completed before are filled in from their history: rolled back when an undo task completed; the
end event is the newest completed end event's name (none for an end without a name).

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('outcome', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('end_event', sa.String(length=255), nullable=True))
    op.create_index('ix_instances_outcome_created', 'instances', ['outcome', 'created_at'])
    op.execute(
        "UPDATE instances SET "
        "outcome = CASE WHEN EXISTS (SELECT 1 FROM history WHERE history.instance_id = instances.id "
        "AND history.undo_of IS NOT NULL AND history.state = 'COMPLETED') THEN 'rolled_back' ELSE 'completed' END, "
        # History names an unnamed element by its id: such an end is left unnamed, as a new one is.
        "end_event = (SELECT CASE WHEN history.name = history.bpmn_id THEN NULL ELSE history.name END "
        "FROM history WHERE history.instance_id = instances.id "
        "AND history.type = 'endEvent' AND history.state = 'COMPLETED' ORDER BY history.id DESC LIMIT 1) "
        "WHERE status = 'completed'")


def downgrade():
    op.drop_index('ix_instances_outcome_created', table_name='instances')
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('end_event')
        batch.drop_column('outcome')
