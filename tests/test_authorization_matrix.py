"""Every route × every kind of caller, against answers written out by hand.

``EXPECTED`` names each route of the app and who may call it; ``RULES`` spells out, per kind of
caller, what that means: ``"allow"`` (anything but 401/403), 401 or 403. Both were written from
the routes' declared ``opt`` when the routes were reviewed, never computed from ``opt`` or from
the guard at test time, so a wrong declaration or a broken guard fails here. A route the table
does not list, or a listed route the app no longer has, fails too: a new route forces a decision
about who may call it. No call may answer 5xx.
"""

from __future__ import annotations

import re

from httpx import AsyncClient
from litestar import Litestar

from api.identity.models import Citizen, Staff
from api.identity.services import create_staff
from tests.identity_helpers import STAFF_PASSWORD

ALLOW = "allow"
CALLERS = ["anonymous", "citizen_a", "citizen_b", "clerk", "officer", "approver", "supervisor", "admin",
           "officer_other_department"]
ROLE_OF = {"citizen_a": "citizen", "citizen_b": "citizen", "officer_other_department": "officer"}

RULES: dict[str, dict[str, int | str]] = {
    "public": {
        "anonymous": ALLOW, "citizen_a": ALLOW, "citizen_b": ALLOW, "clerk": ALLOW, "officer": ALLOW,
        "approver": ALLOW, "supervisor": ALLOW, "admin": ALLOW, "officer_other_department": ALLOW,
    },
    "signed_in": {
        "anonymous": 401, "citizen_a": ALLOW, "citizen_b": ALLOW, "clerk": ALLOW, "officer": ALLOW,
        "approver": ALLOW, "supervisor": ALLOW, "admin": ALLOW, "officer_other_department": ALLOW,
    },
    "citizens": {
        "anonymous": 401, "citizen_a": ALLOW, "citizen_b": ALLOW, "clerk": 403, "officer": 403,
        "approver": 403, "supervisor": 403, "admin": 403, "officer_other_department": 403,
    },
    "admin": {
        "anonymous": 401, "citizen_a": 403, "citizen_b": 403, "clerk": 403, "officer": 403,
        "approver": 403, "supervisor": 403, "admin": ALLOW, "officer_other_department": 403,
    },
    # A case's readers: its applicant and the staff in whose hands it is (object scope answers 404).
    "case_readers": {
        "anonymous": 401, "citizen_a": ALLOW, "citizen_b": ALLOW, "clerk": ALLOW, "officer": ALLOW,
        "approver": ALLOW, "supervisor": ALLOW, "admin": 403, "officer_other_department": ALLOW,
    },
    # Those who act on cases: applicants and the staff who handle them (supervisors watch, never act).
    "case_actors": {
        "anonymous": 401, "citizen_a": ALLOW, "citizen_b": ALLOW, "clerk": ALLOW, "officer": ALLOW,
        "approver": ALLOW, "supervisor": 403, "admin": 403, "officer_other_department": ALLOW,
    },
    "clerks": {
        "anonymous": 401, "citizen_a": 403, "citizen_b": 403, "clerk": ALLOW, "officer": 403,
        "approver": 403, "supervisor": 403, "admin": 403, "officer_other_department": 403,
    },
    # A joint case's departments (并联审批): officers and approvers; which department answers in the service.
    "department_staff": {
        "anonymous": 401, "citizen_a": 403, "citizen_b": 403, "clerk": 403, "officer": ALLOW,
        "approver": ALLOW, "supervisor": 403, "admin": 403, "officer_other_department": ALLOW,
    },
    # Any staff member, for their own things (their message centre).
    "staff": {
        "anonymous": 401, "citizen_a": 403, "citizen_b": 403, "clerk": ALLOW, "officer": ALLOW,
        "approver": ALLOW, "supervisor": ALLOW, "admin": ALLOW, "officer_other_department": ALLOW,
    },
    # Who owns a bad rating's rectification: the deciding department's officers and approvers, or the
    # window's clerks (which one answers in the service); supervisors watch, never act.
    "rectifiers": {
        "anonymous": 401, "citizen_a": 403, "citizen_b": 403, "clerk": ALLOW, "officer": ALLOW,
        "approver": ALLOW, "supervisor": 403, "admin": 403, "officer_other_department": ALLOW,
    },
    # The supervision centre (电子监察): supervisors alone (accountability is seen by them only).
    "supervisors": {
        "anonymous": 401, "citizen_a": 403, "citizen_b": 403, "clerk": 403, "officer": 403,
        "approver": 403, "supervisor": ALLOW, "admin": 403, "officer_other_department": 403,
    },
    # Statistics and the supervision thresholds: supervisors and administrators read them.
    "supervision_readers": {
        "anonymous": 401, "citizen_a": 403, "citizen_b": 403, "clerk": 403, "officer": 403,
        "approver": 403, "supervisor": ALLOW, "admin": ALLOW, "officer_other_department": 403,
    },
    "case_staff": {
        "anonymous": 401, "citizen_a": 403, "citizen_b": 403, "clerk": ALLOW, "officer": ALLOW,
        "approver": ALLOW, "supervisor": ALLOW, "admin": 403, "officer_other_department": ALLOW,
    },
}

