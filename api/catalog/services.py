"""Catalog services: load the current published catalog, import and export it atomically.

Imports run in one transaction: any invalid row means nothing is written. Each imported item
whose content differs from its current published version gets a new published version; the
previous one is kept (``superseded``) for the cases filed under it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.catalog.document import (
    CatalogDocument,
    CertificateTypeDoc,
    DepartmentDoc,
    FlowStepDoc,
    ItemDoc,
    KnownCodes,
    LifeEventDoc,
    MaterialDoc,
    Problem,
    QuestionDoc,
    SituationDoc,
    WindowDoc,
    validate_document,
)
from api.catalog.models import (
    CatalogState,
    CertificateType,
    Department,
    FlowStep,
    LifeEvent,
    LifeEventItem,
    MaterialRequirement,
    Question,
    ServiceItem,
    ServiceItemVersion,
    Situation,
    Window,
)

Progress = Callable[[int, int], None]

# Version columns that map one-to-one onto ItemDoc fields.
_VERSION_FIELDS = (
    "name", "short_name", "kind", "audiences", "keywords", "summary", "exercise_level",
    "implementer_nature", "legal_basis", "conditions", "process", "legal_limit", "legal_limit_unit",
    "legal_limit_note", "promised_limit", "promised_limit_unit", "promised_limit_note", "case_type",
    "charges", "fee_standard", "fee_basis", "result_name", "result_certificate_type", "delivery_ways",
    "handling_forms", "places", "consult_phone", "complaint_phone", "online_depth", "trips",
    "appointment", "online_payment", "quantity_limit", "intermediary_services", "special_procedures",
    "tolerated_missing", "joint_departments", "faq",
)
_QUESTION_FIELDS = ("code", "text", "help", "datatype", "required", "options", "ask_if")
_SITUATION_FIELDS = ("code", "name", "description", "rule", "promised_limit", "fee_standard")
_MATERIAL_FIELDS = (
    "code", "name", "description", "original_count", "copy_count", "required", "condition",
    "electronic_accepted", "bring_original", "issuing_body", "source", "certificate_type",
    "template_url", "sample_url", "accepted_types", "max_size_mb",
)
_FLOW_FIELDS = ("code", "name", "role", "owner", "limit")
_CHUNK = 500


class CatalogInvalid(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the catalog")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class VersionMeta:
    version_id: int
    number: int
    published_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    items_created: int
    versions_published: int
    items_unchanged: int
    catalog_version: int


def _plain(value: Any) -> Any:
    return msgspec.to_builtins(value)


def _chunks(seq: list[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


# --------------------------------------------------------------------------- reading


async def load_items(
    codes: list[str] | None = None, conn: BaseDBAsyncClient | None = None
) -> list[tuple[ItemDoc, VersionMeta]]:
    """The current published version of items (all, or those with the given codes) as documents."""
    query = ServiceItemVersion.filter(status="published")
    if codes is not None:
        if not codes:
            return []
        query = query.filter(item__code__in=codes)
    return await _load_versions(query, conn)


async def load_version(version_id: int, conn: BaseDBAsyncClient | None = None) -> tuple[ItemDoc, VersionMeta] | None:
    """Any one version (draft, published, superseded or retired) as a document."""
    found = await _load_versions(ServiceItemVersion.filter(id=version_id), conn)
    return found[0] if found else None


async def _load_versions(query: Any, conn: BaseDBAsyncClient | None) -> list[tuple[ItemDoc, VersionMeta]]:
    rows = await query.using_db(conn).order_by("item_id").values(
        "id", "number", "published_at", "item__code", "item__basic_code", "item__popularity",
        "item__department__code", "window__code", *_VERSION_FIELDS,
    )
    if not rows:
        return []
    version_ids = [r["id"] for r in rows]
    questions: dict[int, list[QuestionDoc]] = defaultdict(list)
    situations: dict[int, list[tuple[int, SituationDoc]]] = defaultdict(list)
    materials: dict[int, list[MaterialDoc]] = defaultdict(list)
    flows: dict[int, list[FlowStepDoc]] = defaultdict(list)
    for ids in _chunks(version_ids):
        for f in await FlowStep.filter(version_id__in=ids).using_db(conn).order_by(
            "version_id", "sort_order", "id"
        ).values("version_id", *_FLOW_FIELDS):
            flows[f.pop("version_id")].append(msgspec.convert(f, FlowStepDoc))
        for q in await Question.filter(version_id__in=ids).using_db(conn).order_by(
            "version_id", "sort_order", "id"
        ).values("version_id", *_QUESTION_FIELDS):
            questions[q.pop("version_id")].append(msgspec.convert(q, QuestionDoc))
        for s in await Situation.filter(version_id__in=ids).using_db(conn).order_by(
            "version_id", "sort_order", "id"
        ).values("id", "version_id", *_SITUATION_FIELDS):
            vid, sid = s.pop("version_id"), s.pop("id")
            situations[vid].append((sid, msgspec.convert(s, SituationDoc)))
        for m in await MaterialRequirement.filter(version_id__in=ids).using_db(conn).order_by(
            "situation_id", "sort_order", "id"
        ).values("situation_id", *_MATERIAL_FIELDS):
            materials[m.pop("situation_id")].append(msgspec.convert(m, MaterialDoc))
    out = []
    for r in rows:
        vid = r["id"]
        content = {f: r[f] for f in _VERSION_FIELDS}
        doc = msgspec.convert(
            {
                **content,
                "code": r["item__code"],
                "basic_code": r["item__basic_code"],
                "department": r["item__department__code"],
                "window": r["window__code"] or "",
                "popularity": r["item__popularity"],
                "questions": questions.get(vid, []),
                "flow": flows.get(vid, []),
                "situations": [
                    msgspec.structs.replace(s, materials=materials.get(sid, [])) for sid, s in situations[vid]
                ],
            },
            ItemDoc,
        )
        out.append((doc, VersionMeta(vid, r["number"], r["published_at"])))
    return out


async def export_document(progress: Progress | None = None) -> CatalogDocument:
    departments = await Department.all().order_by("level", "region_code", "sort_order", "id").values(
        "code", "name", "short_name", "region_code", "region_name", "level", "parent__code", "uscc",
        "phone", "address", "sort_order",
    )
    windows = await Window.all().order_by("sort_order", "id").values(
        "code", "name", "category", "location", "hours", "phone", "sort_order"
    )
    certs = await CertificateType.all().order_by("id").values("code", "name", "issuer", "holder")
    events = await LifeEvent.all().order_by("sort_order", "id").values(
        "id", "code", "name", "audience", "stage", "description", "icon", "sort_order"
    )
    entries: dict[int, list[str]] = defaultdict(list)
    for e in await LifeEventItem.all().order_by("life_event_id", "sort_order", "id").values(
        "life_event_id", "basic_code"
    ):
        entries[e["life_event_id"]].append(e["basic_code"])
    items = [doc for doc, _ in await load_items()]
    if progress:
        progress(len(items), len(items))
    return CatalogDocument(
        departments=[
            msgspec.convert({**{k: v for k, v in d.items() if k != "parent__code"},
                             "parent": d["parent__code"] or ""}, DepartmentDoc)
            for d in departments
        ],
        windows=[msgspec.convert(w, WindowDoc) for w in windows],
        certificate_types=[msgspec.convert(c, CertificateTypeDoc) for c in certs],
        life_events=[
            msgspec.convert(
                {**{k: v for k, v in e.items() if k != "id"}, "items": entries[e["id"]]}, LifeEventDoc
            )
            for e in events
        ],
        items=items,
    )


async def catalog_version(conn: BaseDBAsyncClient | None = None) -> int:
    row = await CatalogState.filter(id=1).using_db(conn).values_list("version", flat=True)
    return row[0] if row else 0


async def bump_catalog_version(conn: BaseDBAsyncClient) -> int:
    # Locked (PostgreSQL): two concurrent publishes must yield two versions, or a process that
    # rebuilt its cache after the first would never see the second.
    state = await CatalogState.filter(id=1).select_for_update().using_db(conn).first()
    if state is None:
        await CatalogState.create(id=1, version=1, using_db=conn)
        return 1
    state.version += 1
    await state.save(using_db=conn)
    return state.version


# --------------------------------------------------------------------------- writing


async def _upsert(model: Any, docs: list[Any], conn: BaseDBAsyncClient, **extra: Any) -> dict[str, Any]:
    existing = {o.code: o for o in await model.filter(code__in=[d.code for d in docs]).using_db(conn)}
    new = []
    for d in docs:
        values = {k: v for k, v in msgspec.structs.asdict(d).items() if k in model._meta.db_fields}
        values.update({k: f(d) for k, f in extra.items()})
        obj = existing.get(d.code)
        if obj is None:
            new.append(model(**values))
        elif any(getattr(obj, k) != v for k, v in values.items()):
            obj.update_from_dict(values)
            await obj.save(using_db=conn)
    if new:
        await model.bulk_create(new, using_db=conn)
    return {o.code: o for o in await model.filter(code__in=[d.code for d in docs]).using_db(conn)}


def version_values(doc: ItemDoc, window_id: int | None) -> dict[str, Any]:
    """The version row's content columns for a document (status, number and dates are the caller's)."""
    return {"window_id": window_id, **{f: _plain(getattr(doc, f)) for f in _VERSION_FIELDS}}


async def write_version_content(versions: list[tuple[int, ItemDoc]], conn: BaseDBAsyncClient) -> None:
    """Insert the questions, situations, materials and flow steps of versions that have none yet.

    Shared by import (many versions per batch) and the administration API (one draft at a time),
    so both write a version's content exactly the same way.
    """
    questions: list[Question] = []
    situations: list[Situation] = []
    steps: list[FlowStep] = []
    for vid, d in versions:
        steps += [
            FlowStep(version_id=vid, sort_order=i, **{f: _plain(getattr(s, f)) for f in _FLOW_FIELDS})
            for i, s in enumerate(d.flow)
        ]
        questions += [
            Question(version_id=vid, sort_order=i, **{f: _plain(getattr(q, f)) for f in _QUESTION_FIELDS})
            for i, q in enumerate(d.questions)
        ]
        situations += [
            Situation(version_id=vid, sort_order=i, **{f: _plain(getattr(s, f)) for f in _SITUATION_FIELDS})
            for i, s in enumerate(d.situations)
        ]
    await Question.bulk_create(questions, using_db=conn)
    await FlowStep.bulk_create(steps, using_db=conn)
    await Situation.bulk_create(situations, using_db=conn)
    situation_ids = {
        (r["version_id"], r["code"]): r["id"]
        for r in await Situation.filter(version_id__in=[vid for vid, _ in versions])
        .using_db(conn)
        .values("id", "version_id", "code")
    }
    materials: list[MaterialRequirement] = []
    for vid, d in versions:
        for s in d.situations:
            sid = situation_ids[(vid, s.code)]
            materials += [
                MaterialRequirement(
                    version_id=vid, situation_id=sid, sort_order=i,
                    **{f: _plain(getattr(m, f)) for f in _MATERIAL_FIELDS},
                )
                for i, m in enumerate(s.materials)
            ]
    await MaterialRequirement.bulk_create(materials, using_db=conn)


async def import_document(doc: CatalogDocument, progress: Progress | None = None, *,
                          actor: str | None = None, source: str = "") -> ImportResult:
    """Import a catalog, all or nothing (CatalogInvalid with every problem). ``actor`` (an
    administrator over HTTP) is recorded in the audit trail inside the import's transaction."""
    known = KnownCodes(
        departments=frozenset(await Department.all().values_list("code", flat=True)),
        windows=frozenset(await Window.all().values_list("code", flat=True)),
        certificate_types=frozenset(await CertificateType.all().values_list("code", flat=True)),
        basic_codes=frozenset(await ServiceItem.all().values_list("basic_code", flat=True)),
    )
    problems = validate_document(doc, known)
    # An import publishes new versions; an administrator's open draft would later supersede them
    # with older content. Ask for the draft to be published or discarded first.
    drafted = set(
        await ServiceItemVersion.filter(status="draft", item__code__in=[i.code for i in doc.items]).values_list(
            "item__code", flat=True
        )
    ) if doc.items else set()
    problems += [
        Problem(f"items[{code}]", "code", "该事项有尚未发布的草稿，请先发布或放弃草稿再导入")
        for code in sorted(drafted)
    ]
    if problems:
        raise CatalogInvalid(problems)

    async with in_transaction() as conn:
        await _upsert(CertificateType, doc.certificate_types, conn)
        windows = await _upsert(Window, doc.windows, conn)
        departments = await _upsert(Department, doc.departments, conn)
        for d in doc.departments:  # parents may come later in the list: link in a second pass
            parent = departments.get(d.parent) if d.parent else None
            if parent is None and d.parent:
                parent = await Department.get(code=d.parent, using_db=conn)
            obj = departments[d.code]
            if obj.parent_id != (parent.id if parent else None):
                obj.parent_id = parent.id if parent else None
                await obj.save(using_db=conn)
        events = await _upsert(LifeEvent, doc.life_events, conn)
        for e in doc.life_events:
            await LifeEventItem.filter(life_event_id=events[e.code].id).using_db(conn).delete()
            await LifeEventItem.bulk_create(
                [LifeEventItem(life_event_id=events[e.code].id, basic_code=c, sort_order=i)
                 for i, c in enumerate(e.items)],
                using_db=conn,
            )
        result = await _import_items(doc.items, departments, windows, conn, progress)
        # Unchanged items publish nothing: leave the version alone so caches are not rebuilt.
        version = await bump_catalog_version(conn) if result[1] or not doc.items else await catalog_version(conn)
        if actor is not None:
            await record(conn, actor, "catalog.import", "catalog", source[:64] or "workbook", after={
                "items_created": result[0], "versions_published": result[1], "items_unchanged": result[2],
                "catalog_version": version})
    return ImportResult(*result, catalog_version=version)


