"""Rebuild and verify the trigger-kept counters from the raw rows.

Triggers keep them exact during normal operation; these are for bulk loads done with triggers
disabled (the benchmark seeder), for repairing after manual SQL, and for checking.
"""

from __future__ import annotations

from sqlalchemy import text

from supportapp.extensions import db

REBUILD_SQL = (
    "TRUNCATE session_stats_hourly, response_stats_hourly",
    """
    INSERT INTO session_stats_hourly (bucket, status, priority, sessions)
    SELECT date_trunc('hour', created_at, 'UTC'), status, priority, count(*)
      FROM chat_sessions GROUP BY 1, 2, 3
    """,
    """
    INSERT INTO response_stats_hourly (bucket, responses, response_seconds)
    SELECT date_trunc('hour', s.created_at, 'UTC'), count(*), sum(m.response_seconds)
      FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id
     WHERE m.response_seconds IS NOT NULL GROUP BY 1
    """,
    """
    UPDATE support_agents a SET current_active_chats = coalesce(c.n, 0)
      FROM support_agents a2
      LEFT JOIN (SELECT support_agent_id, count(*) AS n FROM chat_sessions
                  WHERE status = 'active' AND support_agent_id IS NOT NULL
                  GROUP BY support_agent_id) c ON c.support_agent_id = a2.id
     WHERE a.id = a2.id AND a.current_active_chats IS DISTINCT FROM coalesce(c.n, 0)
    """,
)

CHECK_SQL = {
    "agent counters": """
        SELECT count(*) FROM support_agents a
         WHERE a.current_active_chats <> (SELECT count(*) FROM chat_sessions s
                                           WHERE s.support_agent_id = a.id
                                             AND s.status = 'active')
    """,
    "agents over capacity": """
        SELECT count(*) FROM support_agents WHERE current_active_chats > max_concurrent_chats
    """,
    "session buckets": """
        SELECT count(*) FROM (
            SELECT date_trunc('hour', created_at, 'UTC') AS bucket, status, priority,
                   count(*) AS n FROM chat_sessions GROUP BY 1, 2, 3) raw
        FULL JOIN (SELECT * FROM session_stats_hourly WHERE sessions <> 0) kept
          USING (bucket, status, priority)
         WHERE raw.n IS DISTINCT FROM kept.sessions
    """,
    "response buckets": """
        SELECT count(*) FROM (
            SELECT date_trunc('hour', s.created_at, 'UTC') AS bucket, count(*) AS n,
                   sum(m.response_seconds) AS total
              FROM chat_messages m JOIN chat_sessions s ON s.id = m.session_id
             WHERE m.response_seconds IS NOT NULL GROUP BY 1) raw
        FULL JOIN (SELECT * FROM response_stats_hourly WHERE responses <> 0) kept USING (bucket)
         WHERE raw.n IS DISTINCT FROM kept.responses
            OR abs(coalesce(raw.total, 0) - coalesce(kept.response_seconds, 0)) > 0.001
    """,
}


def rebuild_counters() -> None:
    """Recompute every counter from the raw rows, in one transaction."""
    for statement in REBUILD_SQL:
        db.session.execute(text(statement))
    db.session.commit()


def check_counters() -> dict[str, int]:
    """Number of mismatching rows per counter family; all zeros means consistent."""
    return {name: int(db.session.scalar(text(sql))) for name, sql in CHECK_SQL.items()}
