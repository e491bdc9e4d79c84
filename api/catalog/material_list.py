"""一单载明: the exact material list for an applicant's answers, with the reason for each one.

Pure module, no HTTP, no ORM. ``material_list_for_version`` reads a stored version document
(``ItemDoc``): a case is always judged by the version it was filed under, whatever the catalog
publishes since. ``material_list`` reads the current published guide (``ItemGuide``) for the public
question-and-answer page; both select and explain exactly the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec

from api.catalog import codes, rules
from api.catalog.document import ItemDoc, MaterialDoc, QuestionDoc
from api.catalog.schemas import (
    AnsweredQuestion,
    ItemGuide,
    ListedMaterial,
    MaterialListOut,
    MaterialOut,
    QuestionOut,
    SituationRef,
)

Question = QuestionOut | QuestionDoc

MAX_TEXT_ANSWER = 500


class AnswerError(ValueError):
    """An answer that is missing, unknown or of the wrong type; names the question."""

    def __init__(self, field: str, message: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.message = message
        self.detail = detail


def _check_answer(q: Question, value: Any) -> Any:
    options = {o.value for o in q.options}
    wrong = AnswerError(q.code, f"「{q.text}」的回答无效", f"invalid answer to question '{q.code}'")
    if q.datatype == "single":
        if not isinstance(value, str) or value not in options:
            raise AnswerError(
                q.code,
                f"「{q.text}」请从给出的选项中选择一项",
                f"answer to '{q.code}' must be one of: {', '.join(sorted(options))}",
            )
        return value
    if q.datatype == "multi":
        if not isinstance(value, list) or any(not isinstance(v, str) or v not in options for v in value):
            raise AnswerError(
                q.code,
                f"「{q.text}」请从给出的选项中选择",
                f"answer to '{q.code}' must be a list of: {', '.join(sorted(options))}",
            )
        return sorted(set(value), key=[o.value for o in q.options].index)
    if q.datatype == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise AnswerError(q.code, f"「{q.text}」请填写数字", f"answer to '{q.code}' must be a number")
        return value
    if q.datatype == "date":
        try:
            return dt.date.fromisoformat(value).isoformat() if isinstance(value, str) else None
        except ValueError:
            pass
        raise AnswerError(
            q.code, f"「{q.text}」请填写日期（如 2026-01-31）", f"answer to '{q.code}' must be YYYY-MM-DD"
        )
    if not isinstance(value, str) or len(value) > MAX_TEXT_ANSWER:
        raise wrong
    return value.strip()


def _label(q: Question, value: Any) -> str:
    labels = {o.value: o.label for o in q.options}
    if isinstance(value, list):
        return "、".join(labels.get(v, v) for v in value) or "（都不是）"
    return labels.get(value, str(value)) if isinstance(value, str) else str(value)


def validate_answers(guide: ItemGuide | ItemDoc, answers: dict[str, Any]) -> dict[str, Any]:
    """The answers that apply, checked in question order (skipped questions are dropped)."""
    known = {q.code for q in guide.questions}
    for code in answers:
        if code not in known:
            raise AnswerError(code, f"本事项没有问题“{code}”", f"unknown question '{code}'")
    clean: dict[str, Any] = {}
    for q in guide.questions:
        if not rules.evaluate(q.ask_if, clean):
            continue  # not asked for these earlier answers
        value = answers.get(q.code)
        if value is None or value == "" or value == []:
            if q.required and not (q.datatype == "multi" and value == []):
                raise AnswerError(q.code, f"请回答：{q.text}", f"question '{q.code}' needs an answer")
            if value == [] and q.datatype == "multi":
                clean[q.code] = []
            continue
        clean[q.code] = _check_answer(q, value)
    return clean


def _explain(rule: dict[str, Any] | None, questions: dict[str, Question], answers: dict[str, Any]) -> str:
    parts = []
    for leaf in rules.clauses(rule):
        q = questions.get(leaf.get("q", ""))
        if q is None or q.code not in answers:
            continue
        part = f"「{q.text}」{_label(q, answers[q.code])}"
        if part not in parts:
            parts.append(part)
    return "；".join(parts)


def material_out(m: MaterialDoc, certificate_names: dict[str, str]) -> MaterialOut:
    """A stored material requirement as the guide shows it (with its names and whether it is conditional)."""
    return MaterialOut(
        **msgspec.structs.asdict(m), conditional=m.condition is not None,
        source_name=codes.MATERIAL_SOURCES[m.source][0],
        certificate_type_name=certificate_names.get(m.certificate_type, ""),
    )


def material_list(guide: ItemGuide, raw_answers: dict[str, Any]) -> MaterialListOut:
    """The list for the current published guide (the public 一单载明 page)."""
    return _listing(guide, raw_answers, guide.promised_limit, lambda m: m)  # type: ignore[arg-type,return-value]


def material_list_for_version(
    version: ItemDoc, raw_answers: dict[str, Any], certificate_names: dict[str, str] | None = None,
) -> MaterialListOut:
    """The list for one stored item version (what a case filed under it needs)."""
    names = certificate_names or {}
    return _listing(version, raw_answers, version.promised_limit, lambda m: material_out(m, names))


def _listing(item: ItemGuide | ItemDoc, raw_answers: dict[str, Any], default_limit: int,
             as_out: Callable[[Any], MaterialOut]) -> MaterialListOut:
    answers = validate_answers(item, raw_answers)
    questions: dict[str, Question] = {q.code: q for q in item.questions}
    situation = next((s for s in item.situations if rules.evaluate(s.rule, answers)), None)
    if situation is None:
        raise AnswerError(
            "answers",
            f"根据您的回答没有找到对应的办理情形，请致电 {item.consult_phone} 咨询",
            "no situation of this item matches the answers",
        )
    why_situation = _explain(situation.rule, questions, answers)
    listed: list[ListedMaterial] = []
    for m in situation.materials:
        if m.condition is not None and not rules.evaluate(m.condition, answers):
            continue
        because = _explain(m.condition, questions, answers)
        if because:
            reason = f"因为您回答了{because}"
        elif why_situation:
            reason = f"「{situation.name}」需要（您回答了{why_situation}）"
        else:
            reason = f"办理「{item.name}」都需要"
        listed.append(msgspec.convert({**msgspec.structs.asdict(as_out(m)), "reason": reason}, ListedMaterial))
    return MaterialListOut(
        item_code=item.code,
        situation=SituationRef(
            code=situation.code,
            name=situation.name,
            description=situation.description,
            reason=f"因为您回答了{why_situation}" if why_situation else "适用于所有申请人",
        ),
        promised_limit=situation.promised_limit if situation.promised_limit is not None else default_limit,
        promised_limit_unit=item.promised_limit_unit,
        answers=[
            AnsweredQuestion(
                code=c, question=questions[c].text, answer=v, answer_label=_label(questions[c], v)
            )
            for c, v in answers.items()
        ],
        materials=listed,
        spared_count=sum(1 for m in listed if m.source == "certificate"),
    )
