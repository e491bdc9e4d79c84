import { describe, it, expect } from "vitest";
import { materialBadges } from "../src/materials.js";

describe("material badges", () => {
  it("upload by default", () => {
    expect(materialBadges({ source: "applicant", bring_original: false })).toEqual(["upload"]);
  });
  it("fetched certificate", () => {
    expect(materialBadges({ source: "certificate", bring_original: false })).toEqual(["certificate"]);
  });
  it("bring the original", () => {
    expect(materialBadges({ source: "applicant", bring_original: true })).toEqual(["original"]);
    expect(materialBadges({ source: "certificate", bring_original: true })).toEqual(["certificate", "original"]);
  });
});
