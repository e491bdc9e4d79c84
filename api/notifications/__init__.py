"""Notifications: the outbox written in the caller's transaction, and its delivery (issue #13)."""
