"""The ceiling: a bare Litestar JSON endpoint served exactly like the real app."""

from litestar import Litestar, get


@get("/bare")
async def bare() -> dict[str, object]:
    return {"code": "511A5001010000", "name": "个体工商户设立登记", "status": "ok", "items": [1, 2, 3]}


app = Litestar(route_handlers=[bare])
