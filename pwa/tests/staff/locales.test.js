import { describe, expect, it } from "vitest";
import zh from "../../src/staff/locales/zh-CN.js";
import en from "../../src/staff/locales/en.js";

const keys = (o, p = "") => Object.entries(o).flatMap(([k, v]) => (v && typeof v === "object" && !Array.isArray(v) ? keys(v, `${p}${k}.`) : [`${p}${k}`]));

describe("the console's texts", () => {
  it("has every Chinese text in English too, and nothing more", () => {
    expect(keys(en).sort()).toEqual(keys(zh).sort());
  });
  it("has as many templates in each language", () => {
    for (const k of Object.keys(zh.templates)) expect(en.templates[k].length).toBe(zh.templates[k].length);
  });
});
