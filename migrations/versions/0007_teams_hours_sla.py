"""teams, business hours and SLA targets: teams, team_members, sla_targets; chat sessions gain
team_id, outside_business_hours, deferred_notice_at, SLA due/warning times and notice flags

Every new column is nullable or has a constant default, so ADD COLUMN only touches the catalog
(no table rewrite; an ACCESS EXCLUSIVE lock held for milliseconds). The indexes on chat_sessions
are built CONCURRENTLY outside the migration's transaction, so writes go on while they build.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

PRIORITY = postgresql.ENUM('low', 'medium', 'high', name='session_priority', create_type=False)

INDEXES = [
    ("ix_sessions_team_created", "(team_id, created_at)", None),
    ("ix_sessions_sla_first_response", "(first_response_warn_at)",
     "status <> 'closed' AND first_response_warn_at IS NOT NULL"),
    ("ix_sessions_sla_resolution", "(resolution_warn_at)",
     "status <> 'closed' AND resolution_warn_at IS NOT NULL"),
    ("ix_sessions_deferred_notice", "(deferred_notice_at)", "deferred_notice_at IS NOT NULL"),
]


def upgrade():
    op.create_table('teams',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('is_public', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('business_hours', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('team_members',
    sa.Column('team_id', sa.UUID(), nullable=False),
    sa.Column('agent_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['support_agents.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'agent_id')
    )
    op.create_index('ix_team_members_agent', 'team_members', ['agent_id'], unique=False)
    op.create_table('sla_targets',
    sa.Column('priority', PRIORITY, nullable=False),
    sa.Column('first_response_minutes', sa.Integer(), nullable=True),
    sa.Column('resolution_minutes', sa.Integer(), nullable=True),
    sa.CheckConstraint('first_response_minutes IS NULL OR first_response_minutes > 0', name='ck_sla_first_response_positive'),
    sa.CheckConstraint('resolution_minutes IS NULL OR resolution_minutes > 0', name='ck_sla_resolution_positive'),
    sa.PrimaryKeyConstraint('priority')
    )
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.UUID(), nullable=True))
        batch_op.add_column(sa.Column('outside_business_hours', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('deferred_notice_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_response_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_response_warn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution_warn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_notices', sa.SmallInteger(), server_default='0', nullable=False))
    # NOT VALID: no scan of existing rows (all null) under the lock.
    op.execute(
        "ALTER TABLE chat_sessions ADD CONSTRAINT chat_sessions_team_id_fkey FOREIGN KEY (team_id) "
        "REFERENCES teams (id) ON DELETE SET NULL NOT VALID"
    )
    op.execute("ALTER TABLE chat_sessions VALIDATE CONSTRAINT chat_sessions_team_id_fkey")
    with op.get_context().autocommit_block():
        for name, columns, where in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # left invalid by a failed run
            op.execute(
                f"CREATE INDEX CONCURRENTLY {name} ON chat_sessions {columns}"
                + (f" WHERE {where}" if where else "")
            )


def downgrade():
    with op.get_context().autocommit_block():
        for name, _columns, _where in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    with op.batch_alter_table('chat_sessions', schema=None) as batch_op:
        batch_op.drop_constraint('chat_sessions_team_id_fkey', type_='foreignkey')
        batch_op.drop_column('sla_notices')
        batch_op.drop_column('resolution_warn_at')
        batch_op.drop_column('first_response_warn_at')
        batch_op.drop_column('resolution_due_at')
        batch_op.drop_column('first_response_due_at')
        batch_op.drop_column('deferred_notice_at')
        batch_op.drop_column('outside_business_hours')
        batch_op.drop_column('team_id')
    op.drop_table('sla_targets')
    op.drop_index('ix_team_members_agent', table_name='team_members')
    op.drop_table('team_members')
    op.drop_table('teams')
