"""Resumable material uploads (tus 1.0) and their validation."""
