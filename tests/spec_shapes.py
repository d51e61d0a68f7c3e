"""Field sets of the contract's entities (docs/contract.md), for asserting response shapes."""

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
# SPEC's ChatMessage plus `attachments` (issue 14: [] when none).
MESSAGE_FIELDS = {"id", "sessionId", "message", "sender", "timestamp", "isRead", "attachments"}
# The User of auth responses: SPEC's {id, email, name} plus the role and whether it is a guest
# (issue 19). `email` is null for a guest or host-site identity that gave none.
USER_FIELDS = {"id", "email", "name", "role", "isGuest"}
# The user of a session's details: SPEC 6's {id, email, name} plus isGuest (issue 19) and the
# customer's history at a glance (issue 14).
SESSION_USER_FIELDS = {"id", "email", "name", "isGuest", "sessionsCount", "lastSessionAt"}
