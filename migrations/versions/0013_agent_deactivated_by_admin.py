"""support_agents.deactivated_by_admin: an agent an admin took off cannot put themselves back

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 07:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    # A constant default makes ADD COLUMN a catalog change (PostgreSQL 11+): no table rewrite,
    # the ACCESS EXCLUSIVE lock is held only for that instant.
    with op.batch_alter_table('support_agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deactivated_by_admin', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def downgrade():
    with op.batch_alter_table('support_agents', schema=None) as batch_op:
        batch_op.drop_column('deactivated_by_admin')
