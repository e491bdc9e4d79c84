import { describe, it, expect } from "vitest";
import { materialInstruction, INSTRUCTION_STYLE } from "../src/materials.js";

describe("one instruction a material", () => {
  it("upload by default", () => {
    expect(materialInstruction({ source: "applicant", bring_original: false })).toBe("upload");
  });
  it("a fetched certificate is not uploaded", () => {
    expect(materialInstruction({ source: "certificate", bring_original: false })).toBe("certificate");
  });
  it("an original to bring, and a fetched certificate whose original is shown on the visit: one instruction each", () => {
    expect(materialInstruction({ source: "applicant", bring_original: true })).toBe("original");
    expect(materialInstruction({ source: "certificate", bring_original: true })).toBe("certificateOriginal");
  });
  it("reads the apply checklist's shape too", () => {
    expect(materialInstruction({ source: "certificate", bringOriginal: true })).toBe("certificateOriginal");
    expect(materialInstruction({ source: "applicant", bringOriginal: false })).toBe("upload");
  });
  it("every instruction has its words and an icon", () => {
    for (const k of ["certificate", "certificateOriginal", "original", "upload"]) {
      expect(INSTRUCTION_STYLE[k].key).toMatch(/^list\./);
      expect(INSTRUCTION_STYLE[k].icon).toBeTruthy();
    }
  });
});
