"""message search: unaccent, Spanish and English text search configurations, a generated
tsvector on chat_messages and its GIN index

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

WORD_TOKENS = 'asciiword, asciihword, hword_asciipart, word, hword, hword_part'
# Keep in step with supportapp/models/chat.py: SEARCH_VECTOR_SQL.
SEARCH_VECTOR_SQL = (
    "to_tsvector('supportapp_es'::regconfig, message) "
    "|| to_tsvector('supportapp_en'::regconfig, message)"
)


def upgrade():
    # A trusted extension (PostgreSQL 13+): the database owner may create it, no superuser.
    op.execute('CREATE EXTENSION IF NOT EXISTS unaccent')
    # Stop words of both languages are dropped by both configurations (docs/decisions.md).
    op.execute(
        'CREATE TEXT SEARCH DICTIONARY supportapp_stop_en '
        '(TEMPLATE = pg_catalog.simple, STOPWORDS = english, ACCEPT = false)'
    )
    op.execute(
        'CREATE TEXT SEARCH DICTIONARY supportapp_stop_es '
        '(TEMPLATE = pg_catalog.simple, STOPWORDS = spanish, ACCEPT = false)'
    )
    for name, stemmer in (('supportapp_es', 'spanish'), ('supportapp_en', 'english')):
        op.execute(f'CREATE TEXT SEARCH CONFIGURATION {name} (COPY = pg_catalog.{stemmer})')
        op.execute(
            f'ALTER TEXT SEARCH CONFIGURATION {name} ALTER MAPPING FOR {WORD_TOKENS} '
            f'WITH supportapp_stop_en, supportapp_stop_es, unaccent, {stemmer}_stem'
        )
    # Adding a STORED generated column rewrites chat_messages under an ACCESS EXCLUSIVE lock
    # (no reads, no writes) for as long as computing every row's vector takes: measured in
    # docs/decisions.md ("Message search"); plan the deploy for it on a large table.
    op.execute(
        'ALTER TABLE chat_messages ADD COLUMN search_vector tsvector '
        f'GENERATED ALWAYS AS ({SEARCH_VECTOR_SQL}) STORED'
    )
    # CONCURRENTLY (outside a transaction): writes continue while the index is built; only a
    # SHARE UPDATE EXCLUSIVE lock, which blocks other schema changes and VACUUM.
    with op.get_context().autocommit_block():
        op.execute(
            'CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_messages_search '
            'ON chat_messages USING gin (search_vector)'
        )


def downgrade():
    with op.get_context().autocommit_block():
        op.execute('DROP INDEX CONCURRENTLY IF EXISTS ix_messages_search')
    op.execute('ALTER TABLE chat_messages DROP COLUMN IF EXISTS search_vector')
    op.execute('DROP TEXT SEARCH CONFIGURATION IF EXISTS supportapp_en')
    op.execute('DROP TEXT SEARCH CONFIGURATION IF EXISTS supportapp_es')
    op.execute('DROP TEXT SEARCH DICTIONARY IF EXISTS supportapp_stop_es')
    op.execute('DROP TEXT SEARCH DICTIONARY IF EXISTS supportapp_stop_en')
    op.execute('DROP EXTENSION IF EXISTS unaccent')
