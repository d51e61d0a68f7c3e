"""Analytics: the dashboard figures, the per-agent and team performance figures, and the tables
kept for them. Every function here returns plain values (numbers, dataclasses, dicts keyed by
agent id); the API layer (supportapp/api/metrics/schemas.py, api/chat/schemas.py) gives them
their camelCase JSON shape. Definitions of the figures: docs/metrics.md.

One rule for every figure: only sessions *created* in [from, to) count, with their messages
and ratings ("cohort" rule of GET /api/chat/stats).

Map (who owns what; R = reads, W = writes):

    stats.py            GET /api/chat/stats's eight figures; `Range` (a UTC [start, end)).
                        R session_stats_hourly, response_stats_hourly (whole hours),
                          chat_sessions, chat_messages (partial hours at the edges).
    metrics.py          Per-agent figures and the team's `advanced` block: counts, averages,
                        medians/p90s (exact below METRICS_EXACT_UP_TO values, else from the
                        histograms), ratings, sessions by priority, busiest hours.
                        R support_agents, chat_sessions, chat_messages, session_stats_hourly;
                        everything else through windows.py.
    windows.py          Read planning: splits a window into clean rolled-up days and raw
                        stretches, and sums / estimates percentiles over that plan.
                        R stats_daily_rollups, stats_daily_histograms, stats_rollup_dirty_days,
                          stats_histogram_blocks, stats_histogram_block_counts,
                          stats_rollup_block_totals, and the raw
                          chat_sessions, chat_messages, session_ratings of the stretches.
    rollups.py          Write side of the daily rollups (periodic task, workers/rollup_tasks.py):
                        recomputes a day from raw rows; checks a day.
                        W stats_daily_rollups, stats_daily_histograms, stats_rollup_dirty_days
                          (deletes the marks it consumes); via histogram_blocks the blocks.
    histogram_blocks.py Sums of the daily histograms and rollup figures over aligned runs of
                        2**k days, so a long range reads O(log days) blocks; builds them, drops
                        stale ones, covers a range with the fewest. W/R stats_histogram_blocks,
                        stats_histogram_block_counts, stats_rollup_block_totals;
                        R stats_daily_histograms, _rollups.
    rollup_sql.py       The SQL text of the two aggregations (figures and time histograms of
                        the sessions created in [:lo, :hi)) shared by rollups.py (writing a
                        day) and windows.py (raw stretches). No tables of its own.
    histograms.py       Log-scale buckets (each 2 % wider than the previous) and percentiles
                        from merged bucket counts with numpy. No database access.
    counters.py         Rebuild / check of the trigger-kept counters (`flask counters …`,
                        bench seeder). W session_stats_hourly, response_stats_hourly,
                        support_agents.current_active_chats; R chat_sessions, chat_messages.
    sla.py              `slaMet`: the share of decided sessions created in a range that met
                        their first-response and resolution targets, per agent and overall
                        (metrics.py adds it to both blocks). R chat_sessions (the partial index
                        of sessions with a target); the due times are written by services/sla.py.

Accuracy (the one figure, said once): medians and p90s read from the histograms are within
2 % of (1 s + the exact value), the width of one bucket; below METRICS_EXACT_UP_TO they are
exact. Triggers (migrations/) keep session_stats_hourly, response_stats_hourly and the dirty-day
marks as rows change; nothing in this package runs inside a request's write transaction.
"""
