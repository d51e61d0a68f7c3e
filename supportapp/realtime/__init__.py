"""Real-time events: published to a Redis stream after commit, fanned out to WebSockets."""
