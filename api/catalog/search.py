"""Catalog search as Chinese users expect it: characters anywhere in the name, keywords or
department; full pinyin (``yingyezhizhao``) and pinyin initials (``yyzz``); exact names first.

Pure module: no HTTP, no ORM. ``SearchIndex`` is built from plain entries and answers queries
from inverted indexes (CJK characters and pinyin letter bigrams), so a query touches only the
entries that can match.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec
from pypinyin import lazy_pinyin

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def _tag_other(run: str) -> list[str]:
    return [f"\x00{ch}" for ch in run]  # marks characters that have no pinyin


@functools.lru_cache(maxsize=65536)
def pinyin_forms(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of a text, letters and digits only: 营业执照 → (yingyezhizhao, yyzz).

    Read as whole words, so polyphones follow context (银行 → yinhang, 重庆 → chongqing). Other
    characters keep themselves in both forms (A类证明 → aleizhengming, alzm).
    """
    full: list[str] = []
    initials: list[str] = []
    for chunk in lazy_pinyin(text, errors=_tag_other):
        if chunk.startswith("\x00"):
            ch = chunk[1:].lower()
            if ch.isalnum() and ch.isascii():
                full.append(ch)
                initials.append(ch)
        elif chunk:
            full.append(chunk.lower())
            initials.append(chunk[:1].lower())
    return "".join(full), "".join(initials)


@dataclass(slots=True)
class Entry:
    """What the index needs to know about one item implementation."""

    code: str
    basic_code: str
    name: str
    short_name: str
    keywords: list[str]
    department_code: str
    department_name: str
    department_short_name: str
    region_code: str
    kind: str
    audiences: list[str]
    popularity: int
    # derived by the index
    names: str = ""
    keyword_text: str = ""
    department_text: str = ""
    py_full: list[str] = field(default_factory=list)  # name, short name
    py_init: list[str] = field(default_factory=list)
    py_kw_full: list[str] = field(default_factory=list)
    py_kw_init: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Filters:
    region: str | None = None
    kind: str | None = None
    department: str | None = None
    audience: str | None = None
    basic_codes: frozenset[str] | None = None  # a life event's items

    def admits(self, e: Entry) -> bool:
        return (
            (self.region is None or e.region_code == self.region)
            and (self.kind is None or e.kind == self.kind)
            and (self.department is None or e.department_code == self.department)
            and (self.audience is None or self.audience in e.audiences)
            and (self.basic_codes is None or e.basic_code in self.basic_codes)
        )


SortKey = tuple[int, int, int, str]


class CursorError(ValueError):
    pass


def encode_cursor(key: SortKey) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        a, b, c, d = msgspec.json.decode(raw, type=tuple[int, int, int, str])
    except (ValueError, TypeError, msgspec.DecodeError) as exc:
        raise CursorError("invalid cursor") from exc
    return (a, b, c, d)


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} if len(text) > 1 else ({text} if text else set())


class SearchIndex:
    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries: list[Entry] = list(entries)
        self._by_char: dict[str, set[int]] = {}
        self._by_bigram: dict[str, set[int]] = {}
        self._by_letter: dict[str, set[int]] = {}
        for i, e in enumerate(self.entries):
            e.names = f"{e.name}\n{e.short_name}".lower()
            e.keyword_text = "\n".join(e.keywords).lower()
            e.department_text = f"{e.department_name}\n{e.department_short_name}"
            forms = [pinyin_forms(e.name), pinyin_forms(e.short_name)]
            e.py_full = [f for f, _ in forms if f]
            e.py_init = [n for _, n in forms if n]
            kw_forms = [pinyin_forms(k) for k in e.keywords]
            e.py_kw_full = [f for f, _ in kw_forms if f]
            e.py_kw_init = [n for _, n in kw_forms if n]
            for ch in set(e.names + e.keyword_text + e.department_text):
                if _CJK.match(ch):
                    self._by_char.setdefault(ch, set()).add(i)
            for text in e.py_full + e.py_init + e.py_kw_full + e.py_kw_init:
                for bg in _bigrams(text):
                    self._by_bigram.setdefault(bg, set()).add(i)
                self._by_letter.setdefault(text[:1], set()).add(i)
        # Default order (no query): most used first.
        self._default = sorted(range(len(self.entries)), key=lambda i: self._key(0, self.entries[i]))

    @staticmethod
    def _key(score: int, e: Entry) -> SortKey:
        return (-score, -e.popularity, len(e.name), e.code)

    def _candidates(self, token: str) -> set[int] | None:
        chars = {c for c in token if _CJK.match(c)}
        if chars:
            sets = sorted((self._by_char.get(c, set()) for c in chars), key=len)
            return set.intersection(*sets) if sets else set()
        if len(token) == 1:
            return set(self._by_letter.get(token, set()))
        sets = sorted((self._by_bigram.get(bg, set()) for bg in _bigrams(token)), key=len)
        return set.intersection(*sets) if sets else set()

    @staticmethod
    def _score(token: str, e: Entry) -> int:
        name = e.name.lower()
        if _CJK.search(token) or not token.isascii():
            if name == token or e.short_name.lower() == token:
                return 1000
            if name.startswith(token):
                return 800
            if token in e.names:
                return 600 - min(name.find(token), 50) if token in name else 550
            if token in e.keyword_text:
                return 500 if token in e.keywords else 400
            if token in e.department_text:
                return 200
            return 0
        best = 0
        for full, init in zip(e.py_full, e.py_init, strict=False):
            if init == token or full == token:
                best = max(best, 950)
            elif init.startswith(token) or full.startswith(token):
                best = max(best, 750)
            elif token in init:
                best = max(best, 520)
            elif len(token) > 2 and token in full:
                best = max(best, 480)
        if best:
            return best
        for full, init in zip(e.py_kw_full, e.py_kw_init, strict=False):
            if init == token or full == token:
                best = max(best, 450)
            elif token in init or (len(token) > 2 and token in full):
                best = max(best, 350)
        if best:
            return best
        if token in name or token in e.keyword_text or token in e.code.lower():
            return 300
        return 0

    def search(
        self, query: str, filters: Filters, limit: int, after: SortKey | None = None
    ) -> tuple[list[Entry], int, SortKey | None]:
        """One page of results, the total count, and the key to continue after (keyset paging)."""
        tokens = [t for t in re.split(r"\s+", query.strip().lower()) if t]
        if not tokens:
            ranked = [(self._key(0, self.entries[i]), self.entries[i]) for i in self._default]
            ranked = [(k, e) for k, e in ranked if filters.admits(e)]
        else:
            candidates: set[int] | None = None
            for t in tokens:
                c = self._candidates(t) or set()
                candidates = c if candidates is None else candidates & c
            ranked = []
            for i in candidates or ():
                e = self.entries[i]
                if not filters.admits(e):
                    continue
                total = 0
                for t in tokens:
                    s = self._score(t, e)
                    if not s:
                        break
                    total += s
                else:
                    ranked.append((self._key(total, e), e))
            ranked.sort(key=lambda pair: pair[0])
        if after is not None:
            ranked = [(k, e) for k, e in ranked if k > after]
            total_count = len(ranked)  # remaining; the first page reports the full count
        else:
            total_count = len(ranked)
        page = ranked[:limit]
        next_key = page[-1][0] if len(ranked) > limit else None
        return [e for _, e in page], total_count, next_key
