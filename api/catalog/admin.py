"""Catalog administration (事项配置管理): the rules behind the admin API, callable without HTTP.

Items change through drafts: an administrator creates a draft (a copy of the current published
version, or a new item's first version), edits it, validates it and publishes it. Published and
superseded versions are never written again — cases filed under them keep pointing at exactly
what the applicant saw. Every action writes an audit entry in the same transaction as the change,
and every change a citizen can see bumps the catalog version so every process's cache rebuilds
(the caller also invalidates its own process's cache at once).
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import msgspec
from openpyxl.utils.exceptions import InvalidFileException
from tortoise import fields as tfields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from api.audit.services import record
from api.catalog.document import (
    CatalogDocument,
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
from api.catalog.excel import CatalogImportError, read_workbook
from api.catalog.models import (
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
from api.catalog.services import (
    CatalogInvalid,
    ImportResult,
    bump_catalog_version,
    import_document,
    load_version,
    version_values,
    write_version_content,
)
from api.core.errors import Conflict, InvalidInput, NotFound, RuleViolation, not_found

# Codes appear in URLs (/items/{code}) and in Excel sheets: keep them to safe characters.
_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")
_INT32 = 2**31  # PostgreSQL INTEGER; a larger number would fail in the database, not here


class ProblemsFound(RuleViolation):
    """Every problem at once, so an administrator fixes them in one pass."""

    def __init__(self, problems: list[Problem], message: str | None = None, detail: str | None = None) -> None:
        n = len(problems)
        first = problems[0]
        super().__init__(
            message or f"内容有 {n} 处问题：{first.message}", detail or f"{n} problem(s) in the content",
            first.field, problems=problems,
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- storability


def _fits(where: str, doc: msgspec.Struct, model: type[Model], out: list[Problem]) -> None:
    """Strings within their column's length and integers within INTEGER: what the database would refuse."""
    fields_map = model._meta.fields_map
    for name in doc.__struct_fields__:
        value = getattr(doc, name)
        column = fields_map.get(name)
        if isinstance(value, str) and isinstance(column, tfields.CharField) and len(value) > column.max_length:
            out.append(Problem(where, name, f"长度不能超过 {column.max_length} 个字符"))
        elif isinstance(value, int) and not isinstance(value, bool) and not -_INT32 <= value < _INT32:
            out.append(Problem(where, name, "数值超出允许范围"))


