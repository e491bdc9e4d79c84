import { describe, it, expect } from "vitest";
import { codeProblem, idCheckDigit, idNumberProblem, normaliseId, phoneProblem, usccProblem } from "../src/idnumber.js";

describe("GB 11643 resident ID numbers", () => {
  it("computes the check character (including X and 0)", () => {
    expect(idCheckDigit("11010519491231002")).toBe("X");
    expect(idCheckDigit("44052418800101001")).toBe("4");
    expect(idCheckDigit("11010119900307007")).toBe("0");
    expect(idCheckDigit("11010119900307001")).toBe("1");
  });

  it("accepts valid numbers, lower-case x and spaces", () => {
    expect(idNumberProblem("11010519491231002X")).toBe("");
    expect(idNumberProblem("11010519491231002x")).toBe("");
    expect(idNumberProblem(" 110105 19491231 002X ")).toBe("");
    expect(idNumberProblem("440524188001010014")).toBe("");
  });

  it("rejects a wrong check digit", () => {
    expect(idNumberProblem("110105194912310021")).toBe("id.checksum");
    expect(idNumberProblem("440524188001010015")).toBe("id.checksum");
  });

  it("rejects the wrong shape", () => {
    for (const v of ["", "123", "11010519491231002", "11010519491231002XX", "1101051949123100XX", "A1010519491231002X", null, undefined]) {
      expect(idNumberProblem(v)).toBe("id.format");
    }
  });

  it("leaves region and birth date to the server", () => {
    // Region 99 does not exist, but the check digit is right: the server's message will be shown.
    const first17 = "99010519491231002";
    expect(idNumberProblem(first17 + idCheckDigit(first17))).toBe("");
  });

  it("normalises", () => {
    expect(normaliseId(" 11010519491231002x ")).toBe("11010519491231002X");
  });
});

describe("other fields", () => {
  it("mobile numbers", () => {
    expect(phoneProblem("13800138000")).toBe("");
    expect(phoneProblem(" 19912345678 ")).toBe("");
    for (const v of ["", "1380013800", "23800138000", "12800138000", "138001380001", "1380013800a"]) expect(phoneProblem(v)).toBe("auth.phoneInvalid");
  });

  it("codes", () => {
    expect(codeProblem("012345")).toBe("");
    for (const v of ["", "12345", "1234567", "12345a"]) expect(codeProblem(v)).toBe("auth.codeInvalid");
  });

  it("unified social credit codes", () => {
    expect(usccProblem("91110000802100433B")).toBe("");
    expect(usccProblem("91110000802100433b")).toBe("");
    expect(usccProblem("9111000080210043")).toBe("me.usccFormat");
    expect(usccProblem("91110000802100433I")).toBe("me.usccFormat");
  });
});
