"""Integer ids out of the database's range are bad input, never a server fault (issue #18.1).

Every route of the OpenAPI schema that takes an integer id (path or query) is called with the
edges of 32- and 64-bit integers, as a signed-in citizen and as an administrator, on SQLite and
PostgreSQL: no 5xx ever, and a path id that cannot exist answers 404 to whoever may use the route
(and exactly what an id in range answers to whoever may not: the range check reveals nothing
before the guard).
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import msgspec
import pytest
from httpx import AsyncClient
from litestar import Litestar
from tortoise import Tortoise

from api.cases.models import Case
from api.identity.guards import role_allowed
from tests.identity_helpers import bearer, citizen_tokens, staff_tokens
from tests.tus_helpers import metadata

LICENCE = "511Z5001050000-511900000000-000-11511900MB00102256-1-00"  # 营业执照遗失补领 (city)
EDGES = [0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**30]
OUT_OF_RANGE = {0, -1, 2**63, 10**30}  # ids start at 1; the columns are 64-bit on both databases


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("_id")


def _integer(schema: dict[str, Any]) -> bool:
    kinds = [schema.get("type"), *(s.get("type") for s in schema.get("oneOf", []) + schema.get("anyOf", []))]
    return "integer" in kinds


def id_operations(spec: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]], bool]]:
    """(method, path, parameters, has body) of every operation taking an integer id."""
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            params = op.get("parameters", [])
            if any(p["in"] in ("path", "query") and _is_id(p["name"]) and _integer(p.get("schema", {}))
                   for p in params):
                out.append((method.upper(), path, params, "requestBody" in op))
    return out


def allowed_roles(app: Litestar, method: str, path: str) -> list[str]:
    for route in app.routes:
        if route.path_format == path:
            for handler in route.route_handlers:
                if method in handler.http_methods:
                    return list(handler.opt.get("roles", []))
    raise AssertionError(f"{method} {path} is in the schema but not in the app")


def _request(path: str, params: list[dict[str, Any]], value: int) -> tuple[str, dict[str, str]]:
    query: dict[str, str] = {}
    for p in params:
        if p["in"] == "path":
            filler = str(value) if _integer(p.get("schema", {})) else "m1"
            path = path.replace("{" + p["name"] + "}", filler)
        elif p["in"] == "query" and _is_id(p["name"]) and _integer(p.get("schema", {})):
            query[p["name"]] = str(value)
    return path, query


async def test_every_integer_id_route_answers_edge_values_without_a_server_fault(
    client: AsyncClient, app: Litestar
) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    operations = id_operations(spec)
    # The routes the fuzz found (and the staff routes): if they stop matching, the walk is blind.
    paths = {path for _, path, _, _ in operations}
    assert {"/api/v1/cases/{id}/receipt", "/api/v1/cases/{id}/receipt.png", "/api/v1/cases/{id}",
            "/api/v1/cases/{id}/materials/{code}/file", "/api/v1/admin/staff/{id}"} <= paths, paths
    callers = {"citizen": await citizen_tokens(client, app), "admin": await staff_tokens(client, "admin")}
    problems = []
    for method, path, params, has_body in operations:
        roles = allowed_roles(app, method, path)
        for role, tokens in callers.items():
            in_range_answer = None
            for value in [2**31 - 1, *EDGES]:  # an id in range first: what a missing row answers
                url, query = _request(path, params, value)
                r = await client.request(method, url, params=query, headers=bearer(tokens),
                                         json={} if has_body else None)
                where = f"{role} {method} {url}?{query} → {r.status_code} {r.text[:200]}"
                if r.status_code >= 500:
                    problems.append(where)
                    continue
                body = r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") \
                    else {}
                if r.status_code >= 400 and not (body.get("message") and body.get("detail")):
                    problems.append(f"{where}: not the error shape")
                if in_range_answer is None:
                    in_range_answer = r.status_code
                    continue
                if value in OUT_OF_RANGE and any(p["in"] == "path" and _integer(p.get("schema", {})) for p in params):
                    expected = 404 if role_allowed(role, roles) else in_range_answer
                    if r.status_code != expected:
                        problems.append(f"{where}: expected {expected}")
    assert problems == []


async def test_a_case_above_2_to_the_31_is_an_ordinary_case(client: AsyncClient, app: Litestar, backend: str) -> None:
    """The id columns and their sequence are 64-bit on PostgreSQL (SQLite's always were)."""
    conn = Tortoise.get_connection("default")
    high = 2**31 + 1000 + uuid.uuid4().int % 1000
    if backend == "postgres":
        await conn.execute_query("SELECT setval(pg_get_serial_sequence('cases', 'id'), $1)", [high])
    else:
        await conn.execute_query("DELETE FROM sqlite_sequence WHERE name = 'cases'")
        await conn.execute_query("INSERT INTO sqlite_sequence (name, seq) VALUES ('cases', ?)", [high])
    tokens = await citizen_tokens(client, app)
    r = await client.post("/api/v1/cases", json={"item_code": LICENCE, "answers": {"reason": "lost", "agent": "no"}},
                          headers=bearer(tokens))
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["id"] > 2**31
    r = await client.patch(f"/api/v1/cases/{case['id']}", json={"form_data": {"note": "大号"}}, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    r = await client.get(f"/api/v1/cases/{case['id']}", headers=bearer(tokens))
    assert r.status_code == 200 and r.json()["form_data"] == {"note": "大号"} and r.json()["timeline"] is not None
    code = case["materials"][0]["code"]
    r = await client.post("/api/v1/uploads", headers={
        **bearer(tokens), "Tus-Resumable": "1.0.0", "Upload-Length": "10",
        "Upload-Metadata": metadata(case_id=case["id"], material_id=code, filename="a.pdf")})
    assert r.status_code == 201, r.text
    await Case.filter(id=case["id"]).delete()


@pytest.mark.parametrize("value", [str(2**63), str(10**30), "0", "-1", "²", "１２", str(2**64 + 5)])
async def test_upload_metadata_case_id_out_of_range_is_400_naming_it(
    client: AsyncClient, app: Litestar, value: str
) -> None:
    tokens = await citizen_tokens(client, app)
    r = await client.post("/api/v1/uploads", headers={
        **bearer(tokens), "Tus-Resumable": "1.0.0", "Upload-Length": "10",
        "Upload-Metadata": metadata(case_id=value, material_id="m1", filename="a.pdf")})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["field"] == "case_id" and body["message"] and body["detail"], body
    assert re.search(r"[\u4e00-\u9fff]", body["message"]) and body["detail"].isascii()


@pytest.mark.parametrize("value", [2**31, 2**63 - 1])
async def test_upload_metadata_case_id_in_range_but_absent_is_404(
    client: AsyncClient, app: Litestar, value: int
) -> None:
    tokens = await citizen_tokens(client, app)
    r = await client.post("/api/v1/uploads", headers={
        **bearer(tokens), "Tus-Resumable": "1.0.0", "Upload-Length": "10",
        "Upload-Metadata": metadata(case_id=value, material_id="m1", filename="a.pdf")})
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
async def test_a_cursor_carrying_an_id_out_of_range_is_400(client: AsyncClient, app: Litestar, value: int) -> None:
    tokens = await citizen_tokens(client, app)
    cursor = base64.urlsafe_b64encode(msgspec.json.encode(["2026-01-01T00:00:00+00:00", value])).decode()
    r = await client.get("/api/v1/cases", params={"cursor": cursor.rstrip("=")}, headers=bearer(tokens))
    assert r.status_code == 400 and r.json()["field"] == "cursor", r.text


def test_an_app_whose_layer_replaces_the_id_hook_is_not_built() -> None:
    """Litestar runs only the innermost ``before_request``: one set on a route would silently drop
    the bound, so building such an app fails (as a route without an access rule does)."""
    from litestar import get
    from litestar.params import FromPath

    from api.core.bounds import PathIdsUnbounded, bound_path_ids, check_path_id_bounds

    async def other(_: object) -> None:
        return None

    @get("/things/{id:int}", before_request=other, opt={"public": True})
    async def thing(id: FromPath[int]) -> None:
        return None

    app = Litestar([thing], before_request=bound_path_ids)
    with pytest.raises(PathIdsUnbounded, match=re.escape("/things/{id:int}")):
        check_path_id_bounds(app)


@pytest.mark.parametrize("header", ["Upload-Length", "Upload-Offset"])
async def test_tus_number_headers_of_non_ascii_digits_are_400(client: AsyncClient, app: Litestar, header: str) -> None:
    """``"²".isdigit()`` is true and ``int("²")`` raises: such a header (Latin-1 0xB2) was a 500."""
    tokens = await citizen_tokens(client, app)
    headers: dict[str, str | bytes] = {**bearer(tokens), "Tus-Resumable": "1.0.0", header: b"\xb2"}
    if header == "Upload-Length":
        r = await client.post("/api/v1/uploads", headers={**headers, "Upload-Metadata": metadata(case_id=1)})
    else:
        r = await client.patch(f"/api/v1/uploads/{uuid.uuid4().hex}", content=b"x",
                               headers={**headers, "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 400 and r.json()["field"] == header, r.text


async def test_the_audit_cursor_past_2_to_the_31_pages_on(client: AsyncClient, app: Litestar) -> None:
    """The audit cursor takes up to 10 digits, more than a 32-bit id holds (a 500 on PostgreSQL
    before audit_entry.id became bigint)."""
    tokens = await staff_tokens(client, "admin")
    r = await client.get("/api/v1/admin/audit", params={"cursor": "9999999999"}, headers=bearer(tokens))
    assert r.status_code == 200, r.text
