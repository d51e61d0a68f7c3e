"""rollup block totals: the daily rollups of each histogram block's days, summed; rolled-up
days by agent

The totals of the blocks that already exist are summed from their days here, in one statement
(a few seconds at 1,000 rolled-up days of 500 agents), so every block has its totals from the
start. Both tables are small and written only by the periodic rollup; the index build locks
stats_daily_rollups against writes (not reads) for its duration (bench/NOTES.md, "Analytics
growth").

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 12:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

COLUMNS = (
    'sessions_created', 'sessions_closed', 'responses', 'response_seconds', 'first_responses',
    'first_response_seconds', 'resolutions', 'resolution_seconds', 'messages_sent', 'ratings',
    'rating_sum', 'ratings_positive',
)
FLOATS = ('response_seconds', 'first_response_seconds', 'resolution_seconds')


def upgrade():
    op.create_table('stats_rollup_block_totals',
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('agent_id', sa.UUID(), nullable=False),
    *(sa.Column(c, sa.Float() if c in FLOATS else sa.BigInteger(), nullable=False) for c in COLUMNS),
    sa.ForeignKeyConstraint(['level', 'first_day'], ['stats_histogram_blocks.level', 'stats_histogram_blocks.first_day'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('level', 'first_day', 'agent_id')
    )
    op.create_index('ix_rollups_agent_day', 'stats_daily_rollups', ['agent_id', 'day'], unique=False)
    sums = ', '.join(f'sum(r.{c})' for c in COLUMNS)
    op.execute(
        f"INSERT INTO stats_rollup_block_totals (level, first_day, agent_id, {', '.join(COLUMNS)})"
        f" SELECT b.level, b.first_day, r.agent_id, {sums}"
        " FROM stats_histogram_blocks b"
        " JOIN stats_daily_rollups r"
        " ON r.day BETWEEN b.first_day AND b.first_day + (1 << b.level) - 1"
        " GROUP BY b.level, b.first_day, r.agent_id"
    )


def downgrade():
    op.drop_index('ix_rollups_agent_day', table_name='stats_daily_rollups')
    op.drop_table('stats_rollup_block_totals')
