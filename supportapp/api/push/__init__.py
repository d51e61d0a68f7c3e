"""Web Push subscriptions of support staff (new-chat notifications)."""
