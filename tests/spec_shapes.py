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
# Entities that are changed after creation say when.
TIMESTAMPS = {"createdAt", "updatedAt"}
TEMPLATE_FIELDS = {
    "id",
    "title",
    "content",
    "shortcut",
    "category",
    "isShared",
    "createdBy",
} | TIMESTAMPS
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
# An Attachment inside a ChatMessage.
ATTACHMENT_FIELDS = {"id", "filename", "contentType", "size", "url"}
NOTE_FIELDS = {"id", "sessionId", "authorId", "authorName", "note", "createdAt"}
TEAM_FIELDS = {"id", "name", "description", "isPublic", "businessHours", "agentIds"} | TIMESTAMPS
TRANSFER_FIELDS = {"fromAgentId", "toAgentId", "byUserId", "note", "createdAt"}
# register, login, guest and identify answer the same.
AUTH_RESULT_FIELDS = {"user", "accessToken", "refreshToken"}
# GET /api/chat/session/:id/details.
DETAILS_FIELDS = {"session", "user", "agent", "rating", "transfers"}
# One hit of GET /api/chat/search.
SEARCH_RESULT_FIELDS = {"session", "message", "highlight"}
# GET /api/auth/me/export and GET /api/support/users/:id/export.
EXPORT_FIELDS = {"exportedAt", "user", "sessions", "ratings", "attachments", "auditLogs"}
# A stored WebSocket event as sent (frames that are never replayed carry no `id`).
FRAME_FIELDS = {"id", "event", "data", "timestamp"}

# The contract's common error messages.
MSG_UNAUTHORIZED = "Token inválido o expirado"
MSG_FORBIDDEN = "No tienes permisos para realizar esta acción"
MSG_SESSION_NOT_FOUND = "Sesión de chat no encontrada"
