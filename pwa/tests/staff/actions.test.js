import { describe, expect, it } from "vitest";
import { actionBody, actionForKey, changesSince, emptyForm, fieldShown, formErrors, sortActions } from "../../src/staff/actions.js";

// As GET /cases/{id}/actions answers (api/workflow/services.actions_for).
const ACTIONS = [
  { action: "comment", name: "内部意见", to_state: null, fields: [{ name: "text", kind: "text", required: true }] },
  { action: "refuse", name: "不予受理", to_state: "refused", fields: [{ name: "reason", kind: "text", required: true }] },
  { action: "accept", name: "受理", to_state: "accepted", fields: [] },
  { action: "request_correction", name: "一次性告知补正", to_state: "correction_requested", fields: [{ name: "materials", kind: "materials", required: true }, { name: "reason", kind: "text", required: false }] },
  { action: "unknown_new", name: "新操作", to_state: null, fields: [] },
];
const EXTEND = { action: "extend", name: "延长办理期限", to_state: null, fields: [{ name: "days", kind: "integer", required: true }, { name: "reason", kind: "text", required: true }] };

describe("actions from the server", () => {
  it("orders the main actions first and keeps unknown ones at the end", () => {
    expect(sortActions(ACTIONS).map((a) => a.action)).toEqual(["accept", "request_correction", "refuse", "comment", "unknown_new"]);
  });

  it("maps a key to an offered action only", () => {
    expect(actionForKey("a", ACTIONS)).toBe("accept");
    expect(actionForKey("C", ACTIONS)).toBe("request_correction");
    expect(actionForKey("p", ACTIONS)).toBeNull(); // approve is not offered
    expect(actionForKey("a", [])).toBeNull();
  });

  it("builds the form and the body from the fields the action needs", () => {
    expect(emptyForm(EXTEND)).toEqual({ days: null, reason: "" });
    expect(formErrors(EXTEND, { days: null, reason: " " })).toEqual({ days: "required", reason: "required" });
    expect(formErrors(EXTEND, { days: 400, reason: "x" })).toEqual({ days: "integerRange" });
    expect(formErrors(EXTEND, { days: 3, reason: "x" })).toEqual({});
    expect(actionBody(EXTEND, { days: "3", reason: " 需要专家评审 " }, 7)).toEqual({ version: 7, days: 3, reason: "需要专家评审" });
    const rc = ACTIONS[3];
    expect(formErrors(rc, { reason: "" })).toEqual({});
    expect(actionBody(rc, { reason: "" }, 2, [{ code: "a", problem: "b" }])).toEqual({ version: 2, materials: [{ code: "a", problem: "b" }] });
    expect(actionBody(ACTIONS[2], {}, 4)).toEqual({ version: 4 });
  });

  it("asks for the carrier and a waybill number for express delivery only", () => {
    const choices = [{ value: "electronic", name: "电子送达" }, { value: "window", name: "窗口领取" }, { value: "express", name: "邮寄送达" }];
    const deliver = { action: "deliver", name: "送达办结", to_state: "delivered", fields: [
      { name: "method", kind: "choice", required: true, choices },
      { name: "carrier", kind: "text", required: false },
      { name: "tracking_number", kind: "text", required: false }] };
    const form = emptyForm(deliver);
    expect(formErrors(deliver, form)).toEqual({ method: "choose" });
    expect(formErrors(deliver, { ...form, method: "pigeon" })).toEqual({ method: "choose" });
    expect(fieldShown(deliver.fields[1], { method: "window" })).toBe(false);
    expect(formErrors(deliver, { method: "window", carrier: "", tracking_number: "" })).toEqual({});
    expect(formErrors(deliver, { method: "express", carrier: " ", tracking_number: "" })).toEqual({ carrier: "required", tracking_number: "required" });
    expect(formErrors(deliver, { method: "express", carrier: "顺丰速运", tracking_number: "SF 123" })).toEqual({ tracking_number: "trackingNumber" });
    expect(formErrors(deliver, { method: "express", carrier: "顺丰速运", tracking_number: "SF1234567890" })).toEqual({});
    // A carrier typed before switching to window pick-up is not sent.
    expect(actionBody(deliver, { method: "window", carrier: "顺丰速运", tracking_number: "SF1234567890" }, 9)).toEqual({ version: 9, method: "window" });
    expect(actionBody(deliver, { method: "express", carrier: " 顺丰速运 ", tracking_number: "SF1234567890" }, 9)).toEqual({
      version: 9, method: "express", carrier: "顺丰速运", tracking_number: "SF1234567890" });
  });

  it("says who did what since the version seen (after a 409)", () => {
    const before = { version: 3, timeline: [{ at: "t1", action: "submit", action_name: "提交申请", state_name: "已提交" }] };
    const after = { version: 4, timeline: [...before.timeline, { at: "t2", action: "accept", action_name: "受理", actor_name: "演示受理员 W07", state_name: "已受理" }] };
    expect(changesSince(before, after)).toEqual([{ at: "t2", action: "accept", name: "受理", actor: "演示受理员 W07", state: "已受理" }]);
    expect(changesSince(after, after)).toEqual([]);
  });
});
