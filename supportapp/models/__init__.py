"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from supportapp.models.agent import SupportAgent
from supportapp.models.audit import AuditLog
from supportapp.models.chat import (
    PRIORITY_RANK,
    ChatMessage,
    ChatSession,
    Priority,
    Sender,
    SessionStatus,
)
from supportapp.models.stats import ResponseStatsHourly, SessionStatsHourly
from supportapp.models.user import ADMIN_ROLES, SUPPORT_ROLES, Role, User

__all__ = [
    "ADMIN_ROLES",
    "PRIORITY_RANK",
    "SUPPORT_ROLES",
    "AuditLog",
    "ChatMessage",
    "ChatSession",
    "Priority",
    "ResponseStatsHourly",
    "Role",
    "Sender",
    "SessionStatsHourly",
    "SessionStatus",
    "SupportAgent",
    "User",
]
