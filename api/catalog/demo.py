"""The demo catalog of a city modelled on Bazhong (巴中市, Sichuan): 36 city departments, five
counties/districts, the central acceptance windows and a realistic set of items.

The source (``demo/catalog.json``) is written once per basic item; ``expand`` turns it into a
``CatalogDocument`` with one implementation for the city and one for each county that implements
the item, each with its own implementing body and implementation code (市县两级全覆盖).
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from stdnum.cn import uscc as uscc_std

from api.catalog.document import (
    CatalogDocument,
    CertificateTypeDoc,
    DepartmentDoc,
    ItemDoc,
    LifeEventDoc,
    PlaceDoc,
    WindowDoc,
)
from api.catalog.flows import owner_is_window

DEMO_DIR = Path(__file__).parent / "demo"


class RegionSource(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    region_code: str  # 12 digits
    name: str
    hall_name: str = ""
    address: str = ""
    hours: str = ""
    phone: str = ""


class DepartmentSource(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: str
    name: str
    short_name: str = ""
    phone: str = ""
    address: str = ""
    in_counties: bool = False  # every county has a counterpart body


class DemoSource(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    city: RegionSource
    counties: list[RegionSource]
    departments: list[DepartmentSource]
    windows: list[WindowDoc]
    certificate_types: list[CertificateTypeDoc]
    life_events: list[LifeEventDoc] = []
    items: list[dict] = []  # ItemDoc fields without "code", plus "counties": bool


def org_code(serial: int) -> str:
    """A GB 11714 organisation code (8 characters + check character)."""
    body = f"MB{serial:06d}"
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(alphabet.index(c) * w for c, w in zip(body, weights, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def government_uscc(region_code: str, serial: int) -> str:
    """A valid GB 32100 code of a government body (登记管理部门 1, 机关 1) in the region."""
    body = f"11{region_code[:6]}{org_code(serial)}"
    return body + uscc_std.calc_check_digit(body)


def implementation_code(basic_code: str, region_code: str, uscc: str) -> str:
    # The Sichuan portal's pattern: {basic}-{12-digit region}-000-{USCC of the body}-1-00.
    return f"{basic_code}-{region_code}-000-{uscc}-1-00"


def county_department_code(city_code: str, region_code: str) -> str:
    return f"{city_code}-{region_code[:6]}"


class ItemsFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    life_events: list[LifeEventDoc] = []
    items: list[dict] = []


def load_source(directory: Path = DEMO_DIR) -> DemoSource:
    """``catalog.json`` (regions, bodies, windows, certificate types) plus every ``items/*.json``."""
    source = msgspec.json.decode((directory / "catalog.json").read_bytes(), type=DemoSource)
    for path in sorted((directory / "items").glob("*.json")):
        part = msgspec.json.decode(path.read_bytes(), type=ItemsFile)
        source.life_events.extend(part.life_events)
        source.items.extend(part.items)
    return source


def _local(code: str, region_code: str, departments: dict[str, DepartmentDoc]) -> str:
    """The county's counterpart of a city department where it has one (市县两级), else the city's."""
    county = county_department_code(code, region_code)
    return county if county in departments else code


def expand(source: DemoSource) -> CatalogDocument:
    city = source.city
    departments: list[DepartmentDoc] = []
    by_code: dict[str, DepartmentDoc] = {}
    serial = 1000
    for order, d in enumerate(source.departments):
        serial += 1
        doc = DepartmentDoc(
            code=d.code, name=d.name, short_name=d.short_name, region_code=city.region_code,
            region_name=city.name, level="city", uscc=government_uscc(city.region_code, serial),
            phone=d.phone, address=d.address, sort_order=order,
        )
        departments.append(doc)
        by_code[d.code] = doc
    for county in source.counties:
        for order, d in enumerate(source.departments):
            if not d.in_counties:
                continue
            serial += 1
            code = county_department_code(d.code, county.region_code)
            doc = DepartmentDoc(
                code=code, name=d.name.replace(city.name, county.name, 1),
                short_name=d.short_name.replace("市", county.name[-1], 1),
                region_code=county.region_code, region_name=county.name, level="county",
                parent=d.code, uscc=government_uscc(county.region_code, serial),
                phone=county.phone, address=county.address, sort_order=order,
            )
            departments.append(doc)
            by_code[code] = doc

    items: list[ItemDoc] = []
    for raw in source.items:
        raw = dict(raw)
        in_counties = bool(raw.pop("counties", False))
        city_dept = by_code[raw["department"]]
        city_item = msgspec.convert(
            {**raw, "code": implementation_code(raw["basic_code"], city.region_code, city_dept.uscc)},
            ItemDoc,
        )
        items.append(city_item)
        if not in_counties:
            continue
        for county in source.counties:
            dept = by_code.get(county_department_code(raw["department"], county.region_code))
            if dept is None:
                continue
            region = county.region_code
            items.append(
                msgspec.structs.replace(
                    city_item,
                    code=implementation_code(raw["basic_code"], county.region_code, dept.uscc),
                    department=dept.code,
                    exercise_level="4",
                    window="",
                    places=[PlaceDoc(name=county.hall_name, address=county.address, hours=county.hours)],
                    consult_phone=county.phone or city_item.consult_phone,
                    popularity=city_item.popularity // 2,
                    joint_departments=[_local(c, region, by_code) for c in city_item.joint_departments],
                    flow=[
                        # A county item has no window of the city's; its departments are its own.
                        msgspec.structs.replace(
                            s, owner="" if owner_is_window(s.role) else _local(s.owner, region, by_code)
                        ) if s.owner else s
                        for s in city_item.flow
                    ],
                )
            )
    return CatalogDocument(
        departments=departments,
        windows=source.windows,
        certificate_types=source.certificate_types,
        life_events=sorted(source.life_events, key=lambda e: e.sort_order),
        items=items,
    )


def demo_document() -> CatalogDocument:
    return expand(load_source())


def main() -> None:  # python -m api.catalog.demo — checks the demo catalog and prints its size
    from collections import Counter

    from api.catalog.document import validate_document

    source = load_source()
    doc = expand(source)
    problems = validate_document(doc)
    for p in problems[:200]:
        print(f"{p.where} {p.field}: {p.message}")
    city = [i for i in doc.items if i.department in {d.code for d in source.departments}]
    kinds = Counter(i.kind for i in city)
    print(f"city departments: {len(source.departments)}; all departments: {len(doc.departments)}")
    print(f"basic items: {len(city)}; implementations: {len(doc.items)}")
    print(f"situations (basic items): {sum(len(i.situations) for i in city)}")
    print(f"kinds: {dict(sorted(kinds.items()))} ({len(kinds)} of 11)")
    print(f"life events: {len(doc.life_events)}; windows: {len(doc.windows)}")
    print(f"problems: {len(problems)}")
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