# (method, path with its parameters' names only) → the rule of RULES.
EXPECTED: dict[tuple[str, str], str] = {
    # The API description (Litestar's own routes).
    ("GET", "/schema"): "public",
    ("GET", "/schema/openapi.json"): "public",
    ("GET", "/schema/scalar"): "public",
    ("GET", "/schema/{path}"): "public",
    # Health and the catalog: anyone, signed in or not.
    ("GET", "/api/v1/health"): "public",
    ("GET", "/api/v1/health/live"): "public",  # states only, no personal data (api/core/health.py)
    ("GET", "/api/v1/health/ready"): "public",
    ("GET", "/api/v1/departments"): "public",
    ("GET", "/api/v1/regions"): "public",
    ("GET", "/api/v1/items"): "public",
    ("GET", "/api/v1/items/{code}"): "public",
    ("POST", "/api/v1/items/{code}/material-list"): "public",
    ("GET", "/api/v1/items/{code}/qr.png"): "public",
    ("GET", "/api/v1/items/{code}/qr.svg"): "public",
    ("GET", "/api/v1/life-events"): "public",
    ("GET", "/api/v1/life-events/{code}"): "public",
    ("GET", "/api/v1/track"): "public",  # by query code, which is the secret
    ("GET", "/api/v1/certificates/verify"): "public",  # by check code, which is the secret
    # Signing in and out.
    ("POST", "/api/v1/auth/otp"): "public",
    ("POST", "/api/v1/auth/token"): "public",
    ("POST", "/api/v1/auth/staff/token"): "public",
    ("POST", "/api/v1/auth/refresh"): "public",
    ("POST", "/api/v1/auth/logout"): "signed_in",
    ("GET", "/api/v1/dev/sms"): "public",  # development only: the test app is not production
    # The signed-in person.
    ("GET", "/api/v1/me"): "signed_in",
    ("PUT", "/api/v1/me/profile"): "citizens",
    ("POST", "/api/v1/me/enterprises"): "citizens",
    ("GET", "/api/v1/me/certificates"): "citizens",
    ("GET", "/api/v1/me/data-access"): "citizens",
    ("GET", "/api/v1/me/certificates/{id}/qr.svg"): "citizens",
    # Notifications: each person's own message centre, devices and preferences (issue #13).
    ("GET", "/api/v1/me/messages"): "citizens",
    ("GET", "/api/v1/me/messages/unread-count"): "citizens",
    ("POST", "/api/v1/me/messages/{id}/read"): "citizens",
    ("POST", "/api/v1/me/messages/read-all"): "citizens",
    ("GET", "/api/v1/workbench/messages"): "staff",
    ("GET", "/api/v1/workbench/messages/unread-count"): "staff",
    ("POST", "/api/v1/workbench/messages/{id}/read"): "staff",
    ("POST", "/api/v1/workbench/messages/read-all"): "staff",
    ("GET", "/api/v1/me/push-subscriptions"): "signed_in",
    ("POST", "/api/v1/me/push-subscriptions"): "signed_in",
    ("DELETE", "/api/v1/me/push-subscriptions/{id}"): "signed_in",
    ("GET", "/api/v1/me/notification-preferences"): "signed_in",
    ("PUT", "/api/v1/me/notification-preferences"): "signed_in",
    ("GET", "/api/v1/push/key"): "public",
    # 好差评 (issue #13): the applicant rates their case; a visit is rated by its QR token, without an
    # account (the token is the secret; rate-limited); the figures are public.
    ("GET", "/api/v1/ratings/options"): "public",
    ("GET", "/api/v1/cases/{id}/rating"): "citizens",
    ("POST", "/api/v1/cases/{id}/rating"): "citizens",
    ("POST", "/api/v1/cases/{id}/rating/follow-up"): "citizens",
    ("GET", "/api/v1/me/ratings"): "citizens",
    ("POST", "/api/v1/me/ratings/{id}/answer"): "citizens",
    ("GET", "/api/v1/ratings/visit"): "public",
    ("POST", "/api/v1/ratings/visit"): "public",
    ("GET", "/api/v1/satisfaction/items/{code}"): "public",
    ("GET", "/api/v1/satisfaction/departments/{code}"): "public",
    ("GET", "/api/v1/satisfaction/windows/{code}"): "public",
    ("POST", "/api/v1/workbench/visit-tokens"): "clerks",
    ("GET", "/api/v1/workbench/ratings"): "case_staff",
    ("GET", "/api/v1/workbench/rectifications"): "case_staff",
    ("GET", "/api/v1/workbench/rectifications/{id}"): "case_staff",
    ("POST", "/api/v1/workbench/rectifications/{id}/{step}"): "rectifiers",
    # A citizen's own cases.
    ("GET", "/api/v1/cases"): "citizens",
    ("POST", "/api/v1/cases"): "citizens",
    ("GET", "/api/v1/cases/{id}"): "case_readers",
    ("GET", "/api/v1/cases/{id}/actions"): "case_readers",
    ("GET", "/api/v1/cases/{id}/vouchers"): "case_readers",
    ("GET", "/api/v1/cases/{id}/materials/{code}/certificate"): "case_staff",
    ("GET", "/api/v1/cases/{id}/vouchers/{kind}"): "case_readers",
    ("POST", "/api/v1/cases/{id}/actions/{action}"): "case_actors",
    ("GET", "/api/v1/cases/{id}/departments"): "case_readers",
    ("POST", "/api/v1/cases/{id}/departments/{department}/actions/{action}"): "department_staff",
    ("POST", "/api/v1/cases/{id}/survey"): "department_staff",
    ("POST", "/api/v1/cases/{id}/survey/findings"): "department_staff",
    ("GET", "/api/v1/workbench/queue"): "case_staff",
    ("POST", "/api/v1/workbench/walk-ins"): "clerks",
    ("PUT", "/api/v1/workbench/walk-ins/{id}/materials/{code}"): "clerks",
    ("POST", "/api/v1/workbench/walk-ins/{id}/submit"): "clerks",
    ("POST", "/api/v1/workbench/walk-ins/{id}/make-up"): "clerks",
    ("PATCH", "/api/v1/cases/{id}"): "citizens",
    ("DELETE", "/api/v1/cases/{id}"): "citizens",
    ("POST", "/api/v1/cases/{id}/submit"): "citizens",
    ("POST", "/api/v1/cases/{id}/withdraw"): "citizens",
    ("GET", "/api/v1/cases/{id}/receipt"): "citizens",
    ("GET", "/api/v1/cases/{id}/receipt.png"): "citizens",
    ("GET", "/api/v1/cases/{id}/receipt.svg"): "citizens",
    ("GET", "/api/v1/cases/{id}/materials/{code}/file"): "case_readers",
    ("DELETE", "/api/v1/cases/{id}/materials/{code}/file"): "citizens",
    # 一件事一次办: a citizen's own bundles (another's is a 404 in the service).
    ("POST", "/api/v1/bundles"): "citizens",
    ("GET", "/api/v1/bundles/{id}"): "citizens",
    ("POST", "/api/v1/bundles/{id}/submit"): "citizens",
    # Resumable uploads (tus): discovery is public, uploads are a citizen's.
    ("OPTIONS", "/api/v1/uploads"): "public",
    ("POST", "/api/v1/uploads"): "citizens",
    ("HEAD", "/api/v1/uploads/{id}"): "citizens",
    ("PATCH", "/api/v1/uploads/{id}"): "citizens",
    ("DELETE", "/api/v1/uploads/{id}"): "citizens",
    # Administration.
    ("GET", "/api/v1/admin/audit"): "admin",
    ("GET", "/api/v1/admin/notifications/dead-letters"): "admin",
    ("POST", "/api/v1/admin/notifications/dead-letters/{id}/retry"): "admin",
    ("GET", "/api/v1/admin/calendar"): "admin",
    ("GET", "/api/v1/admin/calendar/{day}"): "admin",
    ("PUT", "/api/v1/admin/calendar/{day}"): "admin",
    ("DELETE", "/api/v1/admin/calendar/{day}"): "admin",
    ("GET", "/api/v1/admin/departments"): "admin",
    ("POST", "/api/v1/admin/departments"): "admin",
    ("PUT", "/api/v1/admin/departments/{code}"): "admin",
    ("GET", "/api/v1/admin/windows"): "admin",
    ("POST", "/api/v1/admin/windows"): "admin",
    ("PUT", "/api/v1/admin/windows/{code}"): "admin",
    ("GET", "/api/v1/admin/life-events"): "admin",
    ("POST", "/api/v1/admin/life-events"): "admin",
    ("PUT", "/api/v1/admin/life-events/{code}"): "admin",
    ("GET", "/api/v1/admin/staff"): "admin",
    ("POST", "/api/v1/admin/staff"): "admin",
    ("PUT", "/api/v1/admin/staff/{id}"): "admin",
    ("POST", "/api/v1/admin/staff/{id}/deactivate"): "admin",
    ("POST", "/api/v1/admin/staff/{id}/reactivate"): "admin",
    ("POST", "/api/v1/admin/items"): "admin",
    ("GET", "/api/v1/admin/items/{code}"): "admin",
    ("POST", "/api/v1/admin/catalog/import"): "admin",
    ("POST", "/api/v1/admin/items/{code}/retire"): "admin",
    ("GET", "/api/v1/admin/items/{code}/draft"): "admin",
    ("POST", "/api/v1/admin/items/{code}/draft"): "admin",
    ("PUT", "/api/v1/admin/items/{code}/draft"): "admin",
    ("DELETE", "/api/v1/admin/items/{code}/draft"): "admin",
    ("PUT", "/api/v1/admin/items/{code}/draft/questions"): "admin",
    ("PUT", "/api/v1/admin/items/{code}/draft/flow"): "admin",
    ("PUT", "/api/v1/admin/items/{code}/draft/situations"): "admin",
    ("PUT", "/api/v1/admin/items/{code}/draft/situations/{situation}/materials"): "admin",
    ("POST", "/api/v1/admin/items/{code}/draft/validate"): "admin",
    ("POST", "/api/v1/admin/items/{code}/draft/publish"): "admin",
    ("GET", "/api/v1/admin/supervision/thresholds"): "supervision_readers",
    ("PUT", "/api/v1/admin/supervision/thresholds"): "admin",
    # Electronic supervision (电子监察).
    ("GET", "/api/v1/supervision/alerts"): "supervisors",
    ("GET", "/api/v1/supervision/alerts/counts"): "supervisors",
    ("GET", "/api/v1/supervision/alerts/stream"): "supervisors",
    ("GET", "/api/v1/supervision/irregularities"): "supervisors",
    ("GET", "/api/v1/supervision/orders"): "supervisors",
    ("POST", "/api/v1/supervision/orders"): "supervisors",
    ("GET", "/api/v1/supervision/orders/{id}"): "supervisors",
    ("POST", "/api/v1/supervision/orders/{id}/close"): "supervisors",
    ("GET", "/api/v1/supervision/accountability"): "supervisors",
    ("POST", "/api/v1/supervision/accountability"): "supervisors",
    ("GET", "/api/v1/supervision/people/{id}"): "supervisors",
    ("GET", "/api/v1/supervision/cases/{id}"): "supervisors",
    ("GET", "/api/v1/supervision/cases/{id}/exchange"): "supervisors",
    # A department answers the supervision orders it receives (another department's: 404 in the service).
    ("GET", "/api/v1/workbench/supervision-orders"): "department_staff",
    ("GET", "/api/v1/workbench/supervision-orders/{id}"): "department_staff",
    ("POST", "/api/v1/workbench/supervision-orders/{id}/response"): "department_staff",
    # Statistics (统计分析).
    ("GET", "/api/v1/statistics/figures"): "supervision_readers",
    ("GET", "/api/v1/statistics/export.csv"): "supervision_readers",
    ("GET", "/api/v1/statistics/export.xlsx"): "supervision_readers",
}

