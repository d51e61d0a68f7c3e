"""The field sets of the contract's entities (docs/contract.md), for asserting response shapes —
the one place tests (REST and WebSocket) take them from."""

SESSION_FIELDS = {
    "id",
    "userId",
    "supportAgentId",
    "status",
    "priority",
    "assignedAt",
    "createdAt",
    "lastMessageAt",
    "closedAt",
    "messages",
    "teamId",
    "outsideBusinessHours",
    "sla",
}
# A ChatSession in a session list also says how many user messages staff have not read.
LISTED_SESSION_FIELDS = SESSION_FIELDS | {"unreadCount"}
# A ChatMessage carries its `attachments` ([] when none).
MESSAGE_FIELDS = {"id", "sessionId", "message", "sender", "timestamp", "isRead", "attachments"}
# The User of auth responses: {id, email, name}, the role and whether it is a guest. `email` is
# null for a guest or host-site identity that gave none.
USER_FIELDS = {"id", "email", "name", "role", "isGuest"}
# The user of a session's details: {id, email, name}, isGuest and the customer's history at a
# glance.
SESSION_USER_FIELDS = {"id", "email", "name", "isGuest", "sessionsCount", "lastSessionAt"}
AGENT_FIELDS = {
    "id",
    "userId",
    "name",
    "email",
    "isActive",
    "maxConcurrentChats",
    "currentActiveChats",
    "presence",
    "presenceChangedAt",
    "createdAt",
    "updatedAt",
}
RATING_FIELDS = {"id", "sessionId", "userId", "agentId", "score", "comment", "createdAt"}
TEMPLATE_FIELDS = {
    "id",
    "title",
    "content",
    "shortcut",
    "category",
    "isShared",
    "createdBy",
    "createdAt",
    "updatedAt",
}
LOG_FIELDS = {
    "id",
    "actorId",
    "actorRole",
    "action",
    "targetType",
    "targetId",
    "sessionId",
    "before",
    "after",
    "ip",
    "requestId",
    "createdAt",
}
# GET /api/chat/stats for every staff role (admins get `advanced` on top).
STATS_FIELDS = {
    "totalSessions",
    "activeSessions",
    "pendingSessions",
    "closedSessions",
    "averageResponseTime",
    "sessionsToday",
    "sessionsThisWeek",
    "sessionsThisMonth",
}
QUEUE_POSITION_FIELDS = {"position", "total", "estimatedWaitMinutes"}

# The contract's common error messages.
MSG_UNAUTHORIZED = "Token inválido o expirado"
MSG_FORBIDDEN = "No tienes permisos para realizar esta acción"
MSG_SESSION_NOT_FOUND = "Sesión de chat no encontrada"
