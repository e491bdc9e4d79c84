"""The HTTP ceiling for uploads: a bare Litestar endpoint that reads a body with
``request.stream()`` and discards it, with the same per-request body limit as a tus PATCH."""

from litestar import Litestar, Request, get, post

MAX_CHUNK_SIZE = 8 * 1024 * 1024  # api.uploads.services.MAX_CHUNK_SIZE


@post("/bare", status_code=204, request_max_body_size=MAX_CHUNK_SIZE)
async def bare(request: Request) -> None:
    async for _ in request.stream():
        pass


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[bare, health])
