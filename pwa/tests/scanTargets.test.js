import { describe, it, expect } from "vitest";
import { cameraProblem, cleanDigits, scanTarget, trackInputProblems, trustedOrigins, trackPath } from "../src/scanTargets.js";

const ORIGIN = "https://zwfw.bazhong.gov.cn";
const origins = trustedOrigins(ORIGIN);
const ITEM = "511Z5001050000-511900000000-000-11511900MB00102256-1-00";
const NUMBER = "51190020261128000001";

describe("trusted origins", () => {
  it("takes the page origin and the configured public URLs, normalised", () => {
    expect(trustedOrigins("http://127.0.0.1:8000", " https://ZWFW.example.cn/ , http://a.test:80/x,ftp://no,garbage"))
      .toEqual(["http://127.0.0.1:8000", "https://zwfw.example.cn", "http://a.test"]);
    expect(trustedOrigins(undefined, undefined)).toEqual([]);
  });
});

describe("our own QR codes", () => {
  it("an item guide QR opens the guide", () => {
    expect(scanTarget(`${ORIGIN}/items/${ITEM}`, origins)).toEqual({ kind: "item", code: ITEM, path: `/items/${ITEM}` });
    // trailing slash, query, fragment and surrounding blanks do not matter
    expect(scanTarget(`  ${ORIGIN}/items/${ITEM}/?from=poster#x \n`, origins).path).toBe(`/items/${ITEM}`);
    // the default port is the same origin
    expect(scanTarget(`https://zwfw.bazhong.gov.cn:443/items/ABC`, origins).kind).toBe("item");
  });

  it("a receipt QR opens tracking with number and code", () => {
    const r = scanTarget(`${ORIGIN}/track?number=${NUMBER}&code=012345`, origins);
    expect(r).toEqual({ kind: "track", number: NUMBER, code: "012345", path: `/track?number=${NUMBER}&code=012345` });
  });

  it("a tracking link with a malformed code keeps the number only", () => {
    expect(scanTarget(`${ORIGIN}/track?number=${NUMBER}&code=12ab`, origins).path).toBe(trackPath(NUMBER));
  });

  it("a certificate's QR opens its public verification with type, number and check code", () => {
    const r = scanTarget(`${ORIGIN}/verify?type=household_register&number=HK5119020012345&code=01234567`, origins);
    expect(r).toEqual({
      kind: "verify", type: "household_register", number: "HK5119020012345", code: "01234567",
      path: "/verify?type=household_register&number=HK5119020012345&code=01234567",
    });
    expect(scanTarget(`${ORIGIN}/verify?type=household_register&number=J511902-2018-004321&code=01234567`, origins).kind).toBe("verify");
    // a malformed one is shown, never opened; another site's never either
    expect(scanTarget(`${ORIGIN}/verify?type=x&number=<script>&code=1`, origins)).toMatchObject({ kind: "text", reason: "unknown" });
    expect(scanTarget(`https://evil.example/verify?type=household_register&number=HK1&code=01234567`, origins)).toMatchObject({ kind: "text", reason: "foreign" });
  });

  it("a voucher's QR (the case's tracking link) opens the tracking of that case", () => {
    expect(scanTarget(`${ORIGIN}/track?code=654321&number=${NUMBER}`, origins)).toMatchObject({ kind: "track", number: NUMBER, code: "654321" });
  });

  it("a bare case number (typed from a paper receipt) opens tracking prefilled", () => {
    expect(scanTarget(NUMBER, origins)).toEqual({ kind: "track", number: NUMBER, code: "", path: `/track?number=${NUMBER}` });
  });
});

describe("anything else is shown, never opened", () => {
  it("another site, even with our path", () => {
    for (const t of [
      `https://evil.example/items/${ITEM}`,
      `http://zwfw.bazhong.gov.cn/items/${ITEM}`, // http is another origin than https
      `https://zwfw.bazhong.gov.cn.evil.example/items/${ITEM}`,
      `https://user:pw@zwfw.bazhong.gov.cn/items/${ITEM}`,
    ]) {
      expect(scanTarget(t, origins)).toEqual({ kind: "text", text: t, reason: "foreign" });
    }
  });

  it("our origin but no page we open", () => {
    expect(scanTarget(`${ORIGIN}/admin`, origins).reason).toBe("unknown");
    expect(scanTarget(`${ORIGIN}/items/a/b`, origins).reason).toBe("unknown");
    expect(scanTarget(`${ORIGIN}/items/%E0%A4%A`, origins).reason).toBe("unknown"); // bad escape
    expect(scanTarget(`${ORIGIN}/items/..%2F..%2Fme`, origins).reason).toBe("unknown");
    expect(scanTarget(`${ORIGIN}/track?number=123&code=123456`, origins).reason).toBe("unknown");
  });

  it("script and other schemes, plain text, empty", () => {
    expect(scanTarget("javascript:alert(1)", origins)).toEqual({ kind: "text", text: "javascript:alert(1)", reason: "plain" });
    expect(scanTarget("WIFI:S:hall;T:WPA;P:x;;", origins).reason).toBe("plain");
    expect(scanTarget("巴中市政务服务中心", origins)).toEqual({ kind: "text", text: "巴中市政务服务中心", reason: "plain" });
    expect(scanTarget("   ", origins)).toEqual({ kind: "text", text: "", reason: "empty" });
    expect(scanTarget(null, origins).reason).toBe("empty");
    expect(scanTarget("x".repeat(5000), origins).text).toHaveLength(2048);
  });

  it("nothing is ours without trusted origins", () => {
    expect(scanTarget(`${ORIGIN}/items/${ITEM}`, []).reason).toBe("foreign");
  });
});

describe("camera problems", () => {
  const err = (name) => Object.assign(new Error(name), { name });
  it("maps getUserMedia errors to what the citizen can do", () => {
    expect(cameraProblem(err("NotAllowedError"))).toBe("denied");
    expect(cameraProblem(err("SecurityError"))).toBe("denied");
    expect(cameraProblem(err("NotFoundError"))).toBe("noCamera");
    expect(cameraProblem(err("OverconstrainedError"))).toBe("noCamera");
    expect(cameraProblem(err("NotReadableError"))).toBe("busy");
    expect(cameraProblem(err("TypeError"))).toBe("failed");
    expect(cameraProblem(undefined)).toBe("failed");
  });
});

describe("tracking input", () => {
  it("takes numbers as printed or typed with a Chinese input method", () => {
    expect(cleanDigits(" 5119 0020-2611 2800 0001 ")).toBe(NUMBER);
    expect(cleanDigits("０１２３４５")).toBe("012345");
    expect(cleanDigits("511900\u3000202611—28")).toBe("51190020261128");
    expect(cleanDigits(null)).toBe("");
  });

  it("names the problem of each field", () => {
    expect(trackInputProblems("", "")).toEqual({ number: "track.numberRequired", code: "track.codeRequired" });
    expect(trackInputProblems("123", "12a456")).toEqual({ number: "track.numberFormat", code: "track.codeFormat" });
    expect(trackInputProblems(NUMBER, "012345")).toEqual({ number: "", code: "" });
  });
});
