import { describe, expect, it } from "vitest";
import { createIdleWatch, ACTIVITY_KEY, IDLE_LIMIT_MS } from "../../src/staff/idle.js";
import { createNotes } from "../../src/staff/notes.js";
import { staffStorage, STAFF_TOKENS_KEY } from "../../src/staff/api.js";
import { TOKENS_KEY } from "../../src/api.js";
import { menusFor, homeOf, allowed } from "../../src/staff/menus.js";
import { problemKey, problemsByKey, tabOf, rowProblems } from "../../src/staff/problems.js";

function memory() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), m };
}

describe("signing out after inactivity", () => {
  it("ends the session once the last activity of any tab is older than the limit", () => {
    const storage = memory();
    let now = 1_000_000;
    let ended = 0;
    const watch = createIdleWatch({ storage, now: () => now, onIdle: () => (ended += 1) });
    watch.touch(true);
    now += IDLE_LIMIT_MS - 1;
    expect(watch.check()).toBe(false);
    // another tab was active meanwhile: it wrote the shared key
    storage.setItem(ACTIVITY_KEY, String(now));
    now += IDLE_LIMIT_MS - 1;
    expect(watch.check()).toBe(false);
    now += 2;
    expect(watch.check()).toBe(true);
    expect(ended).toBe(1);
    expect(storage.getItem(ACTIVITY_KEY)).toBeNull();
  });

  it("writes activity at most every 5 s", () => {
    const storage = memory();
    let now = 10_000;
    const watch = createIdleWatch({ storage, now: () => now });
    watch.touch();
    now += 1000;
    watch.touch();
    expect(storage.getItem(ACTIVITY_KEY)).toBe("10000");
    now += 5000;
    watch.touch();
    expect(storage.getItem(ACTIVITY_KEY)).toBe("16000");
  });
});

describe("typed text kept until sent", () => {
  it("keeps a form per staff member, case and action, and forgets an empty one", () => {
    const storage = memory();
    const notes = createNotes(storage);
    notes.keep("clerk-W07", 5, "refuse", { reason: "材料不全" });
    expect(notes.load("clerk-W07", 5, "refuse")).toEqual({ reason: "材料不全" });
    expect(notes.load("clerk-W08", 5, "refuse")).toBeNull();
    notes.keep("clerk-W07", 5, "refuse", { reason: "" });
    expect(notes.load("clerk-W07", 5, "refuse")).toBeNull();
    notes.keep("clerk-W07", 6, "refuse", { form: { reason: "虚假材料" }, ticks: undefined });
    expect(notes.load("clerk-W07", 6, "refuse")).toEqual({ form: { reason: "虚假材料" } });
    notes.keep("clerk-W07", 6, "refuse", { form: { reason: " " }, ticks: { a: { checked: false, problem: "" } } });
    expect(notes.load("clerk-W07", 6, "refuse")).toBeNull();
    notes.keep("clerk-W07", 5, "request_correction", { form: { reason: "" }, ticks: { a: { checked: true, problem: "" } } });
    expect(notes.load("clerk-W07", 5, "request_correction")).not.toBeNull();
    notes.forget("clerk-W07", 5, "request_correction");
    expect(notes.load("clerk-W07", 5, "request_correction")).toBeNull();
  });
});

describe("the staff session's own storage and menus", () => {
  it("keeps the staff tokens apart from a citizen's", () => {
    const base = memory();
    const s = staffStorage(base);
    s.setItem(TOKENS_KEY, "staff-pair");
    expect(base.getItem(STAFF_TOKENS_KEY)).toBe("staff-pair");
    expect(base.getItem(TOKENS_KEY)).toBeNull();
  });

  it("draws the menus from the role, without the screens whose APIs are not there yet", () => {
    expect(menusFor("clerk").map((m) => m.key)).toEqual(["queue", "walkIn"]);
    expect(menusFor("admin").map((m) => m.key)).toEqual(["items", "import", "organisation", "staff", "calendar", "audit"]);
    expect(menusFor("citizen")).toEqual([]);
    expect(homeOf("admin")).toBe("/admin/items");
    expect(homeOf("officer")).toBe("/queue");
    expect(allowed({ roles: ["clerk"] }, "officer")).toBe(false);
    expect(allowed({}, "officer")).toBe(true);
  });
});

describe("publishing problems at their fields", () => {
  const problems = [
    { where: "items[511A]", field: "name", message: "事项名称不能为空" },
    { where: "items[511A]/situations[new]", field: "rule", message: "规则无效" },
    { where: "items[511A]/situations[new]/materials[id_card]", field: "certificate_type", message: "未知的证照类型" },
    { where: "items[511A]/questions[q1]", field: "options", message: "至少两个选项" },
    { where: "items[511A]/flow[review]", field: "limit", message: "时限" },
    { where: "items[511A]", field: "flow", message: "流程必须从「受理」环节开始" },
  ];
  it("keys each problem by its place in the editor", () => {
    expect(problems.map(problemKey)).toEqual(["basic.name", "situations.new.rule", "situations.new.materials.id_card.certificate_type", "questions.q1.options", "flow.review.limit", "basic.flow"]);
    expect(problems.map((p) => tabOf(problemKey(p)))).toEqual(["basic", "situations", "situations", "questions", "flow", "flow"]);
  });
  it("groups them and finds a row's own", () => {
    const by = problemsByKey(problems);
    expect(by["basic.name"]).toEqual(["事项名称不能为空"]);
    expect(rowProblems(by, "situations.new").map((p) => p.key)).toEqual(["situations.new.rule", "situations.new.materials.id_card.certificate_type"]);
    expect(rowProblems(by, "situations.old")).toEqual([]);
  });
});
