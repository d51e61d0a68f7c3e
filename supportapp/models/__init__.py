"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from supportapp.models.agent import Availability, Presence, SupportAgent
from supportapp.models.attachment import AttachmentContent, ChatAttachment
from supportapp.models.audit import AuditLog
from supportapp.models.chat import (
    PRIORITY_RANK,
    ChatMessage,
    ChatSession,
    Priority,
    Sender,
    SessionStatus,
)
from supportapp.models.collaboration import ChatNote, ChatTransfer
from supportapp.models.outbox import OutboxEntry
from supportapp.models.push import PushSubscription
from supportapp.models.rating import SessionRating
from supportapp.models.rollup import (
    OVERALL,
    DailyHistogram,
    DailyRollup,
    HistogramBlock,
    HistogramBlockCount,
    RollupBlockTotals,
    RollupDirtyDay,
)
from supportapp.models.sla import SlaTarget
from supportapp.models.stats import ResponseStatsHourly, SessionStatsHourly
from supportapp.models.team import Team, team_members
from supportapp.models.template import ResponseTemplate
from supportapp.models.user import ADMIN_ROLES, SUPPORT_ROLES, Role, User

__all__ = [
    "ADMIN_ROLES",
    "OVERALL",
    "PRIORITY_RANK",
    "SUPPORT_ROLES",
    "AttachmentContent",
    "AuditLog",
    "Availability",
    "ChatAttachment",
    "ChatMessage",
    "ChatNote",
    "ChatSession",
    "ChatTransfer",
    "DailyHistogram",
    "DailyRollup",
    "HistogramBlock",
    "HistogramBlockCount",
    "OutboxEntry",
    "Presence",
    "Priority",
    "PushSubscription",
    "ResponseStatsHourly",
    "ResponseTemplate",
    "Role",
    "RollupBlockTotals",
    "RollupDirtyDay",
    "Sender",
    "SessionRating",
    "SessionStatsHourly",
    "SessionStatus",
    "SlaTarget",
    "SupportAgent",
    "Team",
    "User",
    "team_members",
]
