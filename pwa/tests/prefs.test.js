import { describe, it, expect } from "vitest";
import { loadPrefs, savePrefs, applyPrefs, KEYS, ELDER_SIZES } from "../src/prefs.js";

class MemoryStorage {
  constructor(init = {}) {
    this.map = new Map(Object.entries(init));
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

function fakeDocument() {
  const classes = new Set();
  const attrs = {};
  const style = {};
  return {
    documentElement: {
      classList: {
        toggle: (c, on) => (on ? classes.add(c) : classes.delete(c)),
        contains: (c) => classes.has(c),
      },
      setAttribute: (k, v) => (attrs[k] = v),
      style: { setProperty: (k, v) => (style[k] = v), removeProperty: (k) => delete style[k] },
    },
    attrs,
    style,
    classes,
  };
}

describe("elder mode persistence", () => {
  it("defaults: standard mode, Chinese, the city", () => {
    expect(loadPrefs(new MemoryStorage())).toEqual({
      elder: false, fontSize: 18, locale: "zh-CN", region: { code: "", name: "" },
    });
  });

  it("remembers elder mode, text size, language and region", () => {
    const s = new MemoryStorage();
    savePrefs({ elder: true, fontSize: 26, locale: "en", region: { code: "511921000000", name: "通江县" } }, s);
    expect(s.getItem(KEYS.elder)).toBe("true");
    expect(loadPrefs(s)).toEqual({ elder: true, fontSize: 26, locale: "en", region: { code: "511921000000", name: "通江县" } });
  });

  it("ignores damaged or unknown values", () => {
    const s = new MemoryStorage({
      [KEYS.elder]: "{not json", [KEYS.fontSize]: "99", [KEYS.locale]: '"fr"', [KEYS.region]: '{"code":5}',
    });
    expect(loadPrefs(s)).toEqual({ elder: false, fontSize: 18, locale: "zh-CN", region: { code: "", name: "" } });
  });

  it("survives a storage that throws (private mode)", () => {
    const broken = { getItem() { throw new Error("denied"); }, setItem() { throw new Error("denied"); }, removeItem() {} };
    expect(loadPrefs(broken).elder).toBe(false);
    expect(() => savePrefs({ elder: true, fontSize: 18, locale: "zh-CN", region: { code: "", name: "" } }, broken)).not.toThrow();
  });

  it("text sizes run from 18 px to at least 30 px", () => {
    expect(Math.min(...ELDER_SIZES)).toBeGreaterThanOrEqual(18);
    expect(Math.max(...ELDER_SIZES)).toBeGreaterThanOrEqual(30);
  });

  it("applies a class and the font size on <html>", () => {
    const doc = fakeDocument();
    applyPrefs({ elder: true, fontSize: 30, locale: "zh-CN" }, doc);
    expect(doc.classes.has("elder")).toBe(true);
    expect(doc.style["--zw-elder-font"]).toBe("30px");
    expect(doc.attrs.lang).toBe("zh-CN");
    applyPrefs({ elder: false, fontSize: 30, locale: "en" }, doc);
    expect(doc.classes.has("elder")).toBe(false);
    expect(doc.style["--zw-elder-font"]).toBeUndefined();
    expect(doc.attrs.lang).toBe("en");
  });
});