async def _import_items(
    docs: list[ItemDoc],
    departments: dict[str, Department],
    windows: dict[str, Window],
    conn: BaseDBAsyncClient,
    progress: Progress | None,
) -> tuple[int, int, int]:
    total = len(docs)
    created = published = unchanged = 0
    now = dt.datetime.now(dt.UTC)
    for done, batch in enumerate(_chunks(docs, 200)):
        codes = [d.code for d in batch]
        items = {i.code: i for i in await ServiceItem.filter(code__in=codes).using_db(conn)}
        current = {doc.code: (doc, meta) for doc, meta in await load_items(codes, conn)}
        missing_depts = {d.department for d in batch} - departments.keys()
        for code in missing_depts:
            departments[code] = await Department.get(code=code, using_db=conn)
        missing_windows = {d.window for d in batch if d.window} - windows.keys()
        for code in missing_windows:
            windows[code] = await Window.get(code=code, using_db=conn)

        new_items = [
            ServiceItem(
                code=d.code, basic_code=d.basic_code, department_id=departments[d.department].id,
                region_code=departments[d.department].region_code, popularity=d.popularity,
            )
            for d in batch if d.code not in items
        ]
        if new_items:
            await ServiceItem.bulk_create(new_items, using_db=conn)
            created += len(new_items)
            items = {i.code: i for i in await ServiceItem.filter(code__in=codes).using_db(conn)}

        to_publish: list[ItemDoc] = []
        for d in batch:
            old = current.get(d.code)
            item = items[d.code]
            if old is not None and old[0] == d:
                unchanged += 1
                continue
            if (item.basic_code, item.popularity, item.department_id) != (
                d.basic_code, d.popularity, departments[d.department].id
            ):
                item.basic_code, item.popularity = d.basic_code, d.popularity
                item.department_id = departments[d.department].id
                item.region_code = departments[d.department].region_code
                await item.save(using_db=conn)
            to_publish.append(d)
        if not to_publish:
            continue
        item_ids = [items[d.code].id for d in to_publish]
        numbers: dict[int, int] = defaultdict(int)
        for row in await ServiceItemVersion.filter(item_id__in=item_ids).using_db(conn).values(
            "item_id", "number"
        ):
            numbers[row["item_id"]] = max(numbers[row["item_id"]], row["number"])
        await ServiceItemVersion.filter(item_id__in=item_ids, status="published").using_db(conn).update(
            status="superseded"
        )
        await ServiceItemVersion.bulk_create(
            [
                ServiceItemVersion(
                    item_id=items[d.code].id, number=numbers[items[d.code].id] + 1, status="published",
                    published_at=now, **version_values(d, windows[d.window].id if d.window else None),
                )
                for d in to_publish
            ],
            using_db=conn,
        )
        version_ids = {
            r["item_id"]: r["id"]
            for r in await ServiceItemVersion.filter(item_id__in=item_ids, status="published")
            .using_db(conn)
            .values("id", "item_id")
        }
        await write_version_content([(version_ids[items[d.code].id], d) for d in to_publish], conn)
        published += len(to_publish)
        if progress:
            progress(min((done + 1) * 200, total), total)
    return created, published, unchanged


async def catalog_is_empty() -> bool:
    return not await ServiceItem.exists()
