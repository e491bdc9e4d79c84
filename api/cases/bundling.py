"""一件事一次办: which materials of a bundle's cases are one and the same thing. Pure: no HTTP, no ORM.

A life event's items often ask for the same document: every item of 开办餐饮店 wants the business
licence, three of them the same 委托代理人授权委托书. The citizen provides each once:

* a material the platform fetches (a certificate type, 免提交) is one entry per certificate type:
  ``spare_materials`` spares every material of a type with the one certificate the applicant holds,
  so it is spared once for all of them;
* a material the applicant provides is one entry per (code, name): the same document asked under
  the same code and name by several items is uploaded once and serves every one of them (the file
  is attached to each case at submission; storage is content-addressed, so nothing is copied).

The PWA shows the same merge before anything is sent (``pwa/src/bundle.js`` ``mergeMaterials``,
the same rule on the public material lists); this module is what the server answers and submits by.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

MISSING, ATTACHED, SPARED = "missing", "attached", "spared"


def merge_key(source: str, certificate_type: str, code: str, name: str) -> str:
    """The identity of a material across items: its certificate type if the platform can fetch it,
    else its code and name."""
    if source == "certificate" and certificate_type:
        return f"certificate:{certificate_type}"
    return f"file:{code}:{name}"


@dataclass(frozen=True, slots=True)
class Member:
    """One case's checklist entry."""

    case_id: int
    item_code: str
    item_name: str
    code: str
    name: str
    source: str
    certificate_type: str
    required: bool
    status: str  # missing | attached | spared
    filename: str = ""


@dataclass(slots=True)
class Group:
    """One material as the citizen sees it in the bundle: the entries of every case it serves."""

    key: str
    source: str
    certificate_type: str
    members: list[Member] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(m.name for m in self.members))

    @property
    def required(self) -> bool:
        return any(m.required for m in self.members)

    @property
    def status(self) -> str:
        """spared when the platform fetched it for every item; attached when a file is there (one
        file serves all); missing otherwise."""
        if all(m.status == SPARED for m in self.members):
            return SPARED
        if any(m.status == ATTACHED for m in self.members):
            return ATTACHED
        return MISSING

    @property
    def upload_to(self) -> Member | None:
        """The entry a file for this material is uploaded to: the one already holding a file, else
        the first one not spared. None when the platform fetched it for every item."""
        attached = [m for m in self.members if m.status == ATTACHED]
        if attached:
            return attached[0]
        return next((m for m in self.members if m.status != SPARED), None)

    @property
    def blocking(self) -> bool:
        """Stops the submission: required, provided by the applicant, and no file anywhere."""
        return self.required and self.source != "certificate" and self.status == MISSING


def merge(members: Iterable[Member]) -> list[Group]:
    """The bundle's materials, each once, in the order they first appear (case by case)."""
    groups: dict[str, Group] = {}
    for m in members:
        key = merge_key(m.source, m.certificate_type, m.code, m.name)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(key, m.source, m.certificate_type if m.source == "certificate" else "")
        group.members.append(m)
    return list(groups.values())


def copies(groups: Iterable[Group]) -> list[tuple[Member, Member]]:
    """(from, to) for every entry that gets the file one of its group's entries holds: what a
    submission attaches, so that one photo serves every item. Spared entries keep their certificate."""
    out = []
    for g in groups:
        source = next((m for m in g.members if m.status == ATTACHED), None)
        if source is None:
            continue
        out.extend((source, m) for m in g.members if m.status == MISSING)
    return out
