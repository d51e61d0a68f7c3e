"""event outbox: events and jobs recorded in the transaction that causes them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:50:00

A new, empty table: creating it and its index takes no lock on any existing table.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event_outbox',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('ordering_key', sa.Text(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_event_outbox_ordering_key', 'event_outbox', ['ordering_key'], unique=False)


def downgrade():
    op.drop_index('ix_event_outbox_ordering_key', table_name='event_outbox')
    op.drop_table('event_outbox')
