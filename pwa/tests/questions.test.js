import { describe, it, expect } from "vitest";
import {
  walk, relevantAnswers, nextQuestion, previousQuestion, progress, normalise, validateAnswer,
} from "../src/questions.js";

const Q = [
  { code: "applicant", datatype: "single", required: true, options: [{ value: "person" }, { value: "company" }] },
  { code: "company_type", datatype: "single", required: true, options: [{ value: "llc" }, { value: "jv" }],
    ask_if: { q: "applicant", eq: "company" } },
  { code: "foreign", datatype: "single", required: true, options: [{ value: "yes" }, { value: "no" }],
    ask_if: { q: "company_type", eq: "jv" } },
  { code: "area", datatype: "number", required: false },
  { code: "scopes", datatype: "multi", required: true, options: [{ value: "food" }, { value: "drink" }] },
  { code: "food_permit_date", datatype: "date", required: true, ask_if: { q: "scopes", contains: "food" } },
];

describe("walk", () => {
  it("asks only questions whose ask_if holds on earlier answers", () => {
    expect(walk(Q, {}).asked).toEqual(["applicant", "area", "scopes"]);
    expect(walk(Q, { applicant: "company" }).asked).toEqual(["applicant", "company_type", "area", "scopes"]);
    expect(walk(Q, { applicant: "company", company_type: "jv", scopes: ["food"] }).asked).toEqual([
      "applicant", "company_type", "foreign", "area", "scopes", "food_permit_date",
    ]);
  });

  it("drops answers to questions no longer asked (changing an earlier answer)", () => {
    const answers = { applicant: "person", company_type: "jv", foreign: "yes", scopes: ["drink"] };
    expect(relevantAnswers(Q, answers)).toEqual({ applicant: "person", scopes: ["drink"] });
  });

  it("a chain collapses when its root changes", () => {
    // company_type is hidden, so foreign (which depends on it) is hidden too.
    expect(walk(Q, { applicant: "person", company_type: "jv" }).asked).not.toContain("foreign");
  });
});

describe("next / previous", () => {
  it("starts at the first asked question", () => {
    expect(nextQuestion(Q, {}, null)).toBe("applicant");
  });
  it("skips questions whose rule is false", () => {
    expect(nextQuestion(Q, { applicant: "person" }, "applicant")).toBe("area");
    expect(nextQuestion(Q, { applicant: "company" }, "applicant")).toBe("company_type");
    expect(nextQuestion(Q, { applicant: "company", company_type: "llc" }, "company_type")).toBe("area");
  });
  it("returns null after the last one", () => {
    expect(nextQuestion(Q, { applicant: "person", scopes: ["drink"] }, "scopes")).toBe(null);
    expect(nextQuestion(Q, { applicant: "person", scopes: ["food"] }, "scopes")).toBe("food_permit_date");
    expect(nextQuestion([], {}, null)).toBe(null);
  });
  it("previous goes back over skipped questions", () => {
    expect(previousQuestion(Q, { applicant: "person" }, "area")).toBe("applicant");
    expect(previousQuestion(Q, { applicant: "company", company_type: "llc" }, "area")).toBe("company_type");
    expect(previousQuestion(Q, {}, "applicant")).toBe(null);
  });
  it("progress counts asked questions", () => {
    expect(progress(Q, { applicant: "person" }, "area")).toEqual({ index: 2, total: 3 });
    expect(progress(Q, { applicant: "company" }, "area")).toEqual({ index: 3, total: 4 });
  });
});

describe("normalise and validate", () => {
  it("numbers", () => {
    const q = Q[3];
    expect(normalise(q, " 12.5 ")).toBe(12.5);
    expect(normalise(q, "")).toBe("");
    expect(Number.isNaN(normalise(q, "abc"))).toBe(true);
    expect(validateAnswer(q, normalise(q, "abc"))).toBe("ask.notNumber");
    expect(validateAnswer(q, "")).toBe(null); // optional
  });
  it("required single and multi", () => {
    expect(validateAnswer(Q[0], "")).toBe("ask.required");
    expect(validateAnswer(Q[0], "person")).toBe(null);
    expect(validateAnswer(Q[0], "robot")).toBe("ask.notOption");
    expect(validateAnswer(Q[4], normalise(Q[4], []))).toBe("ask.required");
    expect(validateAnswer(Q[4], ["food", "drink"])).toBe(null);
  });
  it("dates", () => {
    expect(validateAnswer(Q[5], "2024-02-30x")).toBe("ask.notDate");
    expect(validateAnswer(Q[5], "2024-02-03")).toBe(null);
  });
});
