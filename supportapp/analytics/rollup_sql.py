"""The two aggregations behind the daily rollups and the raw tail of every metrics read: the
figures (AGGREGATE_SQL) and the time histograms (HISTOGRAM_SQL) of the sessions created in
[:lo, :hi).

The team form (`..._SQL`) gives one row per agent plus the OVERALL (:overall) rows, from one
scan of the range's sessions shared by its passes (GROUPING SETS ((agent), ()) — GROUPING()
tells the overall row from the group of rows without an agent); OVERALL_HISTOGRAM_SQL gives
only the OVERALL rows (the team's percentiles need no per-agent groups), AGENTS_HISTOGRAM_SQL
only the agents' rows (every agent's percentiles need no OVERALL groups), and
OVERALL_AGGREGATE_SQL the OVERALL row of the figures. The agent form
(`AGENT_..._SQL`) gives only :agent's rows and reaches them through the per-agent indexes
(sessions by agent and creation, support messages by agent and time, ratings by agent), so one
agent's figures cost what that agent did, not what the team did.

Support messages are looked up between :lo − 1 hour and the latest `last_message_at` of the
range's sessions + 1 hour (a reply can neither precede its session nor follow that session's
last message; the hour absorbs clock skew between web processes), which lets PostgreSQL read
only that stretch of chat_messages through its BRIN index on `timestamp` — a day or so for a
past range, since idle sessions are closed — instead of everything written since :lo. Ratings
are looked up from :lo − 1 hour on, through the BRIN index on their time.
"""

from __future__ import annotations

from supportapp.analytics.histograms import BUCKET_SQL, Figure

INT_COLUMNS = (
    "sessions_created",
    "sessions_closed",
    "responses",
    "first_responses",
    "resolutions",
    "messages_sent",
    "ratings",
    "rating_sum",
    "ratings_positive",
)
FLOAT_COLUMNS = ("response_seconds", "first_response_seconds", "resolution_seconds")
COLUMNS = INT_COLUMNS + FLOAT_COLUMNS

SESSIONS_IN_RANGE = """
    SELECT id, support_agent_id, status, created_at, closed_at, last_message_at
      FROM chat_sessions
     WHERE created_at >= :lo AND created_at < :hi"""
REPLIES_SINCE = """m.sender = 'support'
       AND m.timestamp >= CAST(:lo AS timestamptz) - interval '1 hour'"""
# (OFFSET 0 keeps the planner from answering max() by walking the last_message_at index
# backwards, which would visit every newer session before the first one in range.)
LAST_MESSAGE_IN_RANGE = """(SELECT max(x.last_message_at)
                             FROM (SELECT last_message_at FROM chat_sessions
                                    WHERE created_at >= :lo AND created_at < :hi
                                   OFFSET 0) AS x)"""


def _support_replies(team: bool) -> str:
    """The support messages that may belong to the range's sessions. The team form takes the
    latest `last_message_at` from its sessions CTE `s`, already read, instead of a second pass
    over the range's sessions (38 ms for today's 118 k sessions at 1 M)."""
    latest = "(SELECT max(last_message_at) FROM s)" if team else LAST_MESSAGE_IN_RANGE
    return f"{REPLIES_SINCE}\n       AND m.timestamp <= {latest} + interval '1 hour'"


# A rating follows its session's close (the hour: clock skew again); BRIN on created_at.
RATINGS_SINCE = "r.created_at >= CAST(:lo AS timestamptz) - interval '1 hour'"
AGENT = "CAST(:agent AS uuid)"


def _key(column: str, team: bool) -> str:
    if not team:
        return column
    return f"CASE WHEN GROUPING({column}) = 1 THEN CAST(:overall AS uuid) ELSE {column} END"


def _grouped(column: str, team: bool) -> str:
    return f"GROUPING SETS (({column}), ())" if team else column


