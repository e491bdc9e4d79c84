"""Irregularities (违规) read from the audit trail: a periodic job walks the entries in chain order from
where it stopped (``JobRun`` keeps the position, committed with what it found), hands each case
entry to the rules of ``rules`` with the context each needs (the case's earlier entries, its
materials, its item's special procedures), and records what they find with the entries that prove
it. An irregularity's ``key`` is unique: found once, whoever scans.

Only entries up to each chain head's ``seq`` are read: a writer moves the head first in its
transaction (api/audit/services.record), so every entry up to a committed head is committed too,
and none is passed over because a later one committed first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.audit.models import AuditChainHead, AuditEntry
from api.cases.models import Case, CaseMaterial
from api.catalog.models import ServiceItemVersion
from api.core.jobs import JobRun, xact_lock
from api.supervision import rules
from api.supervision.models import Irregularity
from api.supervision.services import KIND_NAMES, evidence_of, thresholds
from api.workflow.calendar_services import current_calendar

JOB = "supervision.irregularities"
BATCH = 500
#: Entries whose rules need the case's earlier entries.
_NEEDS_TRAIL = frozenset({"case.request_correction", "case.resume", "case.survey_closed", "case.approve",
                          "case.deny", "case.release"})
_ACTIONS = frozenset({"case.irregular_correction", "case.irregular_refusal", "case.accept", "case.deem_accepted"})


def _entry(e: AuditEntry) -> rules.Entry:
    return rules.Entry(e.id, e.seq, e.at, e.actor, e.role, e.action, e.target_code,
                       e.after if isinstance(e.after, dict) else {}, e.hash)


async def _case(conn: BaseDBAsyncClient, code: str) -> Case | None:
    case = await Case.filter(number=code).using_db(conn).first()
    if case is None and code.isascii() and code.isdigit() and len(code) <= 18:
        case = await Case.filter(id=int(code)).using_db(conn).first()
    return case


async def _trail(conn: BaseDBAsyncClient, code: str, before_id: int) -> list[rules.Entry]:
    # In the order written: a case's moves are made under its lock, one after the other (the entries
    # of one case may lie in several of the audit chains, whose seq numbers do not compare).
    return [_entry(e) for e in await AuditEntry.filter(target_type="case", target_code=code, id__lt=before_id)
            .using_db(conn).order_by("id")]


async def _allowed_stop(conn: BaseDBAsyncClient, case: Case, started: rules.Entry | None, default: int) -> int:
    procedure = "site_survey" if started is None or started.action == "case.survey_scheduled" else \
        str(started.after.get("procedure") or "")
    found = await ServiceItemVersion.filter(id=case.item_version_id).using_db(conn) \
        .values_list("special_procedures", flat=True)  # type: ignore[attr-defined]
    return rules.allowed_suspension(procedure, (found[0] or []) if found else [], default, KIND_NAMES)


async def findings(conn: BaseDBAsyncClient, entry: rules.Entry, case: Case, t: rules.Thresholds,
                   calendar: rules.Calendar) -> list[rules.Finding]:
    """What the rules find in one case entry."""
    out = [f for f in (rules.correction_outside_list(entry), rules.refusal_without_reason(entry),
                       rules.deemed_acceptance(entry)) if f is not None]
    if entry.action == "case.accept":
        missing = await CaseMaterial.filter(case_id=case.id, required=True, status="missing", source="applicant") \
            .using_db(conn).order_by("sort_order").values_list("code", flat=True)
        if (f := rules.accepted_incomplete(entry, [str(m) for m in missing])) is not None:
            out.append(f)
    trail: list[rules.Entry] | None = None
    if entry.action in _NEEDS_TRAIL or (t.working_hours and entry.role in ("clerk", "officer", "approver")):
        trail = await _trail(conn, entry.target_code, entry.id)
    if trail is None:
        return out
    if entry.action == "case.request_correction":
        earlier = [e for e in trail if e.action == "case.request_correction"]
        if (f := rules.repeated_correction(entry, earlier)) is not None:
            out.append(f)
    elif entry.action in ("case.resume", "case.survey_closed"):
        kinds = ("case.suspend",) if entry.action == "case.resume" else ("case.survey_scheduled",)
        started = next((e for e in reversed(trail) if e.action in kinds), None)
        allowed = await _allowed_stop(conn, case, started, t.suspension_days)
        if (f := rules.overlong_stop(entry, started, allowed)) is not None:
            out.append(f)
    elif entry.action in ("case.approve", "case.deny"):
        if (f := rules.skipped_step(entry, [e.action for e in trail])) is not None:
            out.append(f)
    elif entry.action == "case.release":
        claims = [e for e in trail if e.action in ("case.claim", "case.release")]
        if (f := rules.repeated_claims(entry, claims, t.claim_release_limit)) is not None:
            out.append(f)
    if t.working_hours:
        last = next((e for e in reversed(trail) if e.action in ("case.claim", "case.release")), None)
        held = last is not None and last.action == "case.claim" and last.actor == entry.actor
        held = held or (entry.action == "case.release" and last is not None and last.actor == entry.actor)
        if (f := rules.outside_hours(entry, t.working_hours, calendar, held)) is not None:
            out.append(f)
    return out


def key_of(kind: str, case_id: int, finding_key: str) -> str:
    # The overlong suspension found by the tick while it runs and at its end share the key of its start.
    return f"{kind}:{case_id}:{finding_key}"


async def scan(now: dt.datetime | None = None, *, batch: int = BATCH) -> int:
    """Read the audit entries written since the last scan; record what the rules find. Returns the
    number of irregularities found (0 when another worker is scanning)."""
    found = 0
    t = await thresholds()
    calendar = await current_calendar()
    while True:
        at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        async with in_transaction() as conn:
            if not await xact_lock(conn, JOB):
                return found
            state = await JobRun.filter(name=JOB).using_db(conn).values_list("state", flat=True)
            cursors = {int(c): int(s) for c, s in ((state[0] or {}).get("chains", {}) if state else {}).items()}
            heads = dict(await AuditChainHead.all().using_db(conn).values_list("id", "seq"))
            # Each chain from where the last scan stopped up to its committed head; the chains in turn.
            rows: list[AuditEntry] = []
            for chain, top in sorted(heads.items()):
                if len(rows) >= batch:
                    break
                got = await AuditEntry.filter(chain=chain, seq__gt=cursors.get(chain, 0), seq__lte=top) \
                    .using_db(conn).order_by("seq").limit(batch - len(rows))
                if got:
                    cursors[chain] = got[-1].seq
                rows += got
            rows.sort(key=lambda e: e.id)
            for e in rows:
                if e.target_type != "case" or not (e.action in _ACTIONS or e.action in _NEEDS_TRAIL
                                                   or t.working_hours):
                    continue
                case = await _case(conn, e.target_code)
                if case is None:
                    continue
                for f in await findings(conn, _entry(e), case, t, calendar):
                    found += await _store(conn, f, case, at)
            values: dict[str, Any] = {"state": {"chains": {str(c): s for c, s in cursors.items()}},
                                      "last_done_at": at}
            if not await JobRun.filter(name=JOB).using_db(conn).update(**values):
                await JobRun.create(name=JOB, using_db=conn, **values)
        if len(rows) < batch:
            return found


async def _store(conn: BaseDBAsyncClient, f: rules.Finding, case: Case, at: dt.datetime) -> int:
    key = key_of(f.kind, case.id, f.key)
    if await Irregularity.filter(key=key).using_db(conn).exists():
        return 0
    await Irregularity.create(
        key=key, kind=f.kind, case_id=case.id, case_number=case.number or "", item_code=case.item_code,
        department_code=case.department_code, person=f.person, at=f.evidence[-1].at,
        evidence=evidence_of(list(f.evidence)), detail=dict(f.detail), found_at=at, using_db=conn)
    return 1
