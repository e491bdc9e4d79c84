"""In-process cache of the published catalog, keyed by the catalog version.

Catalog reads are the hottest path and change rarely. Each process keeps the search index and
pre-serialised responses; it re-reads the one-row catalog version at most once per
``check_interval`` seconds (a publish in this process invalidates at once), and rebuilds when
the version moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import msgspec

from api.catalog import codes
from api.catalog.document import ItemDoc
from api.catalog.flows import flow_of, owner_is_window
from api.catalog.material_list import material_out
from api.catalog.models import (
    CertificateType,
    Department,
    LifeEvent,
    LifeEventItem,
    ServiceItemVersion,
    Window,
)
from api.catalog.schemas import (
    DepartmentOut,
    DepartmentRef,
    FaqOut,
    FlowStepOut,
    ImplementationOut,
    ItemGuide,
    ItemSummary,
    LifeEventDetail,
    LifeEventRef,
    LifeEventSummary,
    OptionOut,
    PlaceOut,
    QuestionOut,
    RegionOut,
    SituationOut,
    SpecialProcedureOut,
    StepOut,
    ToleratedMissingOut,
    VersionOut,
    WindowOut,
)
from api.catalog.search import Entry, Filters, SearchIndex, SortKey, encode_cursor
from api.catalog.services import VersionMeta, catalog_version, load_items, load_version

log = logging.getLogger("zhengwu.catalog")
_encoder = msgspec.json.Encoder()
_guide_decoder = msgspec.json.Decoder(ItemGuide)
#: Item versions kept for the cases filed under them (a version document is a few KB).
VERSIONS_KEPT = 512


class _LRU(OrderedDict):
    """Least-recently-used values, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int, size: Callable[[Any], int] = len) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.size = size
        self.used = 0

    def get_(self, key: object) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: object, value: Any) -> None:
        old = self.pop(key, None)
        if old is not None:
            self.used -= self.size(old)
        self[key] = value
        self.used += self.size(value)
        while self.used > self.max_bytes and len(self) > 1:
            _, dropped = self.popitem(last=False)
            self.used -= self.size(dropped)


class CachedGuide(NamedTuple):
    body: bytes  # the encoded ItemGuide
    etag: str  # strong validator of exactly these bytes


