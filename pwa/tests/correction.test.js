import { describe, it, expect } from "vitest";
import { clockView, correctionList, pauses, stillToFix } from "../src/correction.js";

const notice = { at: "2026-12-01T02:00:00Z", action: "request_correction", to_state: "correction_requested", data: { materials: [{ code: "photo", problem: "照片模糊" }] } };
const base = {
  state: "correction_requested",
  clock_paused: true,
  paused_days: 0,
  due_date: null,
  correction: [{ code: "photo", name: "近期免冠照片", problem: "照片模糊" }, { code: "form", name: "申请表", problem: "缺少签名" }],
  materials: [
    { code: "photo", name: "近期免冠照片", status: "attached", attached_at: "2026-11-30T01:00:00Z", filename: "old.jpg" },
    { code: "form", name: "申请表", status: "attached", attached_at: "2026-11-30T01:00:00Z", filename: "form.pdf" },
    { code: "id", name: "身份证", status: "spared", attached_at: null },
  ],
  timeline: [{ at: "2026-11-29T02:00:00Z", action: "submit" }, { at: "2026-11-30T02:00:00Z", action: "accept" }, notice],
};

describe("the correction list", () => {
  it("lists exactly the notice's materials with what is wrong; files from before the notice do not count", () => {
    const list = correctionList(base);
    expect(list.map((e) => [e.code, e.name, e.problem, e.fixed])).toEqual([
      ["photo", "近期免冠照片", "照片模糊", false],
      ["form", "申请表", "缺少签名", false],
    ]);
    expect(stillToFix(list)).toHaveLength(2);
  });
  it("a file uploaded since the notice fixes its material", () => {
    const c = { ...base, materials: base.materials.map((m) => (m.code === "photo" ? { ...m, attached_at: "2026-12-02T01:00:00Z", filename: "new.jpg" } : m)) };
    const list = correctionList(c);
    expect(list.map((e) => [e.code, e.fixed, e.filename])).toEqual([["photo", true, "new.jpg"], ["form", false, ""]]);
    expect(stillToFix(list).map((e) => e.code)).toEqual(["form"]);
  });
  it("no notice waiting: nothing to fix", () => {
    expect(correctionList({ ...base, correction: null })).toEqual([]);
    expect(correctionList(null)).toEqual([]);
  });
});

describe("the clock", () => {
  it("stands still while the case waits for the citizen", () => {
    expect(clockView(base)).toMatchObject({ paused: true, reason: "correction", pausedDays: 0 });
  });
  it("says which special procedure stopped it", () => {
    const c = { state: "suspended", clock_paused: true, paused_days: 2, timeline: [{ action: "suspend", at: "2026-12-01T00:00:00Z", data: { procedure: "专家评审", reason: "x" } }] };
    expect(clockView(c)).toMatchObject({ paused: true, reason: "procedure", procedure: "专家评审", pausedDays: 2 });
  });
  it("running again: the pauses so far, each with its start and end", () => {
    const c = {
      state: "in_review", clock_paused: false, paused_days: 3, due_date: "2026-12-20",
      timeline: [notice, { action: "resupply", at: "2026-12-03T00:00:00Z" }, { action: "suspend", at: "2026-12-05T00:00:00Z", data: { procedure: "听证" } }],
    };
    expect(clockView(c)).toMatchObject({ paused: false, reason: null, pausedDays: 3, dueDate: "2026-12-20" });
    expect(pauses(c)).toEqual([
      { reason: "correction", procedure: "", from: notice.at, to: "2026-12-03T00:00:00Z" },
      { reason: "procedure", procedure: "听证", from: "2026-12-05T00:00:00Z", to: null },
    ]);
  });
});
