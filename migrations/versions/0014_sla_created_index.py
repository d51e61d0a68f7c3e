"""the sessions that have an SLA target, by creation (slaMet in stats and metrics)

Built CONCURRENTLY outside the migration's transaction: writes to chat_sessions go on while it
builds. It holds only the sessions with a target, so it is small and quick to build.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 08:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_sessions_sla_created")  # a failed run's
        op.execute(
            "CREATE INDEX CONCURRENTLY ix_sessions_sla_created ON chat_sessions (created_at) "
            "WHERE first_response_due_at IS NOT NULL OR resolution_due_at IS NOT NULL"
        )


def downgrade():
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_sessions_sla_created")
