import { afterEach, describe, expect, it, vi } from "vitest";
import { useObjectUrl } from "../src/useObjectUrl.js";

afterEach(() => vi.restoreAllMocks());

describe("useObjectUrl", () => {
  it("frees the URL it replaces and the one it clears, once each", () => {
    let n = 0;
    vi.spyOn(URL, "createObjectURL").mockImplementation(() => `blob:test/${++n}`);
    const revoke = vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => {});
    const { url, set, clear } = useObjectUrl();
    expect(url.value).toBe("");
    set(new Blob(["a"]));
    expect(url.value).toBe("blob:test/1");
    set(new Blob(["b"]));
    expect(url.value).toBe("blob:test/2");
    expect(revoke.mock.calls).toEqual([["blob:test/1"]]);
    clear();
    clear();
    expect(url.value).toBe("");
    expect(revoke.mock.calls).toEqual([["blob:test/1"], ["blob:test/2"]]);
  });
});
