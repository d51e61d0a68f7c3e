"""The staff dashboard (GET /api/chat/stats): the figures every staff member sees and, for
those who may see the whole team's (services/access.py: sees_team_figures), the `advanced`
block. Plain values; the API shapes them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from supportapp.analytics import metrics, stats
from supportapp.auth.actor import Actor
from supportapp.services import access


@dataclass(frozen=True)
class Dashboard:
    figures: stats.ChatStats
    advanced: metrics.TeamMetrics | None


def dashboard(
    actor: Actor, window: stats.Range, *, timezone: str, team_id: uuid.UUID | None = None
) -> Dashboard:
    """The eight figures (of one team's sessions with `team_id`) and, for admins, the team
    metrics over every session in the window."""
    figures = stats.chat_stats(window, timezone=timezone, team_id=team_id)
    advanced = (
        metrics.team_metrics(window, timezone=timezone) if access.sees_team_figures(actor) else None
    )
    return Dashboard(figures=figures, advanced=advanced)
