"""counter trigger: early exit when no counted column changed, static SQL per operation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 00:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(COUNTERS_EARLY_EXIT)


def downgrade():
    op.execute(COUNTERS_0001)


# Same counters and the same rules as 0001 (one delta per agent, applied in agent id order
# through agent_load_add, which raises SA409 at capacity; one delta per (bucket, status,
# priority), applied in key order so concurrent statements lock counter rows in the same
# order), with two changes:
# - an UPDATE that changes none of the counted columns (status, support_agent_id, priority,
#   created_at) — a new message moving last_message_at, a read receipt — returns at once. The
#   test is "every new row has an old row with the same id and the same counted columns": ids
#   are unique in both sets and both sets have one row per updated row, so the old and new
#   multisets of counted values are then equal and every delta is zero. It stays correct even
#   if a statement changed ids (such a row finds no partner and takes the full path).
# - every statement is static SQL, one branch per TG_OP, so PL/pgSQL prepares each once per
#   trigger and connection and reuses the plan, instead of parsing and planning the
#   `EXECUTE format(...)` text on every call.
COUNTERS_EARLY_EXIT = """
CREATE OR REPLACE FUNCTION chat_sessions_counters() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        FOR r IN
            SELECT support_agent_id AS agent, count(*)::integer AS delta FROM new_rows
             WHERE status = 'active' AND support_agent_id IS NOT NULL
             GROUP BY support_agent_id ORDER BY support_agent_id
        LOOP
            PERFORM agent_load_add(r.agent, r.delta);
        END LOOP;
        INSERT INTO session_stats_hourly AS s (bucket, status, priority, sessions)
        SELECT date_trunc('hour', n.created_at, 'UTC'), n.status, n.priority, count(*)
          FROM new_rows n GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (bucket, status, priority)
        DO UPDATE SET sessions = s.sessions + EXCLUDED.sessions;
    ELSIF TG_OP = 'DELETE' THEN
        FOR r IN
            SELECT support_agent_id AS agent, -count(*)::integer AS delta FROM old_rows
             WHERE status = 'active' AND support_agent_id IS NOT NULL
             GROUP BY support_agent_id ORDER BY support_agent_id
        LOOP
            PERFORM agent_load_add(r.agent, r.delta);
        END LOOP;
        INSERT INTO session_stats_hourly AS s (bucket, status, priority, sessions)
        SELECT date_trunc('hour', o.created_at, 'UTC'), o.status, o.priority, -count(*)
          FROM old_rows o GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (bucket, status, priority)
        DO UPDATE SET sessions = s.sessions + EXCLUDED.sessions;
    ELSE
        PERFORM 1 FROM new_rows n
         WHERE NOT EXISTS (
               SELECT 1 FROM old_rows o
                WHERE o.id = n.id
                  AND (o.status, o.support_agent_id, o.priority, o.created_at)
                      IS NOT DISTINCT FROM (n.status, n.support_agent_id, n.priority, n.created_at))
         LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        FOR r IN
            SELECT c.agent, sum(c.sign)::integer AS delta FROM (
                SELECT -1 AS sign, o.support_agent_id AS agent FROM old_rows o
                 WHERE o.status = 'active' AND o.support_agent_id IS NOT NULL
                UNION ALL
                SELECT 1, n.support_agent_id FROM new_rows n
                 WHERE n.status = 'active' AND n.support_agent_id IS NOT NULL) c
             GROUP BY c.agent HAVING sum(c.sign) <> 0 ORDER BY c.agent
        LOOP
            PERFORM agent_load_add(r.agent, r.delta);
        END LOOP;
        INSERT INTO session_stats_hourly AS s (bucket, status, priority, sessions)
        SELECT c.bucket, c.status, c.priority, sum(c.sign) FROM (
            SELECT -1 AS sign, date_trunc('hour', o.created_at, 'UTC') AS bucket,
                   o.status, o.priority FROM old_rows o
            UNION ALL
            SELECT 1, date_trunc('hour', n.created_at, 'UTC'), n.status, n.priority
              FROM new_rows n) c
         GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (bucket, status, priority)
        DO UPDATE SET sessions = s.sessions + EXCLUDED.sessions;
    END IF;
    RETURN NULL;
END $$;
"""

# The function exactly as 0001 created it.
COUNTERS_0001 = """
CREATE OR REPLACE FUNCTION chat_sessions_counters() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes text := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_rows'
        ELSE 'SELECT -1 AS sign, * FROM old_rows UNION ALL SELECT 1, * FROM new_rows' END;
    r record;
BEGIN
    FOR r IN EXECUTE format(
        'SELECT support_agent_id AS agent, sum(sign)::integer AS delta FROM (%s) c
          WHERE status = ''active'' AND support_agent_id IS NOT NULL
          GROUP BY support_agent_id HAVING sum(sign) <> 0 ORDER BY support_agent_id', changes)
    LOOP
        PERFORM agent_load_add(r.agent, r.delta);
    END LOOP;
    EXECUTE format(
        'INSERT INTO session_stats_hourly AS s (bucket, status, priority, sessions)
         SELECT date_trunc(''hour'', created_at, ''UTC''), status, priority, sum(sign)
           FROM (%s) c GROUP BY 1, 2, 3 HAVING sum(sign) <> 0 ORDER BY 1, 2, 3
         ON CONFLICT (bucket, status, priority)
         DO UPDATE SET sessions = s.sessions + EXCLUDED.sessions', changes);
    RETURN NULL;
END $$;
"""
