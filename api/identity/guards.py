"""The role guard: authenticates the bearer token and checks the route's ``opt["roles"]``.

Roles a route may name: ``citizen``, the staff roles (clerk, officer, approver, supervisor, admin),
``staff`` (any staff role) and ``authenticated`` (anyone signed in). Public routes
(``opt={"public": True}``) carry no guard at all. 401 = not (validly) signed in; 403 = signed in
but not allowed.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.core import caller
from api.core.errors import DomainError, Forbidden, Unauthenticated
from api.identity.models import Citizen, RevokedAccessToken, Staff
from api.identity.principal import STAFF_ROLES, Principal
from api.identity.tokens import TokenInvalid, TokenService

# A citizen's token in one round trip: every signed-in request of the PWA (and each upload chunk)
# pays for it, and two ORM queries cost ~1.5 ms through aiosqlite's thread.
_CITIZEN_CHECK = (
    "SELECT EXISTS(SELECT 1 FROM revoked_access_token WHERE jti = {jti}) AS revoked, "
    "EXISTS(SELECT 1 FROM citizen WHERE id = {id}) AS known"
)
_CITIZEN_CHECK_SQL = {
    "sqlite": _CITIZEN_CHECK.format(jti="?", id="?"),
    "postgres": _CITIZEN_CHECK.format(jti="$1", id="$2"),
}
# A staff member's token and account, likewise in one round trip (every back-office request).
_STAFF_CHECK = (
    "SELECT EXISTS(SELECT 1 FROM revoked_access_token WHERE jti = {jti}) AS revoked, s.id, s.role, s.department, "
    's."window", s.active FROM (SELECT 1 AS one) AS one LEFT JOIN staff s ON s.id = {id}'
)
_STAFF_CHECK_SQL = {
    "sqlite": _STAFF_CHECK.format(jti="?", id="?"),
    "postgres": _STAFF_CHECK.format(jti="$1", id="$2"),
}


def unauthenticated(message: str = "请先登录", detail: str = "authentication required") -> DomainError:
    return Unauthenticated(message, detail)


def role_allowed(role: str, allowed: list[str]) -> bool:
    return role in allowed or "authenticated" in allowed or ("staff" in allowed and role in STAFF_ROLES)


async def authenticate(connection: ASGIConnection) -> Principal:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthenticated()
    tokens: TokenService = connection.app.state.tokens
    try:
        claims = tokens.verify_access(token.strip())
    except TokenInvalid:
        raise unauthenticated("登录已失效，请重新登录", "invalid or expired access token") from None
    kind, _, raw_id = claims.subject.partition(":")
    if not raw_id.isdigit():
        raise unauthenticated("登录已失效，请重新登录", "malformed subject")
    if kind == "citizen" and claims.role == "citizen":
        revoked, known = await _citizen_check(claims.jti, int(raw_id))
        if revoked:
            raise unauthenticated("您已退出登录，请重新登录", "access token revoked")
        if not known:
            raise unauthenticated("账号不存在，请重新登录", "unknown citizen")
        return Principal("citizen", int(raw_id), "citizen", "", "", claims.jti, claims.expires_at)
    if kind == "staff":
        staff = await _staff_check(claims.jti, int(raw_id))
        if staff["revoked"]:
            raise unauthenticated("您已退出登录，请重新登录", "access token revoked")
        # The role in the token must still be the account's role: a demoted account loses access now.
        if staff["id"] is None or not staff["active"] or staff["role"] != claims.role:
            raise unauthenticated("账号已停用或权限已变更，请重新登录", "staff account changed")
        return Principal("staff", int(staff["id"]), staff["role"], staff["department"], staff["window"], claims.jti,
                         claims.expires_at)
    if await RevokedAccessToken.exists(jti=claims.jti):
        raise unauthenticated("您已退出登录，请重新登录", "access token revoked")
    raise unauthenticated("登录已失效，请重新登录", "unknown subject kind")


async def _citizen_check(jti: str, citizen_id: int) -> tuple[bool, bool]:
    """(revoked, known) for a citizen's access token."""
    db = Citizen._meta.db
    # Settings accept only SQLite and PostgreSQL URLs (validate_database_url).
    row = (await db.execute_query_dict(_CITIZEN_CHECK_SQL[db.capabilities.dialect], [jti, citizen_id]))[0]
    return bool(row["revoked"]), bool(row["known"])


async def _staff_check(jti: str, staff_id: int) -> dict:
    """revoked, and the account's id (None: no such account), role, department, window, active."""
    db = Staff._meta.db
    return (await db.execute_query_dict(_STAFF_CHECK_SQL[db.capabilities.dialect], [jti, staff_id]))[0]


async def require_roles(connection: ASGIConnection, route_handler: BaseRouteHandler) -> None:
    allowed: list[str] = route_handler.opt.get("roles", [])
    principal = await authenticate(connection)
    connection.scope["user"] = principal
    caller.authenticated(principal.subject, principal.role)  # the audit trail records the role
    if not role_allowed(principal.role, allowed):
        raise Forbidden("您没有权限进行此操作", f"role '{principal.role}' may not use this route")
