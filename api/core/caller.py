"""Who is calling and from where, for the length of one request (the audit trail records both).

``begin`` notes the client's address (``scope["client"]``: the socket peer, or the address a
trusted proxy forwarded, as the ASGI server resolved it) when a request starts and ``end``
forgets it when the request ends — both called by the request's outermost wrapper
(api/core/request_context.py), so no further middleware layer runs per request; the role guard
adds the caller's subject and role once it has authenticated them. Services that record what
happened read it with ``current()`` instead of threading the address through every signature.
Outside a request (CLI, worker) there is none.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

from litestar.types import Scope


@dataclass(slots=True)
class Caller:
    client: str = ""
    subject: str = ""  # "staff:3" | "citizen:12" once authenticated
    role: str = ""


_caller: ContextVar[Caller | None] = ContextVar("zhengwu_caller", default=None)


def current() -> Caller | None:
    return _caller.get()


def authenticated(subject: str, role: str) -> None:
    """The guard's word on who this request is (no effect outside a request)."""
    caller = _caller.get()
    if caller is not None:
        caller.subject, caller.role = subject, role


def begin(scope: Scope) -> Token[Caller | None]:
    """A request starts: note where it comes from (``end`` with the token it returns)."""
    client = scope.get("client")
    return _caller.set(Caller(client=str(client[0])[:64] if client else ""))


def end(token: Token[Caller | None]) -> None:
    _caller.reset(token)
