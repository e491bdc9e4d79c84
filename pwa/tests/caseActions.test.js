// What the screens offer comes from the server's `allowed_actions` alone (DESIGN §7).
import { describe, it, expect } from "vitest";
import { may, actionsOf, draftActions } from "../src/caseActions.js";

describe("allowed actions of a case", () => {
  it("an action is offered only when the case lists it, whatever its state", () => {
    const submitted = { state: "submitted", allowed_actions: ["withdraw"] };
    expect(may(submitted, "withdraw")).toBe(true);
    expect(may(submitted, "update")).toBe(false);
    // The state is not read: the server may refuse a withdrawal its rules do not allow …
    expect(may({ state: "accepted", allowed_actions: [] }, "withdraw")).toBe(false);
    // … and offer one in a state the PWA knows nothing about.
    expect(may({ state: "new_state", allowed_actions: ["withdraw"] }, "withdraw")).toBe(true);
  });

  it("unknown actions are ignored, and known ones still count next to them", () => {
    const c = { state: "correction_requested", allowed_actions: ["resupply", "rate", "withdraw"] };
    expect(may(c, "withdraw")).toBe(true);
    expect(may(c, "submit")).toBe(false);
  });

  it("a case that does not say (an older answer, a copy kept offline) allows nothing", () => {
    for (const c of [{ state: "submitted" }, { state: "draft", allowed_actions: null }, { allowed_actions: "withdraw" }, null, undefined]) {
      for (const a of ["update", "submit", "discard", "withdraw"]) expect(may(c, a)).toBe(false);
    }
  });

  it("keeps the list as a draft stores it (null when not said)", () => {
    expect(actionsOf({ allowed_actions: ["update", "submit", 3, "discard"] })).toEqual(["update", "submit", "discard"]);
    expect(actionsOf({ allowed_actions: [] })).toEqual([]);
    expect(actionsOf({ state: "draft" })).toBeNull();
  });
});

describe("what the apply screens offer for a draft on the phone", () => {
  it("all of it before there is a server case (the outbox makes one; the server judges then)", () => {
    expect(draftActions({ caseId: null, allowedActions: null })).toEqual({ update: true, submit: true, discard: true, known: true });
  });

  it("once there is a server case, what it allows", () => {
    expect(draftActions({ caseId: 7, allowedActions: ["update", "submit", "discard"] })).toEqual({ update: true, submit: true, discard: true, known: true });
    expect(draftActions({ caseId: 7, allowedActions: ["update", "discard"] })).toEqual({ update: true, submit: false, discard: true, known: true });
    expect(draftActions({ caseId: 7, allowedActions: ["withdraw"] })).toEqual({ update: false, submit: false, discard: false, known: true });
  });

  it("a server case whose allowed actions are not stored yet offers nothing", () => {
    expect(draftActions({ caseId: 7 })).toEqual({ update: false, submit: false, discard: false, known: false });
    expect(draftActions(null)).toEqual({ update: false, submit: false, discard: false, known: false });
  });
});