def _cached_guide(body: bytes) -> CachedGuide:
    # Derived from the bytes, not from a counter: every process serving the same version answers
    # with the same tag, and anything that changes the guide (a new version, a renamed department
    # shown in it) changes it.
    return CachedGuide(body, f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"')


@dataclass
class Snapshot:
    """Everything derived from one catalog version."""

    version: int
    index: SearchIndex
    summaries: dict[str, bytes]  # item code → encoded ItemSummary
    entries: dict[str, Entry]
    departments: dict[str, DepartmentOut]
    regions: list[RegionOut]
    city_region: str
    by_basic: dict[str, list[Entry]]  # basic code → implementations, city first
    life_events: dict[str, tuple[LifeEventSummary, list[str]]]  # code → (summary, basic codes)
    events_by_basic: dict[str, list[LifeEventRef]]
    windows: dict[str, WindowOut]
    certificate_names: dict[str, str]
    # Pre-serialised responses. A guide is ~11 KB (up to ~30): 96 MiB holds a 5,933-item catalog.
    guides: _LRU = field(default_factory=lambda: _LRU(96 << 20, size=lambda g: len(g.body)))  # of CachedGuide
    pages: _LRU = field(default_factory=lambda: _LRU(16 << 20))


class CatalogCache:
    def __init__(self, check_interval: float = 1.0, prewarm: bool = True) -> None:
        self.check_interval = check_interval
        self.prewarm = prewarm
        self._snapshot: Snapshot | None = None
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()
        self._prewarming: asyncio.Task[None] | None = None
        self._versions: OrderedDict[int, ItemDoc] = OrderedDict()

    def invalidate(self) -> None:
        """Force a version check on the next read (called after a publish in this process)."""
        # Minus infinity, not 0: the monotonic clock may be younger than a long check interval.
        self._checked_at = float("-inf")

    async def snapshot(self) -> Snapshot:
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked_at < self.check_interval:
            return snap
        async with self._lock:
            if self._snapshot is not None and time.monotonic() - self._checked_at < self.check_interval:
                return self._snapshot
            version = await catalog_version()
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = await _build(version)
                _settle()
                if self.prewarm:
                    if self._prewarming is not None:
                        self._prewarming.cancel()
                    self._prewarming = asyncio.create_task(self._prewarm(self._snapshot))
            self._checked_at = time.monotonic()
            return self._snapshot

    async def _prewarm(self, snap: Snapshot, batch: int = 50) -> None:
        """Pre-serialise every guide in the background, most popular first, in small batches so
        requests keep being served; the first citizen to open a guide finds it ready."""
        codes_ = [e.code for e in sorted(snap.index.entries, key=lambda e: -e.popularity)]
        try:
            for i in range(0, len(codes_), batch):
                if snap is not self._snapshot:
                    return
                if snap.guides.used >= snap.guides.max_bytes:
                    break
                todo = [c for c in codes_[i : i + batch] if c not in snap.guides]
                for doc, meta in await load_items(todo):
                    snap.guides.put(doc.code, _cached_guide(_encoder.encode(_guide(snap, doc, meta))))
                await asyncio.sleep(0)
            _settle()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a cold cache is slower, never wrong
            log.warning("catalog prewarm stopped: %s", type(exc).__name__)

    async def close(self) -> None:
        if self._prewarming is not None:
            self._prewarming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prewarming

    # ------------------------------------------------------------------ reads

    async def page(self, query: str, filters: Filters, limit: int, after: SortKey | None) -> bytes:
        snap = await self.snapshot()
        key = (query, filters, limit, after)
        cached = snap.pages.get_(key)
        if cached is not None:
            return cached
        found, total, next_key = snap.index.search(query, filters, limit, after)
        body = b"".join(
            (
                b'{"items":[',
                b",".join(snap.summaries[e.code] for e in found),
                b'],"total":',
                str(total).encode(),
                b',"next_cursor":',
                _encoder.encode(encode_cursor(next_key) if next_key else None),
                b"}",
            )
        )
        snap.pages.put(key, body)
        return body

    async def cached_guide(self, code: str) -> CachedGuide | None:
        """The encoded guide of an item's current version and its ETag, or None for an unknown code."""
        snap = await self.snapshot()
        cached = snap.guides.get_(code)
        if cached is not None:
            return cached
        if code not in snap.entries:
            return None
        loaded = await load_items([code])
        if not loaded:
            return None
        cached = _cached_guide(_encoder.encode(_guide(snap, *loaded[0])))
        snap.guides.put(code, cached)
        return cached

    def fresh_guide(self, code: str) -> CachedGuide | None:
        """The cached guide of ``code`` when the snapshot needs no version check now, without
        waiting on anything: the guide route's fast path (api/catalog/guide_asgi.py). None means
        "ask ``cached_guide``" (not cached yet, unknown code, or a version check is due)."""
        snap = self._snapshot
        if snap is None or time.monotonic() - self._checked_at >= self.check_interval:
            return None
        return snap.guides.get_(code)

    async def guide_bytes(self, code: str) -> bytes | None:
        """The encoded guide of an item's current version, or None for an unknown code."""
        cached = await self.cached_guide(code)
        return None if cached is None else cached.body

    async def guide(self, code: str) -> ItemGuide | None:
        body = await self.guide_bytes(code)
        return None if body is None else _guide_decoder.decode(body)

    async def version(self, version_id: int) -> ItemDoc | None:
        """One stored version by id, for the cases filed under it. Only published versions are asked
        for (a case is filed under the current one), and a published version never changes again
        (publishing makes a new one), so they are kept whatever the catalog version."""
        doc = self._versions.get(version_id)
        if doc is not None:
            self._versions.move_to_end(version_id)
            return doc
        found = await load_version(version_id)
        if found is None:
            return None
        self._versions[version_id] = found[0]
        while len(self._versions) > VERSIONS_KEPT:
            self._versions.popitem(last=False)
        return found[0]


# ---------------------------------------------------------------------- building


def _settle() -> None:
    """Move every object alive now out of the garbage collector's reach (``gc.freeze``).

    A snapshot is some 285,000 long-lived container objects (index sets, entries, lists), and
    every full collection walked all of them: 150 ms on the event loop, the p99 of every catalog
    benchmark (tests/bench/README.md). Frozen, they are never scanned again; they are still freed
    by reference counting when the next version replaces them (a snapshot holds no reference
    cycles), and the next snapshot is frozen in turn. Called after start-up's snapshot, so the
    app's own modules and routes are frozen with it."""
    gc.freeze()



def _department_ref(d: DepartmentOut) -> DepartmentRef:
    return DepartmentRef(code=d.code, name=d.name, short_name=d.short_name)


async def _build(version: int) -> Snapshot:
    dept_rows = await Department.all().order_by("level", "region_code", "sort_order", "id").values(
        "code", "name", "short_name", "region_code", "region_name", "level", "parent__code", "phone",
        "address",
    )
    rows = await ServiceItemVersion.filter(status="published").values(
        "item__code", "item__basic_code", "item__region_code", "item__popularity", "item__department__code",
        "name", "short_name", "keywords", "kind", "audiences", "online_depth", "trips", "promised_limit",
        "promised_limit_unit", "case_type", "summary",
    )
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["item__department__code"]] = counts.get(r["item__department__code"], 0) + 1
    departments = {
        d["code"]: DepartmentOut(
            code=d["code"], name=d["name"], short_name=d["short_name"], region_code=d["region_code"],
            region_name=d["region_name"], level=d["level"], parent=d["parent__code"], phone=d["phone"],
            address=d["address"], item_count=counts.get(d["code"], 0),
        )
        for d in dept_rows
    }
    regions: dict[str, RegionOut] = {}
    for d in departments.values():
        regions.setdefault(d.region_code, RegionOut(code=d.region_code, name=d.region_name, level=d.level))
    region_list = sorted(regions.values(), key=lambda r: (r.level != "city", r.code))
    city_region = next((r.code for r in region_list if r.level == "city"), region_list[0].code if region_list else "")

    entries: dict[str, Entry] = {}
    summaries: dict[str, bytes] = {}
    for r in rows:
        dept = departments[r["item__department__code"]]
        entries[r["item__code"]] = Entry(
            code=r["item__code"], basic_code=r["item__basic_code"], name=r["name"], short_name=r["short_name"],
            keywords=list(r["keywords"]), department_code=dept.code, department_name=dept.name,
            department_short_name=dept.short_name, region_code=r["item__region_code"], kind=r["kind"],
            audiences=list(r["audiences"]), popularity=r["item__popularity"],
        )
        summaries[r["item__code"]] = _encoder.encode(
            ItemSummary(
                code=r["item__code"], basic_code=r["item__basic_code"], name=r["name"],
                short_name=r["short_name"], kind=r["kind"], kind_name=codes.ITEM_KINDS[r["kind"]][0],
                audiences=list(r["audiences"]), department=_department_ref(dept),
                region_code=r["item__region_code"], region_name=dept.region_name,
                online_depth=r["online_depth"], trips=r["trips"], promised_limit=r["promised_limit"],
                promised_limit_unit=r["promised_limit_unit"], case_type=r["case_type"], summary=r["summary"],
            )
        )

    event_items: dict[int, list[str]] = {}
    for e in await LifeEventItem.all().order_by("life_event_id", "sort_order", "id").values(
        "life_event_id", "basic_code"
    ):
        event_items.setdefault(e["life_event_id"], []).append(e["basic_code"])
    life_events: dict[str, tuple[LifeEventSummary, list[str]]] = {}
    events_by_basic: dict[str, list[LifeEventRef]] = {}
    for e in await LifeEvent.all().order_by("sort_order", "id"):
        basics = event_items.get(e.id, [])
        life_events[e.code] = (
            LifeEventSummary(
                code=e.code, name=e.name, audience=e.audience, stage=e.stage, description=e.description,
                icon=e.icon, item_count=len(basics),
            ),
            basics,
        )
        for b in basics:
            events_by_basic.setdefault(b, []).append(LifeEventRef(code=e.code, name=e.name))
    windows = {
        w.code: WindowOut(
            code=w.code, name=w.name, category=w.category,
            category_name=codes.WINDOW_CATEGORIES.get(w.category, ("", ""))[0], location=w.location,
            hours=w.hours, phone=w.phone,
        )
        for w in await Window.all()
    }
    certificate_names = dict(await CertificateType.all().values_list("code", "name"))
    by_basic: dict[str, list[Entry]] = {}
    for e in sorted(entries.values(), key=lambda e: (e.region_code != city_region, e.region_code)):
        by_basic.setdefault(e.basic_code, []).append(e)
    return Snapshot(
        version=version, index=SearchIndex(entries.values()), summaries=summaries, entries=entries,
        by_basic=by_basic,
        departments=departments, regions=region_list, city_region=city_region, life_events=life_events,
        events_by_basic=events_by_basic, windows=windows, certificate_names=certificate_names,
    )


