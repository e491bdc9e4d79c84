import { describe, it, expect } from "vitest";
import { signInContext } from "../src/signInContext.js";

describe("sign-in context", () => {
  it("an application names its item and goes back to its material list", () => {
    expect(signInContext("/items/511F-ABC/apply")).toEqual({
      key: "auth.why.apply", code: "511F-ABC", lookup: "item", back: "/items/511F-ABC/materials",
    });
  });
  it("a bundle names its life event and goes back to it", () => {
    expect(signInContext("/life-events/newborn/bundle")).toMatchObject({ key: "auth.why.bundle", code: "newborn", lookup: "lifeEvent", back: "/life-events/newborn" });
  });
  it("other signed-in pages say what they are", () => {
    expect(signInContext("/cases/12").key).toBe("auth.why.cases");
    expect(signInContext("/certificates").key).toBe("auth.why.certificates");
    expect(signInContext("/me").back).toBe("/");
  });
  it("nothing, or somewhere outside the app: no reason, back home", () => {
    for (const r of [undefined, "", "//evil.example/items/x/apply", "https://x/items/a/apply", ["/me"]]) {
      expect(signInContext(r)).toEqual({ key: null, code: "", lookup: null, back: "/" });
    }
  });
  it("a malformed escape is not a crash", () => {
    expect(signInContext("/items/%E0%A4%A/apply")).toMatchObject({ key: "auth.why.apply", code: "", lookup: null });
  });
});
