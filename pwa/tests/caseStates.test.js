import { describe, it, expect } from "vitest";
import {
  STATES, stateView, stateText, showsPromised, timelineRows, formatDateTime, formatDate, chinaDay,
  promisedStatus, formatSize,
} from "../src/caseStates.js";
import zh from "../src/locales/cases.zh-CN.js";
import en from "../src/locales/cases.en.js";

const lookup = (messages) => {
  const get = (k) => k.split(".").reduce((o, p) => (o == null ? undefined : o[p]), messages);
  return { t: (k) => get(k), te: (k) => typeof get(k) === "string" };
};

describe("state presentation", () => {
  it("every state has a symbol and words in both languages (never colour alone)", () => {
    for (const state of Object.keys(STATES)) {
      const v = stateView(state, "");
      expect(v.icon).toBeTruthy();
      for (const m of [zh, en]) {
        const { t, te } = lookup(m);
        expect(stateText(v, t, te)).toBeTruthy();
      }
    }
  });

  it("the API's Chinese names agree with ours for the states it has", () => {
    const { t, te } = lookup(zh);
    // api/cases/models.py STATE_NAMES
    expect(stateText(stateView("draft"), t, te)).toBe("草稿");
    expect(stateText(stateView("submitted"), t, te)).toBe("已提交，等待受理");
    expect(stateText(stateView("withdrawn"), t, te)).toBe("已撤回");
  });

  it("an unknown state shows the API's name with a neutral symbol", () => {
    const v = stateView("archived", "已归档");
    const { t, te } = lookup(en);
    expect(v).toMatchObject({ icon: "dot", tone: "grey", key: null });
    expect(stateText(v, t, te)).toBe("已归档");
    expect(stateView("constructor").key).toBe(null); // no prototype keys
  });

  it("an expected completion date only where it means something", () => {
    for (const s of ["submitted", "in_review", "approved", "delivered"]) expect(showsPromised(s)).toBe(true);
    for (const s of ["draft", "withdrawn", "refused"]) expect(showsPromised(s)).toBe(false);
  });
});

describe("timeline", () => {
  it("newest first, the newest current; both event shapes", () => {
    const rows = timelineRows([
      { at: "2026-11-28T02:00:00Z", action: "submit", action_name: "提交申请", from_state: "draft", to_state: "submitted", state_name: "已提交，等待受理" },
      { at: "2026-11-28T03:30:00Z", action: "withdraw", action_name: "撤回申请", state: "withdrawn", state_name: "已撤回" },
    ]);
    expect(rows.map((r) => [r.action, r.state, r.current])).toEqual([["withdraw", "withdrawn", true], ["submit", "submitted", false]]);
    expect(rows[0].view.icon).toBe("undo");
    expect(rows[1].actionName).toBe("提交申请");
  });

  it("equal times keep the server's order (reversed), nothing breaks on bad input", () => {
    const at = "2026-11-28T02:00:00Z";
    expect(timelineRows([{ at, action: "a", state: "x" }, { at, action: "b", state: "y" }]).map((r) => r.action)).toEqual(["b", "a"]);
    expect(timelineRows(null)).toEqual([]);
    expect(timelineRows([{ at: "nonsense", action: "c" }])[0]).toMatchObject({ action: "c", actionName: "c", state: "", current: true });
  });
});

describe("dates and sizes", () => {
  it("times in China time", () => {
    expect(formatDateTime("2026-11-27T16:30:00Z")).toBe("2026-11-28 00:30");
    expect(formatDateTime("2026-11-28T10:05:00+08:00")).toBe("2026-11-28 10:05");
    expect(formatDateTime("bad")).toBe("");
    expect(chinaDay(new Date("2026-11-27T16:30:00Z"))).toBe("2026-11-28");
  });

  it("calendar dates in words", () => {
    expect(formatDate("2026-12-03", "zh-CN")).toBe("2026年12月3日");
    expect(formatDate("2026-12-03", "en")).toBe("3 Dec 2026");
    expect(formatDate(null)).toBe("");
  });

  it("days left until the promised date, none once decided", () => {
    expect(promisedStatus("2026-12-03", "submitted", "2026-11-28")).toEqual({ days: 5 });
    expect(promisedStatus("2026-11-28", "in_review", "2026-11-28")).toEqual({ days: 0 });
    expect(promisedStatus("2026-11-20", "submitted", "2026-11-28")).toEqual({ overdue: 8 });
    for (const s of ["withdrawn", "delivered", "approved", "draft"]) expect(promisedStatus("2026-12-03", s, "2026-11-28")).toBe(null);
    expect(promisedStatus(null, "submitted")).toBe(null);
  });

  it("file sizes", () => {
    expect(formatSize(900)).toBe("900 B");
    expect(formatSize(350 * 1024)).toBe("350 KB");
    expect(formatSize(1.25 * 1024 * 1024)).toBe("1.3 MB");
    expect(formatSize(null)).toBe("");
  });
});
