"""What a notification says, per outbox kind, in Chinese and English: short enough for a phone's
lock screen, the Chinese first ("您的办件需要补正材料：…"). Pure: no ORM, no HTTP.

A row keeps its kind and data, not its text: the text is written here when it is delivered, so a
wording can be corrected without rewriting history. Data comes from other domains' rows (a case's
number and item name, a supervision alert's due date); a value missing from it leaves its phrase
out rather than failing the delivery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("zh-CN", "en")


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    body: str
    title_en: str
    body_en: str
    url: str  # where a tap on it leads in the PWA

    def in_language(self, language: str) -> tuple[str, str]:
        return (self.title_en, self.body_en) if language == "en" else (self.title, self.body)


def _item(d: Mapping[str, Any]) -> str:
    name = d.get("item_name")
    return f"「{name}」" if name else "您的办件"


def _item_en(d: Mapping[str, Any]) -> str:
    return f"Your application ({d['number']})" if d.get("number") else "Your application"


def _until(d: Mapping[str, Any], zh: bool = True) -> str:
    due = d.get("due_date")
    if not due:
        return ""
    return f"，预计 {due} 前办结" if zh else f"; expected by {due}"


def _makeup(d: Mapping[str, Any], zh: bool = True) -> str:
    """容缺受理: the materials still owed, and by when."""
    due = d.get("makeup_due")
    if not due:
        return ""
    return f"请于 {due} 前补齐容缺材料。" if zh else f" Please supply the missing documents by {due}."


def _reason(d: Mapping[str, Any]) -> str:
    return str(d.get("reason") or "").strip()


def _materials(d: Mapping[str, Any]) -> str:
    names = [str(m.get("name") or m.get("code")) for m in d.get("materials") or [] if isinstance(m, Mapping)]
    return "、".join(names)


def _case_no(d: Mapping[str, Any]) -> str:
    return f"办件 {d['number']}" if d.get("number") else "办件"


def _case_named(d: Mapping[str, Any]) -> str:
    """办件 2026…「营业执照」 for staff: the number and, when known, the item."""
    return _case_no(d) + (f"「{d['item_name']}」" if d.get("item_name") else "")


def _rated(d: Mapping[str, Any]) -> str:
    """What a rating was about: the case (for supervisors), else the item (for the staff who served)."""
    if d.get("number"):
        return _case_no(d)
    return f"「{d['item_name']}」" if d.get("item_name") else "窗口服务"


def _place(d: Mapping[str, Any], zh: bool = True) -> str:
    if not d.get("place"):
        return ""
    return f"，地点：{d['place']}" if zh else f" at {d['place']}"


Render = Callable[[Mapping[str, Any]], tuple[str, str, str, str]]

#: kind → (title, body, title_en, body_en) from the row's data. The citizens' kinds first.
CITIZEN_TEXTS: dict[str, Render] = {
    "case.submit": lambda d: (
        "申请已提交", f"您在窗口办理的{_item(d)}已提交，办件编号 {d.get('number', '')}。",
        "Application submitted", f"Your application at the service window was submitted: {d.get('number', '')}.",
    ),
    "case.accept": lambda d: (
        "办件已受理", f"{_item(d)}已受理{_until(d)}。{_makeup(d)}",
        "Application accepted", f"{_item_en(d)} was accepted{_until(d, False)}.{_makeup(d, False)}",
    ),
    "case.terminate": lambda d: (
        "办件已终止", f"{_item(d)}的容缺材料未在 {d.get('makeup_due', '')} 前补齐，依承诺终止办理。",
        "Application ended", f"{_item_en(d)} ended: the promised documents were not supplied by "
        f"{d.get('makeup_due', '')}.",
    ),
    "case.deem_accepted": lambda d: (
        "办件已受理", f"{_item(d)}在期限内未被告知补正，依法视为已受理{_until(d)}。",
        "Application accepted", f"{_item_en(d)} counts as accepted by law{_until(d, False)}.",
    ),
    "case.request_correction": lambda d: (
        "需要补正材料", f"您的办件需要补正材料：{_materials(d) or '详见办件'}。请打开办件重新上传。",
        "Documents needed", f"{_item_en(d)} needs corrected documents: {_materials(d) or 'see the case'}.",
    ),
    "case.refuse": lambda d: (
        "申请不予受理", f"{_item(d)}不予受理" + (f"：{_reason(d)}" if _reason(d) else "。"),
        "Application not accepted", f"{_item_en(d)} was not accepted" + (f": {_reason(d)}" if _reason(d) else "."),
    ),
    "case.approve": lambda d: (
        "申请已批准", f"{_item(d)}已批准，等待送达结果。",
        "Application approved", f"{_item_en(d)} was approved; the result will be delivered.",
    ),
    "case.deny": lambda d: (
        "申请不予批准", f"{_item(d)}不予批准" + (f"：{_reason(d)}" if _reason(d) else "。"),
        "Application denied", f"{_item_en(d)} was denied" + (f": {_reason(d)}" if _reason(d) else "."),
    ),
    "case.deliver": lambda d: (
        "办件已办结", f"{_item(d)}已办结。欢迎对本次服务作出评价。",
        "Application completed", f"{_item_en(d)} is complete. Please rate the service.",
    ),
    "case.suspend": lambda d: (
        "办件暂停计时", f"{_item(d)}进入特别程序" + (f"（{d['procedure']}）" if d.get("procedure") else "")
        + "，期间暂停计时。",
        "Clock stopped", f"{_item_en(d)} is in a special procedure; the time limit is paused.",
    ),
    "case.resume": lambda d: (
        "办件恢复办理", f"{_item(d)}恢复审查{_until(d)}。",
        "Review resumed", f"{_item_en(d)} is being reviewed again{_until(d, False)}.",
    ),
    "case.extend": lambda d: (
        "办理期限延长", f"{_item(d)}办理期限延长 {d.get('days', '')} 个工作日{_until(d)}。",
        "Time limit extended", f"{_item_en(d)}: time limit extended by {d.get('days', '')} working days"
        f"{_until(d, False)}.",
    ),
    "case.survey_scheduled": lambda d: (
        "安排现场踏勘", f"{_item(d)}定于 {d.get('date', '')} 联合踏勘{_place(d)}。",
        "Site survey scheduled", f"{_item_en(d)}: joint site survey on {d.get('date', '')}{_place(d, False)}.",
    ),
    # 好差评 (api/ratings): the rater hears the result of the rectification of their bad rating.
    "rating.callback": lambda d: (
        "差评整改回访", f"您对{_item(d)}的评价已整改：{d.get('result', '')}。请确认是否认可。",
        "Your rating was followed up", f"{_item_en(d)}: {d.get('result', '')}. Please say whether you accept it.",
    ),
}

#: Staff recipients: supervision's alerts and orders, and the rectifications of bad ratings.
STAFF_TEXTS: dict[str, Render] = {
    "alert.warning": lambda d: (
        "办件即将超期", f"{_case_named(d)}将于 {d.get('due_date', '近日')} 到期，请及时办理。",
        "Case due soon", f"Case {d.get('number', '')} is due on {d.get('due_date', 'soon')}.",
    ),
    "alert.yellow": lambda d: (
        "黄牌警告", f"{_case_named(d)}已超期，请立即办理。",
        "Yellow card", f"Case {d.get('number', '')} is overdue: act now.",
    ),
    "alert.red": lambda d: (
        "红牌警告", f"{_case_named(d)}严重超期，已通报监察。",
        "Red card", f"Case {d.get('number', '')} is seriously overdue and was reported to supervision.",
    ),
    "supervision.order": lambda d: (
        "督办通知", f"监察中心督办{_case_no(d)}" + (f"：{d.get('text') or d.get('reason')}" if d.get("text") or
                                                  d.get("reason") else "。"),
        "Supervision order", f"Supervision orders action on case {d.get('number', '')}"
        + (f": {d.get('text') or d.get('reason')}" if d.get("text") or d.get("reason") else "."),
    ),
    "supervision.order_response": lambda d: (
        "督办已答复", f"{d.get('department', '')}已答复{_case_no(d)}的督办，请查看。",
        "Supervision order answered", f"{d.get('department', '')} answered the order on case {d.get('number', '')}.",
    ),
    "rating.rectification": lambda d: (
        "差评待整改", f"{_rated(d)}收到差评，请在 {d.get('verify_due', '')} 前核实。",
        "Bad rating to rectify", f"A bad rating was received; verify it by {d.get('verify_due', '')}.",
    ),
    "rating.contested": lambda d: (
        "差评整改被申诉", f"评价人不认可{_rated(d)}的整改结果，请重新整改。",
        "Rectification contested", "The rater did not accept the rectification; it is reopened.",
    ),
    "rating.overdue": lambda d: (
        "差评整改逾期",
        f"{_rated(d)}的差评整改（{d.get('step_name', '')}）已逾期，应于 {d.get('due', '')} 前完成。",
        "Rectification overdue", f"A bad-rating rectification step ({d.get('step', '')}) is overdue since "
        f"{d.get('due', '')}.",
    ),
}


def staff_kind(kind: str) -> bool:
    return kind in STAFF_TEXTS


def render(kind: str, data: Mapping[str, Any], case_id: int | None) -> Text:
    """The texts of an event row. KeyError for a kind without texts (every kind has them: a test
    lists the kinds)."""
    renderer = CITIZEN_TEXTS.get(kind) or STAFF_TEXTS[kind]
    title, body, title_en, body_en = renderer(data)
    explicit = data.get("url")
    if isinstance(explicit, str) and explicit.startswith("/") and not explicit.startswith("//"):
        url = explicit[:200]  # the writer knows best where it leads (a rating's page)
    elif case_id is None:
        url = "/staff/ratings" if kind.startswith("rating.") and kind in STAFF_TEXTS else "/me/messages"
    else:
        url = f"/staff/cases/{case_id}" if kind in STAFF_TEXTS else f"/cases/{case_id}"
    return Text(title[:100], body, title_en[:100], body_en, url)
