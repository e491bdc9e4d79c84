import { describe, it, expect } from "vitest";
import { audienceOf, casesFilterOf, readSubject, stillBound, writeSubject } from "../src/subject.js";

function memStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}
const company = { uscc: "91511902MB9000015E", name: "巴中市示范商贸有限公司" };

describe("enterprise mode", () => {
  it("is remembered for the citizen who chose it, and nobody else on the phone", () => {
    const s = memStorage();
    writeSubject("citizen:1", company, s);
    expect(readSubject("citizen:1", s)).toEqual(company);
    expect(readSubject("citizen:2", s)).toBe(null);
    expect(readSubject(null, s)).toBe(null);
    writeSubject("citizen:1", null, s);
    expect(readSubject("citizen:1", s)).toBe(null);
  });
  it("an enterprise no longer bound is dropped", () => {
    expect(stillBound(company, [{ uscc: company.uscc, name: "新名称" }])).toEqual({ uscc: company.uscc, name: "新名称" });
    expect(stillBound(company, [])).toBe(null);
    expect(stillBound(null, [company])).toBe(null);
  });
  it("the catalog and my cases follow the choice", () => {
    expect([audienceOf(null), casesFilterOf(null)]).toEqual(["natural_person", "self"]);
    expect([audienceOf(company), casesFilterOf(company)]).toEqual(["legal_person", company.uscc]);
  });
  it("damaged storage means acting as a person", () => {
    const s = memStorage();
    s.setItem("zw.subject", "{nope");
    expect(readSubject("citizen:1", s)).toBe(null);
  });
});
