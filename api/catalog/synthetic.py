"""A large synthetic catalog for benchmarks (Bazhong ran 5,933 items): the demo catalog plus
variants of its items (变更、延续、注销 …) spread over the city and county bodies."""

from __future__ import annotations

import msgspec

from api.catalog.demo import demo_document, implementation_code
from api.catalog.document import CatalogDocument, ItemDoc

_VARIANTS = (
    "变更", "延续", "注销", "补证", "换证", "迁移", "备案", "年度报告", "信息更正", "撤销", "复核", "核查",
    "审核", "确认", "申报", "预审", "许可证遗失补办", "资格认定", "登记事项变更", "期满换发",
)


def synthetic_document(count: int) -> CatalogDocument:
    """The demo catalog grown to exactly ``count`` item implementations (at least the demo's)."""
    demo = demo_document()
    if count <= len(demo.items):
        return msgspec.structs.replace(demo, items=demo.items[:count])
    departments = {d.code: d for d in demo.departments}
    bases = demo.items
    items: list[ItemDoc] = list(demo.items)
    serial = 0
    while len(items) < count:
        base = bases[serial % len(bases)]
        variant = _VARIANTS[(serial // len(bases)) % len(_VARIANTS)]
        round_ = serial // (len(bases) * len(_VARIANTS))
        name = f"{base.name}（{variant}{'' if round_ == 0 else f'·{round_ + 1}'}）"
        basic_code = f"59{base.kind}{serial:06d}0000"
        dept = departments[base.department]
        items.append(
            msgspec.structs.replace(
                base,
                code=implementation_code(basic_code, dept.region_code, dept.uscc),
                basic_code=basic_code,
                name=name,
                short_name="",
                popularity=base.popularity // 3,
            )
        )
        serial += 1
    return msgspec.structs.replace(demo, items=items)
