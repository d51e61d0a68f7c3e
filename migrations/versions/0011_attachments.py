"""attachments: chat_attachments, their bytes for the database storage, and the summary
each message shows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 07:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # A constant default: PostgreSQL (11+) records it in the catalog and rewrites nothing, so
    # this holds the table's ACCESS EXCLUSIVE lock only for the catalog update.
    op.add_column('chat_messages', sa.Column('attachments', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False))
    op.create_table('chat_attachments',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('session_id', sa.UUID(), nullable=False),
    sa.Column('message_id', sa.UUID(), nullable=False),
    sa.Column('uploaded_by', sa.UUID(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['chat_messages.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['chat_sessions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_attachments_session', 'chat_attachments', ['session_id'], unique=False)
    op.create_index('ix_attachments_message', 'chat_attachments', ['message_id'], unique=False)
    op.create_table('attachment_contents',
    sa.Column('attachment_id', sa.UUID(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['chat_attachments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attachment_id')
    )


def downgrade():
    op.drop_table('attachment_contents')
    op.drop_index('ix_attachments_message', table_name='chat_attachments')
    op.drop_index('ix_attachments_session', table_name='chat_attachments')
    op.drop_table('chat_attachments')
    op.drop_column('chat_messages', 'attachments')
