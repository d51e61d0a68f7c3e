"""histogram blocks: daily histograms of aligned runs of 2**k days, summed, as dense counts;
BRIN on rating time

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 03:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_histogram_blocks',
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('level', 'first_day')
    )
    op.create_table('stats_histogram_block_counts',
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('agent_id', sa.UUID(), nullable=False),
    sa.Column('figure', sa.SmallInteger(), nullable=False),
    sa.Column('first_bucket', sa.SmallInteger(), nullable=False),
    sa.Column('counts', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['level', 'first_day'], ['stats_histogram_blocks.level', 'stats_histogram_blocks.first_day'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('level', 'first_day', 'agent_id', 'figure')
    )
    # Blocks of the days already rolled up are built by the next periodic rollup run; until
    # then readers use the days themselves.
    with op.batch_alter_table('session_ratings', schema=None) as batch_op:
        batch_op.create_index('ix_ratings_created_brin', ['created_at'], unique=False, postgresql_using='brin', postgresql_with={'autosummarize': 'on'})


def downgrade():
    with op.batch_alter_table('session_ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_ratings_created_brin', postgresql_using='brin')

    op.drop_table('stats_histogram_block_counts')
    op.drop_table('stats_histogram_blocks')
