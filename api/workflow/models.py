"""The workflow's tables: the administrator's corrections of the working-day calendar (the case
tables themselves live in api.cases)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class CalendarOverride(Model):
    """One day whose working status an administrator set: the library's calendar gets a year
    wrong (its future years are estimates), or the city declares a local closure or workday."""

    id = fields.IntField(primary_key=True)
    day = fields.DateField(unique=True)
    working = fields.BooleanField()
    note = fields.CharField(max_length=200, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "calendar_override"


class CalendarRevision(Model):
    """One row (id 1) whose stamp every change of the overrides replaces, in the change's own
    transaction: a process re-reads the overrides when the stamp differs from the one it loaded.
    A fresh random stamp rather than a counter, so that two databases (tests switch between
    SQLite and PostgreSQL in one process) never share a stamp once either has been changed."""

    id = fields.IntField(primary_key=True)
    stamp = fields.CharField(max_length=32)

    class Meta:
        table = "calendar_revision"
