"""guests, host-site identities and data rights: users.is_guest / external_id / last_active_at /
erased_at, email optional and unique only among password accounts; chat_sessions.content_erased_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 06:45:00

Locks: the ADD COLUMNs are catalogue-only (no default that rewrites the table, nullable or a
constant default), so they hold ACCESS EXCLUSIVE for milliseconds. The indexes on users and
chat_sessions, the two tables that grow with traffic, are built CONCURRENTLY (outside the
migration's transaction) so sign-ins and chats keep writing while they build. The old email
index is dropped only after its replacement exists.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('is_guest', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('users', sa.Column('external_id', sa.String(length=255), nullable=True))
    op.add_column('users', sa.Column('last_active_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.alter_column('users', 'email', existing_type=sa.String(length=254), nullable=True)
    op.add_column('chat_sessions', sa.Column('content_erased_at', sa.DateTime(timezone=True), nullable=True))
    with op.get_context().autocommit_block():
        op.execute(
            'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_users_external_id '
            'ON users (external_id)'
        )
        op.execute(
            'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_users_password_email_lower '
            'ON users (lower(email)) WHERE password_hash IS NOT NULL'
        )
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS uq_users_email_lower')
        op.execute(
            'CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_users_guest_last_active '
            'ON users (last_active_at) WHERE is_guest'
        )
        op.execute(
            'CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_sessions_retention '
            "ON chat_sessions (closed_at) WHERE status = 'closed' AND content_erased_at IS NULL"
        )


def downgrade():
    with op.get_context().autocommit_block():
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_sessions_retention')
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_users_guest_last_active')
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS uq_users_external_id')
    op.drop_column('chat_sessions', 'content_erased_at')
    # Below 0007 every user has an email unique in any letter case: accounts without one
    # (guests, host-site identities) and password-less repeats of a taken email go.
    op.execute(
        "DELETE FROM users u WHERE u.email IS NULL OR (u.password_hash IS NULL AND EXISTS ("
        "SELECT 1 FROM users o WHERE lower(o.email) = lower(u.email) AND o.id <> u.id "
        "AND (o.password_hash IS NOT NULL OR o.id < u.id)))"
    )
    op.alter_column('users', 'email', existing_type=sa.String(length=254), nullable=False)
    with op.get_context().autocommit_block():
        op.execute(
            'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_users_email_lower '
            'ON users (lower(email))'
        )
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS uq_users_password_email_lower')
    op.drop_column('users', 'erased_at')
    op.drop_column('users', 'last_active_at')
    op.drop_column('users', 'external_id')
    op.drop_column('users', 'is_guest')
