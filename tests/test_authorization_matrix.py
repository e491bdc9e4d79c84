"""Every route × every kind of caller, generated from the app's own route table.

A route's rule comes from its declaration (``opt={"public": True}`` or ``opt={"roles": [...]}``);
this test calls each route as each caller and checks the answer is allowed or denied exactly as
declared: anonymous callers of protected routes get 401, signed-in callers without the role 403,
and allowed callers never 401/403. A new route is covered without editing this file, and a route
without a rule cannot even be built (see test_settings).
"""

from __future__ import annotations

import re

import pytest
from httpx import AsyncClient
from litestar import Litestar

from api.identity.guards import role_allowed
from api.identity.models import Citizen, Staff
from api.identity.services import create_staff
from tests.identity_helpers import STAFF_PASSWORD

CALLERS = ["anonymous", "citizen_a", "citizen_b", "clerk", "officer", "approver", "supervisor", "admin",
           "officer_other_department"]
ROLE_OF = {"citizen_a": "citizen", "citizen_b": "citizen", "officer_other_department": "officer"}
SAMPLE = {"code": "NOPE", "id": "999999", "number": "NOPE"}


async def _subjects() -> dict[str, str]:
    subjects = {}
    for name in ("citizen_a", "citizen_b"):
        phone = {"citizen_a": "13900000001", "citizen_b": "13900000002"}[name]
        citizen, _ = await Citizen.get_or_create(phone=phone)
        subjects[name] = f"citizen:{citizen.id}"
    layout = {"clerk": ("", "W01"), "officer": ("SCJGJ", ""), "approver": ("SCJGJ", ""), "supervisor": ("", ""),
              "admin": ("", ""), "officer_other_department": ("MZJ", "")}
    for name, (department, window) in layout.items():
        username = f"matrix-{name}"
        staff = await Staff.get_or_none(username=username)
        if staff is None:
            staff = await create_staff(username, STAFF_PASSWORD, ROLE_OF.get(name, name), department, window)
        subjects[name] = f"staff:{staff.id}"
    return subjects


def _routes(app: Litestar) -> list[tuple[str, str, dict]]:
    found = []
    for route in app.routes:
        if route.path.startswith("/schema"):
            continue
        for handler in route.route_handlers:
            if handler.handler_name == "options_handler":
                continue
            for method in sorted(getattr(handler, "http_methods", ()) or ()):
                if method in ("HEAD", "OPTIONS"):
                    continue
                path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE.get(m.group(1), "1"), route.path)
                found.append((method, path, handler.opt))
    return found


async def test_every_route_answers_every_caller_as_declared(client: AsyncClient, app: Litestar) -> None:
    subjects = await _subjects()
    routes = _routes(app)
    assert len(routes) >= 15
    failures = []
    for method, path, opt in routes:
        for caller in CALLERS:
            headers = {}
            role = ROLE_OF.get(caller, caller)
            if caller != "anonymous":
                token, _ = app.state.tokens.issue_access(subjects[caller], role)  # fresh: logout ends one
                headers["Authorization"] = f"Bearer {token}"
            body = {} if method in ("POST", "PUT", "PATCH") else None
            r = await client.request(method, path, headers=headers, json=body)
            if opt.get("public"):
                expected = "allow"
            elif caller == "anonymous":
                expected = 401
            else:
                expected = "allow" if role_allowed(role, opt.get("roles", [])) else 403
            got = r.status_code
            ok = got not in (401, 403) if expected == "allow" else got == expected
            if not ok or got >= 500:
                failures.append(f"{method} {path} as {caller}: expected {expected}, got {got}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("caller", ["citizen_a", "admin"])
async def test_the_matrix_can_fail(client: AsyncClient, app: Litestar, caller: str) -> None:
    """Guard against a vacuous matrix: a protected route really refuses an anonymous caller."""
    assert (await client.get("/api/v1/me")).status_code == 401
    subjects = await _subjects()
    token, _ = app.state.tokens.issue_access(subjects[caller], ROLE_OF.get(caller, caller))
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
