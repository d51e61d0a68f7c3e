"""agent presence (chosen availability, computed presence and its time), chat transfers and
internal notes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:45:00

Adding NOT NULL columns with constant defaults is a catalog-only change in PostgreSQL 11+
(no table rewrite); support_agents is small and the ACCESS EXCLUSIVE lock is held only for
that. Existing agents start `offline` (no socket is open yet); their first staff socket makes
them `online`. The two new tables are empty, so their indexes are built plainly.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

availability = postgresql.ENUM('online', 'away', name='agent_availability', create_type=False)
presence = postgresql.ENUM('online', 'away', 'offline', name='agent_presence', create_type=False)


def upgrade():
    availability.create(op.get_bind(), checkfirst=True)
    presence.create(op.get_bind(), checkfirst=True)
    with op.batch_alter_table('support_agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('availability', availability, server_default='online', nullable=False))
        batch_op.add_column(sa.Column('presence', presence, server_default='offline', nullable=False))
        batch_op.add_column(sa.Column('presence_changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False))

    op.create_table('chat_transfers',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('session_id', sa.UUID(), nullable=False),
    sa.Column('from_agent_id', sa.UUID(), nullable=True),
    sa.Column('to_agent_id', sa.UUID(), nullable=True),
    sa.Column('by_user_id', sa.UUID(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['from_agent_id'], ['support_agents.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['chat_sessions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_agent_id'], ['support_agents.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_transfers_session_created', 'chat_transfers', ['session_id', 'created_at', 'id'], unique=False)
    op.create_table('chat_notes',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('session_id', sa.UUID(), nullable=False),
    sa.Column('author_id', sa.UUID(), nullable=True),
    sa.Column('author_name', sa.String(length=100), nullable=False),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['chat_sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_notes_session_created', 'chat_notes', ['session_id', 'created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_notes_session_created', table_name='chat_notes')
    op.drop_table('chat_notes')
    op.drop_index('ix_transfers_session_created', table_name='chat_transfers')
    op.drop_table('chat_transfers')
    with op.batch_alter_table('support_agents', schema=None) as batch_op:
        batch_op.drop_column('presence_changed_at')
        batch_op.drop_column('presence')
        batch_op.drop_column('availability')
    presence.drop(op.get_bind(), checkfirst=True)
    availability.drop(op.get_bind(), checkfirst=True)
