import { describe, it, expect } from "vitest";
import { evaluate, RuleError, pyEqual, pyCompare, isAnswered } from "../src/rules.js";

// Cases mirror tests/test_rules.py semantics of api/catalog/rules.py.
describe("evaluate", () => {
  const answers = {
    applicant: "company",
    change: "address",
    area: 200,
    items: ["food", "drink"],
    born: "2020-05-01",
    empty: "",
    none: null,
    nothing: [],
    zero: 0,
    no: false,
  };

  it("null rule always holds", () => {
    expect(evaluate(null, {})).toBe(true);
    expect(evaluate(undefined, answers)).toBe(true);
  });

  it("eq / ne", () => {
    expect(evaluate({ q: "applicant", eq: "company" }, answers)).toBe(true);
    expect(evaluate({ q: "applicant", eq: "person" }, answers)).toBe(false);
    expect(evaluate({ q: "applicant", ne: "person" }, answers)).toBe(true);
    expect(evaluate({ q: "applicant", ne: "company" }, answers)).toBe(false);
  });

  it("unanswered questions make comparisons false, even ne", () => {
    expect(evaluate({ q: "missing", ne: "x" }, answers)).toBe(false);
    expect(evaluate({ q: "empty", eq: "" }, answers)).toBe(false);
    expect(evaluate({ q: "none", eq: null }, answers)).toBe(false);
    expect(evaluate({ q: "nothing", contains: "a" }, answers)).toBe(false);
  });

  it("0 and false are answers", () => {
    expect(evaluate({ q: "zero", eq: 0 }, answers)).toBe(true);
    expect(evaluate({ q: "no", eq: false }, answers)).toBe(true);
    expect(evaluate({ q: "zero", answered: true }, answers)).toBe(true);
  });

  it("in", () => {
    expect(evaluate({ q: "change", in: ["name", "address"] }, answers)).toBe(true);
    expect(evaluate({ q: "change", in: ["name"] }, answers)).toBe(false);
  });

  it("numeric comparisons, with Python's 1 == 1.0 == True", () => {
    expect(evaluate({ q: "area", gte: 150 }, answers)).toBe(true);
    expect(evaluate({ q: "area", gt: 200 }, answers)).toBe(false);
    expect(evaluate({ q: "area", gte: 200.0 }, answers)).toBe(true);
    expect(evaluate({ q: "area", lt: 150 }, answers)).toBe(false);
    expect(evaluate({ q: "area", lte: 200 }, answers)).toBe(true);
    expect(evaluate({ q: "x", eq: 1 }, { x: 1.0 })).toBe(true);
    expect(evaluate({ q: "x", eq: true }, { x: 1 })).toBe(true);
  });

  it("ISO dates compare as strings", () => {
    expect(evaluate({ q: "born", gte: "2020-01-01" }, answers)).toBe(true);
    expect(evaluate({ q: "born", lt: "2020-05-01" }, answers)).toBe(false);
  });

  it("ordering a string against a number is false (Python TypeError)", () => {
    expect(evaluate({ q: "born", gt: 5 }, answers)).toBe(false);
    expect(evaluate({ q: "area", lt: "300" }, answers)).toBe(false);
  });

  it("contains needs a list answer", () => {
    expect(evaluate({ q: "items", contains: "food" }, answers)).toBe(true);
    expect(evaluate({ q: "items", contains: "tobacco" }, answers)).toBe(false);
    expect(evaluate({ q: "applicant", contains: "com" }, answers)).toBe(false);
  });

  it("answered", () => {
    expect(evaluate({ q: "applicant", answered: true }, answers)).toBe(true);
    expect(evaluate({ q: "missing", answered: false }, answers)).toBe(true);
    expect(evaluate({ q: "empty", answered: false }, answers)).toBe(true);
    expect(evaluate({ q: "nothing", answered: true }, answers)).toBe(false);
  });

  it("all / any / not", () => {
    const yes = { q: "applicant", eq: "company" };
    const no = { q: "applicant", eq: "person" };
    expect(evaluate({ all: [yes, yes] }, answers)).toBe(true);
    expect(evaluate({ all: [yes, no] }, answers)).toBe(false);
    expect(evaluate({ any: [no, yes] }, answers)).toBe(true);
    expect(evaluate({ any: [no, no] }, answers)).toBe(false);
    expect(evaluate({ not: no }, answers)).toBe(true);
    expect(evaluate({ not: { all: [yes, { not: no }] } }, answers)).toBe(false);
  });

  it("an unknown comparison raises RuleError", () => {
    expect(() => evaluate({ q: "applicant", like: "c%" }, answers)).toThrow(RuleError);
  });

  it("a comparison against an unanswered question is false before it is checked", () => {
    // Python returns False for absent answers before looking at the operator.
    expect(evaluate({ q: "missing", like: "x" }, answers)).toBe(false);
  });
});

describe("helpers", () => {
  it("pyEqual is deep", () => {
    expect(pyEqual(["a", 1], ["a", 1.0])).toBe(true);
    expect(pyEqual({ a: [1] }, { a: [1] })).toBe(true);
    expect(pyEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(pyEqual("1", 1)).toBe(false);
  });
  it("pyCompare", () => {
    expect(pyCompare(1, 2)).toBe(-1);
    expect(pyCompare("b", "a")).toBe(1);
    expect(pyCompare([1, 2], [1, 3])).toBe(-1);
    expect(pyCompare("a", 1)).toBe(null);
    expect(pyCompare({}, {})).toBe(null);
  });
  it("isAnswered", () => {
    expect(isAnswered({ a: "x" }, "a")).toBe(true);
    expect(isAnswered({ a: [] }, "a")).toBe(false);
    expect(isAnswered({}, "a")).toBe(false);
    expect(isAnswered({ toString: "x" }, "valueOf")).toBe(false);
  });
});

describe("parity with api/catalog/rules.py", () => {
  it("agrees with the server's evaluator on generated cases", async () => {
    const { readFileSync } = await import("node:fs");
    const cases = JSON.parse(readFileSync(new URL("./fixtures/rule-cases.json", import.meta.url), "utf8"));
    expect(cases.length).toBeGreaterThan(1000);
    const wrong = cases.filter((c) => evaluate(c.rule, c.answers) !== c.expected);
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});
