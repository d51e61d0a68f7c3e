"""Field sets of SPEC.md's TypeScript interfaces, for asserting response shapes."""

SESSION_FIELDS = {
    "id",
    "userId",
    "supportAgentId",
    "status",
    "priority",
    "assignedAt",
    "createdAt",
    "lastMessageAt",
    "messages",
}
MESSAGE_FIELDS = {"id", "sessionId", "message", "sender", "timestamp", "isRead"}
