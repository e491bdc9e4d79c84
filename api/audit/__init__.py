"""Audit trail (审计): an append-only record of who did what, with the state before and after."""
