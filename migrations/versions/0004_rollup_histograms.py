"""rollup histograms: per-day, per-agent bucket counts of the three times; BRIN on message time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 23:59:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_daily_histograms',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('agent_id', sa.UUID(), nullable=False),
    sa.Column('figure', sa.SmallInteger(), nullable=False),
    sa.Column('bucket', sa.SmallInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'agent_id', 'figure', 'bucket')
    )
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_timestamp_brin', ['timestamp'], unique=False, postgresql_using='brin', postgresql_with={'autosummarize': 'on'})

    # Rolled-up days have no histogram yet, and their OVERALL resolution figures now count
    # unassigned closed sessions too: forget them and mark every finished day so the periodic
    # task recomputes them (readers use raw rows for a day until then).
    op.execute("DELETE FROM stats_daily_rollups")
    op.execute(
        "INSERT INTO stats_rollup_dirty_days (day) "
        "SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM chat_sessions "
        "WHERE created_at < date_trunc('day', now(), 'UTC')"
    )


def downgrade():
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_timestamp_brin', postgresql_using='brin')

    op.drop_table('stats_daily_histograms')