def _nul_free(where: str, value: Any, path: str, out: list[Problem]) -> None:
    # PostgreSQL refuses NUL in text and in JSONB strings alike.
    if isinstance(value, str):
        if "\x00" in value:
            out.append(Problem(where, path or "body", "文本中不能包含空字符（\\u0000）"))
    elif isinstance(value, dict):
        for k, v in value.items():
            _nul_free(where, k, path, out)
            _nul_free(where, v, f"{path}.{k}" if path else str(k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _nul_free(where, v, f"{path}[{i}]", out)


def _code_ok(where: str, field: str, value: str, out: list[Problem]) -> None:
    if not _CODE.fullmatch(value):
        out.append(Problem(where, field, "编码只能由字母、数字、点、下划线和连字符组成，且不能为空"))


def _dupes(where: str, field: str, codes: list[str], message: str, out: list[Problem]) -> None:
    if len(set(codes)) != len(codes):
        out.append(Problem(where, field, message))


def storable_problems(doc: ItemDoc) -> list[Problem]:
    """What would make writing the draft fail (lengths, ranges, duplicate codes). Content rules
    (reachability, limits, …) are checked on validate/publish: a draft may be unfinished."""
    out: list[Problem] = []
    where = f"items[{doc.code}]"
    _code_ok(where, "code", doc.code, out)
    _code_ok(where, "basic_code", doc.basic_code, out)
    _fits(where, doc, ServiceItem, out)
    _fits(where, doc, ServiceItemVersion, out)
    _nul_free(where, msgspec.to_builtins(doc), "", out)
    _dupes(where, "questions", [q.code for q in doc.questions], "问题编码重复", out)
    _dupes(where, "situations", [s.code for s in doc.situations], "情形编码重复", out)
    _dupes(where, "flow", [f.code for f in doc.flow], "流程环节重复：每个环节至多出现一次", out)
    for q in doc.questions:
        _fits(f"{where}/questions[{q.code}]", q, Question, out)
    for f in doc.flow:
        _fits(f"{where}/flow[{f.code}]", f, FlowStep, out)
    for s in doc.situations:
        at = f"{where}/situations[{s.code}]"
        _fits(at, s, Situation, out)
        _dupes(at, "materials", [m.code for m in s.materials], "材料编码重复", out)
        for m in s.materials:
            _fits(f"{at}/materials[{m.code}]", m, MaterialRequirement, out)
    return out


def _simple_problems(kind: str, doc: msgspec.Struct, model: type[Model]) -> list[Problem]:
    out: list[Problem] = []
    where = f"{kind}[{doc.code}]"  # type: ignore[attr-defined]
    _code_ok(where, "code", doc.code, out)  # type: ignore[attr-defined]
    _fits(where, doc, model, out)
    _nul_free(where, msgspec.to_builtins(doc), "", out)
    for name in ("name",):
        if name in doc.__struct_fields__ and not str(getattr(doc, name)).strip():
            out.append(Problem(where, name, "名称不能为空"))
    return out


# --------------------------------------------------------------------------- items: reading


@dataclass(frozen=True, slots=True)
class VersionInfo:
    number: int
    status: str
    created_at: dt.datetime
    published_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ItemOverview:
    item: ServiceItem
    department: str
    published: ItemDoc | None
    versions: list[VersionInfo]


@dataclass(frozen=True, slots=True)
class Draft:
    number: int
    created_at: dt.datetime
    doc: ItemDoc


async def _item(code: str, conn: BaseDBAsyncClient | None = None) -> ServiceItem:
    item = await ServiceItem.get_or_none(code=code, using_db=conn)
    if item is None:
        raise not_found("这个事项", "item", code)
    return item


async def _version(item: ServiceItem, status: str, conn: BaseDBAsyncClient, lock: bool = False) -> (
    ServiceItemVersion | None
):
    query = ServiceItemVersion.filter(item_id=item.id, status=status)
    if lock:  # serialises concurrent edits/publishes of one item on PostgreSQL (SQLite: one writer anyway)
        query = query.select_for_update()
    return await query.using_db(conn).order_by("-number").first()


async def _draft_row(item: ServiceItem, conn: BaseDBAsyncClient, lock: bool = False) -> ServiceItemVersion:
    draft = await _version(item, "draft", conn, lock)
    if draft is None:
        raise NotFound(f"事项 {item.code} 没有草稿，请先创建草稿", f"item {item.code} has no draft", "draft")
    return draft


async def _doc(version_id: int, conn: BaseDBAsyncClient | None = None) -> ItemDoc:
    found = await load_version(version_id, conn)
    assert found is not None  # the caller holds the row
    return found[0]


async def item_overview(code: str) -> ItemOverview:
    item = await _item(code)
    rows = await ServiceItemVersion.filter(item_id=item.id).order_by("number").values(
        "id", "number", "status", "created_at", "published_at"
    )
    published = next((r["id"] for r in rows if r["status"] == "published"), None)
    department = await Department.filter(id=item.department_id).values_list("code", flat=True)
    return ItemOverview(
        item=item, department=department[0],
        published=await _doc(published) if published is not None else None,
        versions=[VersionInfo(r["number"], r["status"], r["created_at"], r["published_at"]) for r in rows],
    )


async def get_draft(code: str) -> Draft:
    async with in_transaction() as conn:
        draft = await _draft_row(await _item(code, conn), conn)
        return Draft(draft.number, draft.created_at, await _doc(draft.id, conn))


# --------------------------------------------------------------------------- items: writing


async def _window_id(doc: ItemDoc, conn: BaseDBAsyncClient) -> int | None:
    if not doc.window:
        return None
    window = await Window.get_or_none(code=doc.window, using_db=conn)
    if window is None:
        raise ProblemsFound([Problem(f"items[{doc.code}]", "window", f"受理窗口不存在：{doc.window}")])
    return window.id


async def create_item(actor: str, doc: ItemDoc) -> Draft:
    """A new item whose first version is a draft (nothing public until it is published)."""
    problems = storable_problems(doc)
    if problems:
        raise ProblemsFound(problems)
    try:
        async with in_transaction() as conn:
            if await ServiceItem.exists(code=doc.code, using_db=conn):
                raise Conflict(f"实施编码已存在：{doc.code}", f"item code taken: {doc.code}", "code")
            department = await Department.get_or_none(code=doc.department, using_db=conn)
            if department is None:
                raise ProblemsFound([Problem(f"items[{doc.code}]", "department", f"实施部门不存在：{doc.department}")])
            item = await ServiceItem.create(
                code=doc.code, basic_code=doc.basic_code, department_id=department.id,
                region_code=department.region_code, popularity=doc.popularity, using_db=conn,
            )
            version = await ServiceItemVersion.create(
                item_id=item.id, number=1, status="draft", **version_values(doc, await _window_id(doc, conn)),
                using_db=conn,
            )
            await write_version_content([(version.id, doc)], conn)
            await record(conn, actor, "item.create", "item", doc.code, None, {"version": 1, "content": doc})
    except IntegrityError:  # a concurrent create of the same code won the race
        raise Conflict(f"实施编码已存在：{doc.code}", f"item code taken: {doc.code}", "code") from None
    return Draft(1, version.created_at, doc)


async def create_draft(actor: str, code: str) -> Draft:
    """A draft copying the current published version (or, for a retired item, its last version)."""
    try:
        async with in_transaction() as conn:
            item = await _item(code, conn)
            if await ServiceItemVersion.exists(item_id=item.id, status="draft", using_db=conn):
                raise Conflict("该事项已有草稿，请编辑或放弃现有草稿", "the item already has a draft", "draft")
            source = await _version(item, "published", conn) or await ServiceItemVersion.filter(
                item_id=item.id
            ).using_db(conn).order_by("-number").first()
            if source is None:
                raise Conflict("该事项没有可复制的版本", "the item has no version to copy", "code")
            doc = await _doc(source.id, conn)
            last = await ServiceItemVersion.filter(item_id=item.id).using_db(conn).order_by("-number").first()
            number = (last.number if last else 0) + 1
            version = await ServiceItemVersion.create(
                item_id=item.id, number=number, status="draft", **version_values(doc, source.window_id),
                using_db=conn,
            )
            await write_version_content([(version.id, doc)], conn)
            await record(conn, actor, "item.draft.create", "item", code, {"version": source.number},
                         {"version": number, "status": "draft", "copied_from": source.number})
    except IntegrityError:  # two drafts created at once: the (item, number) constraint stopped one
        raise Conflict("该事项已有草稿，请编辑或放弃现有草稿", "the item already has a draft", "draft") from None
    return Draft(number, version.created_at, doc)


async def edit_draft(actor: str, code: str, change: Callable[[ItemDoc], ItemDoc], action: str) -> Draft:
    """Apply ``change`` to the draft's document and store the result, in one transaction."""
    async with in_transaction() as conn:
        item = await _item(code, conn)
        draft = await _draft_row(item, conn, lock=True)
        before = await _doc(draft.id, conn)
        doc = change(before)
        problems = storable_problems(doc)
        if problems:
            raise ProblemsFound(problems)
        window_id = await _window_id(doc, conn)
        # Replace the content wholesale: simpler and safer than diffing rows, and a draft has no cases.
        await MaterialRequirement.filter(version_id=draft.id).using_db(conn).delete()
        await FlowStep.filter(version_id=draft.id).using_db(conn).delete()
        await Situation.filter(version_id=draft.id).using_db(conn).delete()
        await Question.filter(version_id=draft.id).using_db(conn).delete()
        await ServiceItemVersion.filter(id=draft.id, status="draft").using_db(conn).update(
            **version_values(doc, window_id)
        )
        await write_version_content([(draft.id, doc)], conn)
        await record(conn, actor, action, "item", code, {"version": draft.number, "content": before},
                     {"version": draft.number, "content": doc})
    return Draft(draft.number, draft.created_at, doc)


def _same_identity(doc: ItemDoc, current: ItemDoc) -> None:
    # These live on the item, not on the version: changing them in a draft would silently change
    # every published version too. They are fixed here.
    for field in ("code", "basic_code", "department", "popularity"):
        if getattr(doc, field) != getattr(current, field):
            raise InvalidInput(f"草稿不能修改 {field}（应为 {getattr(current, field)}）",
                f"{field} is fixed for the item and cannot change in a draft", field,
            )


async def replace_draft(actor: str, code: str, doc: ItemDoc) -> Draft:
    def change(current: ItemDoc) -> ItemDoc:
        _same_identity(doc, current)
        return doc

    return await edit_draft(actor, code, change, "item.draft.update")


async def replace_questions(actor: str, code: str, questions: list[QuestionDoc]) -> Draft:
    return await edit_draft(
        actor, code, lambda d: msgspec.structs.replace(d, questions=questions), "item.draft.questions"
    )


async def replace_flow(actor: str, code: str, flow: list[FlowStepDoc]) -> Draft:
    """The draft's steps, replaced whole ([] = back to the default flow)."""
    return await edit_draft(actor, code, lambda d: msgspec.structs.replace(d, flow=flow), "item.draft.flow")


async def replace_situations(actor: str, code: str, situations: list[SituationDoc]) -> Draft:
    return await edit_draft(
        actor, code, lambda d: msgspec.structs.replace(d, situations=situations), "item.draft.situations"
    )


async def replace_materials(actor: str, code: str, situation: str, materials: list[MaterialDoc]) -> Draft:
    def change(d: ItemDoc) -> ItemDoc:
        if situation not in {s.code for s in d.situations}:
            raise NotFound(f"草稿中没有这个情形：{situation}", f"situation not found: {situation}", "situation")
        return msgspec.structs.replace(d, situations=[
            msgspec.structs.replace(s, materials=materials) if s.code == situation else s for s in d.situations
        ])

    return await edit_draft(actor, code, change, "item.draft.materials")


async def _content_problems(doc: ItemDoc, conn: BaseDBAsyncClient) -> list[Problem]:
    # Only the codes the item names: the flow's owners and the joint departments besides its own.
    owners = {f.owner for f in doc.flow if f.owner}
    departments = {doc.department, *doc.joint_departments, *owners}
    windows = {doc.window, *owners} - {""}
    known = KnownCodes(
        departments=frozenset(await Department.filter(code__in=departments)
                              .using_db(conn).values_list("code", flat=True)),
        windows=frozenset(await Window.filter(code__in=windows).using_db(conn).values_list("code", flat=True)),
        certificate_types=frozenset(await CertificateType.all().using_db(conn).values_list("code", flat=True)),
    )
    return storable_problems(doc) + validate_document(CatalogDocument(items=[doc]), known)


async def validate_draft(code: str) -> list[Problem]:
    """Every rule publishing would check, without publishing."""
    async with in_transaction() as conn:
        draft = await _draft_row(await _item(code, conn), conn)
        return await _content_problems(await _doc(draft.id, conn), conn)


@dataclass(frozen=True, slots=True)
class Published:
    number: int
    published_at: dt.datetime
    superseded: int | None
    catalog_version: int


async def publish_draft(actor: str, code: str) -> Published:
    """Validate, then in one transaction: previous published → superseded, draft → published,
    catalog version bumped, audit entry written. 422 with every problem if the draft is invalid."""
    async with in_transaction() as conn:
        item = await _item(code, conn)
        draft = await _draft_row(item, conn, lock=True)
        doc = await _doc(draft.id, conn)
        problems = await _content_problems(doc, conn)
        if problems:
            raise ProblemsFound(
                problems, f"草稿有 {len(problems)} 处问题，不能发布：{problems[0].message}",
                f"the draft has {len(problems)} problem(s) and cannot be published",
            )
        previous = await _version(item, "published", conn, lock=True)
        now = _now()
        if previous is not None:
            # Kept, never changed again: cases filed under it still point at it.
            await ServiceItemVersion.filter(id=previous.id, status="published").using_db(conn).update(
                status="superseded"
            )
        if not await ServiceItemVersion.filter(id=draft.id, status="draft").using_db(conn).update(
            status="published", published_at=now
        ):
            raise Conflict("草稿已被他人发布或放弃，请刷新", "the draft changed meanwhile", "draft")
        version = await bump_catalog_version(conn)
        await record(
            conn, actor, "item.publish", "item", code,
            {"published": previous.number if previous else None, "draft": draft.number},
            {"published": draft.number, "superseded": previous.number if previous else None,
             "catalog_version": version, "content": doc},
        )
    return Published(draft.number, now, previous.number if previous else None, version)


async def discard_draft(actor: str, code: str) -> None:
    async with in_transaction() as conn:
        item = await _item(code, conn)
        draft = await _draft_row(item, conn, lock=True)
        before = await _doc(draft.id, conn)
        await ServiceItemVersion.filter(id=draft.id, status="draft").using_db(conn).delete()
        await record(conn, actor, "item.draft.discard", "item", code,
                     {"version": draft.number, "status": "draft", "content": before}, None)


async def retire_item(actor: str, code: str) -> tuple[int, int]:
    """Published version → retired: the item leaves the public catalog. Returns (number, catalog version)."""
    async with in_transaction() as conn:
        item = await _item(code, conn)
        current = await _version(item, "published", conn, lock=True)
        if current is None:
            raise Conflict("该事项没有已发布的版本，无需停用", "the item has no published version", "code")
        await ServiceItemVersion.filter(id=current.id, status="published").using_db(conn).update(status="retired")
        version = await bump_catalog_version(conn)
        await record(conn, actor, "item.retire", "item", code, {"version": current.number, "status": "published"},
                     {"version": current.number, "status": "retired", "catalog_version": version})
    return current.number, version


# --------------------------------------------------------------------------- departments, windows, life events


def _department_doc(d: Department, parent: str) -> DepartmentDoc:
    return DepartmentDoc(
        code=d.code, name=d.name, short_name=d.short_name, region_code=d.region_code, region_name=d.region_name,
        level=d.level, parent=parent, uscc=d.uscc, phone=d.phone, address=d.address, sort_order=d.sort_order,
    )


async def list_departments() -> list[DepartmentDoc]:
    rows = await Department.all().order_by("level", "region_code", "sort_order", "id").values(
        "code", "name", "short_name", "region_code", "region_name", "level", "parent__code", "uscc", "phone",
        "address", "sort_order",
    )
    return [
        msgspec.convert({**{k: v for k, v in r.items() if k != "parent__code"}, "parent": r["parent__code"] or ""},
                        DepartmentDoc)
        for r in rows
    ]


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise ProblemsFound(problems)


def _exists_check(found: bool, create: bool, what_zh: str, what_en: str, code: str) -> None:
    if create and found:
        raise Conflict(f"{what_zh}编码已存在：{code}", f"{what_en} code taken: {code}", "code")
    if not create and not found:
        raise not_found(what_zh, what_en, code)


async def save_department(actor: str, doc: DepartmentDoc, create: bool) -> DepartmentDoc:
    problems = _simple_problems("departments", doc, Department)
    if doc.parent == doc.code:
        problems.append(Problem(f"departments[{doc.code}]", "parent", "上级部门不能是本部门"))
    _raise(problems)
    async with in_transaction() as conn:
        existing = await Department.get_or_none(code=doc.code, using_db=conn)
        _exists_check(existing is not None, create, "部门", "department", doc.code)
        known = KnownCodes(departments=frozenset(await Department.all().using_db(conn).values_list("code", flat=True)))
        problems = validate_document(CatalogDocument(departments=[doc]), known)
        parent: Department | None = None
        if doc.parent and not problems:
            parent = await Department.get(code=doc.parent, using_db=conn)
            # Walk up from the new parent: meeting this department again would make a cycle.
            seen, cursor = set(), parent
            while cursor is not None and cursor.id not in seen:
                if cursor.code == doc.code:
                    problems.append(Problem(f"departments[{doc.code}]", "parent", "上级部门不能是本部门或其下级部门"))
                    break
                seen.add(cursor.id)
                cursor = await Department.get_or_none(id=cursor.parent_id, using_db=conn) if cursor.parent_id else None
        _raise(problems)
        values = {k: v for k, v in msgspec.structs.asdict(doc).items() if k != "parent"}
        values["parent_id"] = parent.id if parent else None
        before = None
        if existing is None:
            await Department.create(**values, using_db=conn)
        else:
            before = _department_doc(existing, await _code_of(Department, existing.parent_id, conn))
            await Department.filter(id=existing.id).using_db(conn).update(**values)
            if existing.region_code != doc.region_code:  # items carry their body's region for search
                await ServiceItem.filter(department_id=existing.id).using_db(conn).update(region_code=doc.region_code)
        await bump_catalog_version(conn)
        await record(conn, actor, "department.create" if create else "department.update", "department", doc.code,
                     before, doc)
    return doc


async def _code_of(model: type[Model], pk: int | None, conn: BaseDBAsyncClient) -> str:
    if pk is None:
        return ""
    found = await model.filter(id=pk).using_db(conn).values_list("code", flat=True)
    return str(found[0]) if found else ""


async def list_windows() -> list[WindowDoc]:
    rows = await Window.all().order_by("sort_order", "id").values(
        "code", "name", "category", "location", "hours", "phone", "sort_order"
    )
    return [msgspec.convert(r, WindowDoc) for r in rows]


async def save_window(actor: str, doc: WindowDoc, create: bool) -> WindowDoc:
    _raise(_simple_problems("windows", doc, Window) + validate_document(CatalogDocument(windows=[doc])))
    async with in_transaction() as conn:
        existing = await Window.get_or_none(code=doc.code, using_db=conn)
        _exists_check(existing is not None, create, "窗口", "window", doc.code)
        before = None
        if existing is None:
            await Window.create(**msgspec.structs.asdict(doc), using_db=conn)
        else:
            before = msgspec.convert(
                {f: getattr(existing, f) for f in WindowDoc.__struct_fields__}, WindowDoc
            )
            await Window.filter(id=existing.id).using_db(conn).update(**msgspec.structs.asdict(doc))
        await bump_catalog_version(conn)
        await record(conn, actor, "window.create" if create else "window.update", "window", doc.code, before, doc)
    return doc


async def list_life_events() -> list[LifeEventDoc]:
    entries: dict[int, list[str]] = {}
    for e in await LifeEventItem.all().order_by("life_event_id", "sort_order", "id").values(
        "life_event_id", "basic_code"
    ):
        entries.setdefault(e["life_event_id"], []).append(e["basic_code"])
    return [_life_event_doc(e, entries.get(e.id, [])) for e in await LifeEvent.all().order_by("sort_order", "id")]


def _life_event_doc(e: LifeEvent, items: list[str]) -> LifeEventDoc:
    return LifeEventDoc(code=e.code, name=e.name, audience=e.audience, stage=e.stage, description=e.description,
                        icon=e.icon, sort_order=e.sort_order, items=items)


async def save_life_event(actor: str, doc: LifeEventDoc, create: bool) -> LifeEventDoc:
    problems = _simple_problems("life_events", doc, LifeEvent)
    _dupes(f"life_events[{doc.code}]", "items", doc.items, "一件事中的事项重复", problems)
    _raise(problems)
    async with in_transaction() as conn:
        existing = await LifeEvent.get_or_none(code=doc.code, using_db=conn)
        _exists_check(existing is not None, create, "一件事", "life event", doc.code)
        known = KnownCodes(basic_codes=frozenset(
            await ServiceItem.filter(basic_code__in=doc.items).using_db(conn).values_list("basic_code", flat=True)
        ))
        _raise(validate_document(CatalogDocument(life_events=[doc]), known))
        values = {k: v for k, v in msgspec.structs.asdict(doc).items() if k != "items"}
        before = None
        if existing is None:
            event = await LifeEvent.create(**values, using_db=conn)
        else:
            old = await LifeEventItem.filter(life_event_id=existing.id).using_db(conn).order_by(
                "sort_order", "id"
            ).values_list("basic_code", flat=True)
            before = _life_event_doc(existing, [str(c) for c in old])
            await LifeEvent.filter(id=existing.id).using_db(conn).update(**values)
            await LifeEventItem.filter(life_event_id=existing.id).using_db(conn).delete()
            event = existing
        await LifeEventItem.bulk_create(
            [LifeEventItem(life_event_id=event.id, basic_code=c, sort_order=i) for i, c in enumerate(doc.items)],
            using_db=conn,
        )
        await bump_catalog_version(conn)
        await record(conn, actor, "life_event.create" if create else "life_event.update", "life_event", doc.code,
                     before, doc)
    return doc


# --------------------------------------------------------------------------- Excel import


async def import_workbook(actor: str, path: Path, source: str) -> ImportResult:
    """An administrator's Excel import (all or nothing): every problem of the workbook by sheet,
    row and column, or of the catalog it holds, in one refusal; else the import, audited."""
    try:
        doc = await anyio.to_thread.run_sync(read_workbook, path)
    except CatalogImportError as exc:
        problems = [{"sheet": p.sheet, "row": p.row, "column": p.column, "field": p.column, "message": p.message}
                    for p in exc.problems]
        raise RuleViolation(f"导入失败，工作簿中有 {len(problems)} 处问题，未导入任何内容",
                            f"{len(problems)} problem(s) in the workbook; nothing imported", "file",
                            problems=problems) from None
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError):
        raise InvalidInput("这不是有效的 Excel 工作簿（.xlsx），请用本平台导出的工作簿修改后导入",
                           "not a readable .xlsx workbook", "file") from None
    try:
        return await import_document(doc, actor=actor, source=source)
    except CatalogInvalid as exc:
        problems = [{"sheet": p.where, "row": 0, "column": p.field, "field": p.field, "message": p.message}
                    for p in exc.problems]
        raise RuleViolation(f"导入失败，目录中有 {len(problems)} 处问题，未导入任何内容",
                            f"{len(problems)} problem(s) in the catalog; nothing imported", "file",
                            problems=problems) from None
