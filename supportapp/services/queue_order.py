"""The order of the pending queue, shared by the queue views and automatic assignment."""

from supportapp.models import ChatSession

# Priority first (high → low), then the session that has waited longest, then id for stability.
QUEUE_ORDER = (ChatSession.priority_rank.desc(), ChatSession.queued_at, ChatSession.id)
