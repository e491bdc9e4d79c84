import { describe, expect, it } from "vitest";
import { filtersFromQuery, filtersToQuery, queueParams, dueTone, weekdaysBetween, stateTabs, appendPage, sameFilters, chinaDay } from "../../src/staff/queue.js";

describe("queue filters", () => {
  it("reads the URL's query, dropping what is malformed", () => {
    expect(filtersFromQuery({ state: "submitted", item: " 511A ", due_before: "2026-12-31", overdue: "1", mine: "true" }))
      .toEqual({ state: "submitted", item: "511A", due_before: "2026-12-31", overdue: true, mine: true });
    expect(filtersFromQuery({ state: "DROP TABLE", due_before: "31/12/2026", overdue: "yes", item: ["a", "b"] }))
      .toEqual({ state: "", item: "a", due_before: "", overdue: false, mine: false });
    expect(filtersFromQuery()).toEqual({ state: "", item: "", due_before: "", overdue: false, mine: false });
  });

  it("writes only what is set, and round-trips", () => {
    const f = { state: "in_review", item: "", due_before: "", overdue: true, mine: false };
    expect(filtersToQuery(f)).toEqual({ state: "in_review", overdue: "1" });
    expect(filtersFromQuery(filtersToQuery(f))).toEqual(f);
    expect(filtersToQuery(filtersFromQuery({}))).toEqual({});
  });

  it("asks the API with booleans as true and the cursor for the next page", () => {
    const f = { state: "", item: "X1", due_before: "2027-01-05", overdue: false, mine: true };
    expect(queueParams(f)).toEqual({ limit: 20, item: "X1", due_before: "2027-01-05", mine: "true" });
    expect(queueParams(f, "abc", 5)).toEqual({ limit: 5, item: "X1", due_before: "2027-01-05", mine: "true", cursor: "abc" });
  });

  it("knows when two filter sets ask for the same queue", () => {
    expect(sameFilters({ state: "a", overdue: false }, { state: "a", mine: false })).toBe(true);
    expect(sameFilters({ state: "a" }, { state: "b" })).toBe(false);
  });
});

describe("due-date colours", () => {
  // 2026-12-04 is a Friday.
  const friday = "2026-12-04";
  it("counts weekdays, skipping the weekend", () => {
    expect(weekdaysBetween(friday, "2026-12-07")).toBe(1); // Monday
    expect(weekdaysBetween(friday, "2026-12-08")).toBe(2);
    expect(weekdaysBetween(friday, friday)).toBe(0);
    expect(weekdaysBetween(friday, "2026-12-02")).toBe(-2);
  });

  it("is overdue past the day, a warning with a working day or less left, else normal", () => {
    expect(dueTone("2026-12-03", friday)).toBe("overdue");
    expect(dueTone(friday, friday)).toBe("warning"); // due today
    expect(dueTone("2026-12-07", friday)).toBe("warning"); // Monday: one working day
    expect(dueTone("2026-12-08", friday)).toBe("normal");
    expect(dueTone("2026-12-08", friday, { warnDays: 2 })).toBe("warning");
    expect(dueTone(null, friday)).toBe("none");
    expect(dueTone("2026-12-31", friday, { overdue: true })).toBe("overdue"); // the server's word wins
    expect(dueTone("2026-12-31T00:00:00Z", friday)).toBe("normal");
  });

  it("takes the day in China time", () => {
    expect(chinaDay(new Date("2026-12-04T16:30:00Z"))).toBe("2026-12-05");
    expect(chinaDay(new Date("2026-12-04T15:59:00Z"))).toBe("2026-12-04");
  });
});

describe("state tabs and pages", () => {
  it("lists the role's states first, then any other the counts name", () => {
    expect(stateTabs({ denied: 2, submitted: 5, suspended: 1 }, ["submitted", "approved", "denied"])).toEqual([
      { state: "submitted", count: 5 }, { state: "approved", count: 0 }, { state: "denied", count: 2 }, { state: "suspended", count: 1 },
    ]);
  });
  it("keeps the first of a case seen twice across pages", () => {
    expect(appendPage([{ id: 1 }, { id: 2 }], [{ id: 2, x: 1 }, { id: 3 }])).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });
});
