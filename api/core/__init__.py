"""Shared infrastructure: settings, database, errors. Imports no domain package."""