def _owner_name(snap: Snapshot, role: str, owner: str) -> str:
    if owner_is_window(role):
        window = snap.windows.get(owner)
        return window.name if window else ""
    department = snap.departments.get(owner)
    return department.name if department else ""


def _guide(snap: Snapshot, doc: ItemDoc, meta: VersionMeta) -> ItemGuide:
    dept = snap.departments[doc.department]
    siblings = snap.by_basic.get(doc.basic_code, [])

    return ItemGuide(
        code=doc.code, basic_code=doc.basic_code, name=doc.name, short_name=doc.short_name, kind=doc.kind,
        kind_name=codes.ITEM_KINDS[doc.kind][0], audiences=doc.audiences, keywords=doc.keywords,
        summary=doc.summary, department=_department_ref(dept), region_code=dept.region_code,
        region_name=dept.region_name, exercise_level=doc.exercise_level,
        exercise_level_name=codes.EXERCISE_LEVELS.get(doc.exercise_level, ""),
        implementer_nature=doc.implementer_nature, legal_basis=doc.legal_basis, conditions=doc.conditions,
        process=[StepOut(name=s.name, description=s.description) for s in doc.process],
        legal_limit=doc.legal_limit, legal_limit_unit=doc.legal_limit_unit, legal_limit_note=doc.legal_limit_note,
        promised_limit=doc.promised_limit, promised_limit_unit=doc.promised_limit_unit,
        promised_limit_note=doc.promised_limit_note, case_type=doc.case_type,
        case_type_name=codes.CASE_TYPES[doc.case_type][0], charges=doc.charges, fee_standard=doc.fee_standard,
        fee_basis=doc.fee_basis, result_name=doc.result_name, result_certificate_type=doc.result_certificate_type,
        delivery_ways=doc.delivery_ways, handling_forms=doc.handling_forms,
        places=[PlaceOut(name=p.name, address=p.address, hours=p.hours) for p in doc.places],
        window=snap.windows.get(doc.window) if doc.window else None, consult_phone=doc.consult_phone,
        complaint_phone=doc.complaint_phone, online_depth=doc.online_depth,
        online_depth_name=codes.ONLINE_DEPTHS[doc.online_depth][0], trips=doc.trips,
        appointment=doc.appointment, online_payment=doc.online_payment, quantity_limit=doc.quantity_limit,
        intermediary_services=doc.intermediary_services,
        special_procedures=[
            SpecialProcedureOut(
                kind=p.kind, kind_name=codes.SPECIAL_PROCEDURE_KINDS.get(p.kind, ("",))[0],
                name=p.name or codes.SPECIAL_PROCEDURE_KINDS.get(p.kind, ("",))[0], limit=p.limit,
                counted=p.counted, basis=p.basis,
            )
            for p in doc.special_procedures
        ],
        flow=[
            FlowStepOut(
                code=s.code, name=s.name, role_name=codes.STEP_ROLES.get(s.role, ("",))[0],
                owner_name=_owner_name(snap, s.role, s.owner), limit=s.limit,
            )
            for s in flow_of(doc)
        ],
        tolerated_missing=ToleratedMissingOut(
            materials=doc.tolerated_missing.materials, deadline=doc.tolerated_missing.deadline
        ) if doc.tolerated_missing.allowed else None,
        joint_departments=[
            _department_ref(snap.departments[c]) for c in doc.joint_departments if c in snap.departments
        ],
        faq=[FaqOut(question=f.question, answer=f.answer) for f in doc.faq],
        questions=[
            QuestionOut(
                code=q.code, text=q.text, help=q.help, datatype=q.datatype, required=q.required,
                options=[OptionOut(value=o.value, label=o.label) for o in q.options], ask_if=q.ask_if,
            )
            for q in doc.questions
        ],
        situations=[
            SituationOut(
                code=s.code, name=s.name, description=s.description, rule=s.rule,
                promised_limit=s.promised_limit if s.promised_limit is not None else doc.promised_limit,
                fee_standard=s.fee_standard or doc.fee_standard,
                materials=[material_out(m, snap.certificate_names) for m in s.materials],
            )
            for s in doc.situations
        ],
        implementations=[
            ImplementationOut(
                code=e.code, region_code=e.region_code,
                region_name=snap.departments[e.department_code].region_name,
                department=_department_ref(snap.departments[e.department_code]),
            )
            for e in siblings
        ],
        life_events=snap.events_by_basic.get(doc.basic_code, []),
        version=VersionOut(
            number=meta.number, published_at=meta.published_at.isoformat() if meta.published_at else None
        ),
        pwa_path=f"/items/{doc.code}",
    )


def life_event_detail(snap: Snapshot, code: str, region: str) -> LifeEventDetail | None:
    found = snap.life_events.get(code)
    if found is None:
        return None
    summary, basics = found
    here = {b: next((e for e in snap.by_basic.get(b, []) if e.region_code == region), None) for b in basics}
    items = [msgspec.json.decode(snap.summaries[e.code], type=ItemSummary) for e in here.values() if e]
    return LifeEventDetail(
        code=summary.code, name=summary.name, audience=summary.audience, stage=summary.stage,
        description=summary.description, icon=summary.icon, region_code=region, items=items,
    )
