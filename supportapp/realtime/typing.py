"""Typing indicators: the client frame {"type": "typing", "sessionId", "isTyping"} relayed to
the other side of the session as {"event": "typing", "data": {...}, "timestamp"}.

Ephemeral by design: no id, never in the event stream or its replay, never stored. Per socket
and session at most one "typing" frame per second is forwarded: frames in between are
coalesced, and the latest state goes out when the second is up (a "stopped" after a
forwarded "typing" goes out at once, so the other side never waits for the timeout). A typing
state not refreshed for TYPING_TTL seconds counts as stopped, and the relay says so on the
sender's behalf, as it does when the sender's socket closes while typing.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from supportapp.models import Role
from supportapp.realtime.bus import Ephemeral, publish_ephemeral
from supportapp.services.typing import TypingRoute, typing_route
from supportapp.timestamps import now_iso

log = logging.getLogger(__name__)

MIN_INTERVAL = 1.0
TYPING_TTL = 6.0


@dataclass
class _State:
    route: TypingRoute
    typing: bool = False  # the last state forwarded
    typing_at: float = float("-inf")  # when "typing" was last forwarded
    wanted: bool = False  # the latest state the client sent
    dirty: bool = False  # `wanted` not forwarded yet
    refreshed_at: float = 0.0  # the last "typing" frame received, forwarded or not


class TypingRelay:
    """The typing state of one socket, per session it types in. Driven by the socket's own
    loop: `receive` for each client frame, `tick` when `next_deadline` has come."""

    def __init__(self, user_id: str, role: Role) -> None:
        self.user_id = uuid.UUID(user_id)
        self.role = role
        self._states: dict[uuid.UUID, _State] = {}

    def receive(self, frame: dict[str, Any], now: float | None = None) -> bool:
        """Handle a client typing frame; True when something was forwarded now."""
        is_typing = frame.get("isTyping")
        if not isinstance(is_typing, bool) or not isinstance(frame.get("sessionId"), str):
            return False
        try:
            session_id = uuid.UUID(frame["sessionId"])
        except ValueError:
            return False
        now = time.monotonic() if now is None else now
        state = self._states.get(session_id)
        fresh = state is None
        if state is None:
            if not is_typing:
                return False  # nothing was forwarded, so nothing to stop
            route = self._route(session_id)
            if route is None:
                return False
            state = self._states[session_id] = _State(route=route)
        state.wanted, state.dirty = is_typing, True
        if is_typing:
            state.refreshed_at = now
        return self._flush(session_id, state, now, authorized=fresh)

    def _flush(self, session_id: uuid.UUID, state: _State, now: float, authorized: bool) -> bool:
        if not state.dirty:
            return False
        if not state.wanted:
            state.dirty = False
            if state.typing:
                self._forward(session_id, state, False)
                return True
            return False
        if now - state.typing_at < MIN_INTERVAL:
            return False  # coalesced: goes out at typing_at + MIN_INTERVAL
        if not authorized:
            # Rights can change while typing (a transfer): checked again for each "typing".
            route = self._route(session_id)
            if route is None:
                self._states.pop(session_id, None)
                return False
            state.route = route
        state.dirty = False
        state.typing_at = now
        self._forward(session_id, state, True)
        return True

    def _route(self, session_id: uuid.UUID) -> TypingRoute | None:
        try:
            return typing_route(self.user_id, self.role, session_id)
        except Exception:  # a hint is not worth a socket: drop it
            log.warning("typing signal dropped: could not check %s", session_id, exc_info=True)
            return None

    def _forward(self, session_id: uuid.UUID, state: _State, is_typing: bool) -> None:
        state.typing = is_typing
        data: dict[str, Any] = {
            "sessionId": str(session_id),
            "sender": state.route.sender,
            "isTyping": is_typing,
        }
        if state.route.sender == "support":
            data["agentName"] = state.route.agent_name
        frame = json.dumps(
            {"event": "typing", "data": data, "timestamp": now_iso()}, ensure_ascii=False
        )
        if state.route.sender == "user":
            signal = Ephemeral(frame_json=frame, to_support=True)
        else:
            signal = Ephemeral(frame_json=frame, user_id=state.route.owner_id)
        publish_ephemeral(signal)

    def next_deadline(self) -> float | None:
        """When `tick` has something to do (monotonic time), if ever."""
        due = []
        for state in self._states.values():
            if state.dirty and state.wanted:
                due.append(state.typing_at + MIN_INTERVAL)
            if state.typing:
                due.append(state.refreshed_at + TYPING_TTL)
        return min(due) if due else None

    def tick(self, now: float | None = None) -> None:
        """Forward coalesced states whose second is up; say "stopped" for typing states not
        refreshed for TYPING_TTL seconds."""
        now = time.monotonic() if now is None else now
        for session_id, state in list(self._states.items()):
            if state.typing and now - state.refreshed_at >= TYPING_TTL:
                state.wanted, state.dirty = False, False
                self._forward(session_id, state, False)
            else:
                self._flush(session_id, state, now, authorized=False)

    def stop_all(self) -> None:
        """The socket is closing: whatever it was typing has stopped."""
        for session_id, state in list(self._states.items()):
            if state.typing:
                self._forward(session_id, state, False)
        self._states.clear()
