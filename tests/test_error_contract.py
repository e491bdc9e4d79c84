"""The error bodies clients depend on, frozen: whatever raises inside, a refusal answers with the same
status, headers and ``{status_code, message, detail, field}`` (plus ``problems`` where every problem is
listed). Written before services stopped speaking HTTP, so that the move changed nothing a client sees.
"""

from __future__ import annotations

import uuid
from typing import Any

from httpx import AsyncClient
from litestar import Litestar

from tests.databases import remove_cases
from tests.identity_helpers import bearer, citizen_tokens, staff_tokens

LICENCE = "511Z5001050000-511900000000-000-11511900MB00102256-1-00"
ADMIN = "/api/v1/admin"


def body(r: Any) -> dict[str, Any]:
    """The error body without what differs per request (the request id, when present)."""
    data = dict(r.json())
    data.pop("request_id", None)
    return data


async def test_case_errors_keep_their_bodies(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)
    h = bearer(tokens)
    try:
        r = await client.get("/api/v1/cases/999999", headers=h)
        assert (r.status_code, body(r)) == (404, {
            "status_code": 404, "message": "没有找到这个办件", "detail": "case not found: 999999"})

        r = await client.get("/api/v1/cases?cursor=%%%", headers=h)
        assert (r.status_code, body(r)) == (400, {
            "status_code": 400, "message": "分页参数无效，请从第一页重新开始", "detail": "invalid cursor",
            "field": "cursor"})

        r = await client.post("/api/v1/cases", json={"item_code": "NOPE", "answers": {}}, headers=h)
        assert (r.status_code, body(r)) == (404, {
            "status_code": 404, "message": "没有找到这个事项：NOPE", "detail": "item not found: NOPE",
            "field": "item_code"})

        r = await client.post("/api/v1/cases", json={"item_code": LICENCE, "answers": {}}, headers=h)
        assert r.status_code == 422 and set(body(r)) == {"status_code", "message", "detail", "field"}

        answers = {"reason": "lost", "agent": "no"}
        r = await client.post("/api/v1/cases", json={"item_code": LICENCE, "answers": answers}, headers=h)
        case = r.json()
        r = await client.post(f"/api/v1/cases/{case['id']}/submit", headers={**h, "Idempotency-Key": uuid.uuid4().hex})
        got = body(r)
        assert r.status_code == 422 and got["status_code"] == 422 and got["message"].startswith("还缺 ")
        assert got["detail"].endswith("required material(s) missing") and got["field"] == got["problems"][0]["field"]
        assert set(got["problems"][0]) == {"field", "message", "detail"}

        r = await client.post(f"/api/v1/cases/{case['id']}/submit", headers=h)
        assert r.status_code == 400 and body(r)["field"] == "Idempotency-Key"

        r = await client.post(f"/api/v1/cases/{case['id']}/withdraw", headers=h)
        assert (r.status_code, body(r)) == (409, {
            "status_code": 409, "message": "这个办件现在不能撤回（草稿无需撤回，可直接放弃）",
            "detail": "cannot withdraw a draft case", "field": "state"})
    finally:
        await remove_cases()


async def test_sign_in_errors_keep_their_bodies_and_headers(client: AsyncClient, app: Litestar) -> None:
    r = await client.get("/api/v1/me")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert body(r) == {"status_code": 401, "message": "请先登录", "detail": "authentication required"}

    r = await client.post("/api/v1/auth/token", json={"phone": "12", "code": "123456"})
    assert r.status_code == 400 and body(r)["field"] == "code"

    r = await client.post("/api/v1/auth/staff/token", json={"username": "nobody-here", "password": "x" * 12})
    assert (r.status_code, body(r)) == (401, {
        "status_code": 401, "message": "用户名或密码不正确", "detail": "invalid username or password"})

    tokens = await citizen_tokens(client, app)
    r = await client.put("/api/v1/me/profile", json={"name": "张三", "id_number": "123"}, headers=bearer(tokens))
    assert (r.status_code, body(r)) == (400, {
        "status_code": 400, "message": "身份证号码应为 18 位（最后一位可以是 X）",
        "detail": "a resident ID number is 17 digits and a digit or X", "field": "id_number"})

    r = await client.post("/api/v1/cases", json={"item_code": LICENCE, "answers": {}},
                          headers=bearer(await staff_tokens(client, "admin")))
    assert r.status_code == 403 and body(r)["status_code"] == 403


async def test_otp_rate_limit_keeps_retry_after(client: AsyncClient, app: Litestar) -> None:
    tokens = await citizen_tokens(client, app)  # a code was just sent to this phone
    r = await client.post("/api/v1/auth/otp", json={"phone": tokens["phone"]})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    got = body(r)
    assert got["status_code"] == 429 and got["field"] == "phone"
    assert set(got) == {"status_code", "message", "detail", "field"}


async def test_admin_problems_keep_their_bodies(client: AsyncClient, app: Litestar) -> None:
    h = bearer(await staff_tokens(client, "admin"))
    r = await client.get(f"{ADMIN}/items/NOPE/draft", headers=h)
    assert r.status_code == 404 and set(body(r)) >= {"status_code", "message", "detail"}
    r = await client.post(f"{ADMIN}/departments", headers=h, json={"code": "X1", "name": "", "region": "511900"})
    got = body(r)
    assert r.status_code in (400, 422) and got["status_code"] == r.status_code and got.get("field")