def _aggregate_sql(team: bool, overall_only: bool = False) -> str:
    sessions = "s" if team else f"({SESSIONS_IN_RANGE}) AS s"
    if overall_only:
        # The team's rows only: one group, no hashing of the range's rows by agent.
        key, grouped = (lambda column: "CAST(:overall AS uuid)"), (lambda column: "()")
    else:
        key, grouped = (lambda column: _key(column, team)), (lambda column: _grouped(column, team))
    only = (lambda column: "") if team else (lambda column: f"AND {column} = {AGENT}")
    sums = ", ".join(
        f"sum({c})::bigint AS {c}" if c in INT_COLUMNS else f"sum({c})::float8 AS {c}"
        for c in COLUMNS
    )
    closed = "s.status = 'closed' AND s.closed_at IS NOT NULL"
    return f"""
{"WITH s AS (" + SESSIONS_IN_RANGE + ")," if team else "WITH"}
parts AS (
    SELECT {key("s.support_agent_id")} AS agent_id,
           count(*) AS sessions_created,
           count(*) FILTER (WHERE s.status = 'closed') AS sessions_closed,
           0::bigint AS responses, 0::float8 AS response_seconds,
           0::bigint AS first_responses, 0::float8 AS first_response_seconds,
           count(*) FILTER (WHERE {closed}) AS resolutions,
           coalesce(sum(extract(epoch FROM s.closed_at - s.created_at)::float8)
                    FILTER (WHERE {closed}), 0) AS resolution_seconds,
           0::bigint AS messages_sent,
           0::bigint AS ratings, 0::bigint AS rating_sum, 0::bigint AS ratings_positive
      FROM {sessions}
     WHERE true {only("s.support_agent_id")}
     GROUP BY {grouped("s.support_agent_id")}
    UNION ALL
    SELECT {key("m.agent_id")},
           0, 0,
           count(m.response_seconds), coalesce(sum(m.response_seconds), 0),
           count(m.first_response_seconds), coalesce(sum(m.first_response_seconds), 0),
           0, 0,
           count(*),
           0, 0, 0
      FROM chat_messages m JOIN {sessions} ON s.id = m.session_id
     WHERE {_support_replies(team)} {only("m.agent_id")}
     GROUP BY {grouped("m.agent_id")}
    UNION ALL
    SELECT {key("r.agent_id")},
           0, 0, 0, 0, 0, 0, 0, 0, 0,
           count(*), coalesce(sum(r.score), 0), count(*) FILTER (WHERE r.score >= 4)
      FROM session_ratings r JOIN {sessions} ON s.id = r.session_id
     WHERE {RATINGS_SINCE} {only("r.agent_id")}
     GROUP BY {grouped("r.agent_id")}
    {"UNION ALL SELECT CAST(:overall AS uuid), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0" if team else ""}
)
SELECT agent_id, {sums}
  FROM parts
 WHERE agent_id IS NOT NULL
 GROUP BY agent_id
"""


def _histogram_sql(team: bool, overall_only: bool = False, agents_only: bool = False) -> str:
    sessions = "s" if team else f"({SESSIONS_IN_RANGE}) AS s"
    only = (lambda column: "") if team else (lambda column: f"AND {column} = {AGENT}")
    resolution = BUCKET_SQL.format(seconds="extract(epoch FROM s.closed_at - s.created_at)::float8")
    if overall_only:
        key, grouping = "CAST(:overall AS uuid)", "figure, bucket"
    elif agents_only:
        # Every agent's rows without the OVERALL ones: half the grouping work of HISTOGRAM_SQL.
        key, grouping = "agent_id", "agent_id, figure, bucket HAVING agent_id IS NOT NULL"
    elif team:
        key = _key("agent_id", team)
        grouping = (
            "GROUPING SETS ((agent_id, figure, bucket), (figure, bucket))"
            " HAVING GROUPING(agent_id) = 1 OR agent_id IS NOT NULL"
        )
    else:
        key, grouping = "agent_id", "agent_id, figure, bucket"
    return f"""
{"WITH s AS (" + SESSIONS_IN_RANGE + ")," if team else "WITH"}
v AS (
    SELECT s.support_agent_id AS agent_id, {int(Figure.RESOLUTION)} AS figure,
           {resolution} AS bucket
      FROM {sessions}
     WHERE s.status = 'closed' AND s.closed_at IS NOT NULL {only("s.support_agent_id")}
    UNION ALL
    SELECT m.agent_id, x.figure, {BUCKET_SQL.format(seconds="x.seconds")}
      FROM chat_messages m
      JOIN {sessions} ON s.id = m.session_id
     CROSS JOIN LATERAL (VALUES ({int(Figure.FIRST_RESPONSE)}, m.first_response_seconds),
                                ({int(Figure.RESPONSE)}, m.response_seconds)) AS x(figure, seconds)
     WHERE {_support_replies(team)} AND x.seconds IS NOT NULL {only("m.agent_id")}
)
SELECT {key} AS agent_id, figure, bucket, count(*)::bigint AS n
  FROM v
 GROUP BY {grouping}
"""


AGGREGATE_SQL = _aggregate_sql(team=True)
AGENT_AGGREGATE_SQL = _aggregate_sql(team=False)
OVERALL_AGGREGATE_SQL = _aggregate_sql(team=True, overall_only=True)
HISTOGRAM_SQL = _histogram_sql(team=True)
AGENT_HISTOGRAM_SQL = _histogram_sql(team=False)
OVERALL_HISTOGRAM_SQL = _histogram_sql(team=True, overall_only=True)
AGENTS_HISTOGRAM_SQL = _histogram_sql(team=True, agents_only=True)