# Values for path parameters: none of them exists, so no call changes the shared demo data.
SAMPLE = {"code": "NOPE", "id": "999999", "number": "NOPE", "situation": "NOPE", "day": "2026-10-01"}
_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def _app_routes(app: Litestar) -> set[tuple[str, str]]:
    """(method, path) of every handler the app serves, parameter types left out: they are how a
    path is parsed, not who may call it."""
    found = set()
    for route in app.routes:
        for handler in route.route_handlers:
            if handler.handler_name == "options_handler":
                continue  # Litestar's own CORS-preflight answer for every path: no data
            for method in getattr(handler, "http_methods", ()) or ():
                found.add((method, _PARAMETER.sub(r"{\1}", route.path)))
    return found


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


def test_the_table_lists_exactly_the_apps_routes(app: Litestar) -> None:
    served = _app_routes(app)
    unlisted = sorted(served - EXPECTED.keys())
    gone = sorted(EXPECTED.keys() - served)
    assert not unlisted, f"routes without an expected answer (add them to EXPECTED, deciding who may call): {unlisted}"
    assert not gone, f"EXPECTED lists routes the app no longer has (remove them): {gone}"


def test_every_rule_names_every_caller() -> None:
    assert all(list(answers) == CALLERS for answers in RULES.values())
    assert set(EXPECTED.values()) <= RULES.keys()


async def test_every_route_answers_every_caller_as_expected(client: AsyncClient, app: Litestar) -> None:
    subjects = await _subjects()
    failures = []
    for (method, template), rule in sorted(EXPECTED.items()):
        path = _PARAMETER.sub(lambda m: SAMPLE.get(m.group(1), "1"), template)
        for caller in CALLERS:
            headers = {}
            if caller != "anonymous":
                # A fresh token per call: calling logout ends the token it was called with.
                token, _ = app.state.tokens.issue_access(subjects[caller], ROLE_OF.get(caller, caller))
                headers["Authorization"] = f"Bearer {token}"
            body = {} if method in ("POST", "PUT", "PATCH") else None
            got = (await client.request(method, path, headers=headers, json=body)).status_code
            expected = RULES[rule][caller]
            ok = got not in (401, 403) if expected == ALLOW else got == expected
            if not ok or got >= 500:
                failures.append(f"{method} {path} as {caller}: expected {expected}, got {got}")
    assert not failures, "\n".join(failures)
