import { describe, expect, it } from "vitest";
import { checklistRows, checklistSummary, correctionPayload, lastNotice, suggestedTicks } from "../../src/staff/checklist.js";

const material = (code, over = {}) => ({
  code, name: `材料${code}`, required: true, source: "applicant", certificate_type: "", reason: "", status: "missing",
  filename: "", size: null, mime: "", attached_at: null, download_url: null, ...over,
});
const attached = (code, at, over = {}) => material(code, { status: "attached", filename: `${code}.pdf`, size: 10, mime: "application/pdf", attached_at: at, download_url: `/api/v1/cases/1/materials/${code}/file`, ...over });

const caseData = {
  id: 1,
  materials: [
    attached("id_card", "2026-12-01T02:00:00Z"),
    material("licence", { status: "spared", source: "certificate", certificate_type: "business_licence" }),
    material("photo"),
    material("extra", { required: false }),
    attached("form", "2026-12-03T02:00:00Z"),
  ],
  timeline: [
    { action: "submit", at: "2026-12-01T01:00:00Z" },
    { action: "request_correction", at: "2026-12-02T01:00:00Z", data: { materials: [{ code: "form", name: "申请表", problem: "未签字" }, { code: "id_card", name: "身份证", problem: "模糊" }] } },
    { action: "resupply", at: "2026-12-03T03:00:00Z" },
  ],
};

describe("the checklist beside what arrived", () => {
  it("says per line what arrived, what blocks, what the notice asked and what came again", () => {
    const rows = checklistRows(caseData);
    const by = Object.fromEntries(rows.map((r) => [r.code, r]));
    expect(rows.map((r) => r.code)).toEqual(["id_card", "licence", "photo", "extra", "form"]); // the list's own order
    expect(by.id_card).toMatchObject({ state: "attached", blocking: false, noticed: true, problem: "模糊", resupplied: false });
    expect(by.form).toMatchObject({ state: "attached", noticed: true, problem: "未签字", resupplied: true });
    expect(by.licence).toMatchObject({ state: "spared", blocking: false, certificateType: "business_licence", file: null });
    expect(by.photo).toMatchObject({ state: "missing", blocking: true });
    expect(by.extra).toMatchObject({ state: "missing", blocking: false });
    expect(by.form.file).toEqual({ url: "/api/v1/cases/1/materials/form/file", name: "form.pdf", mime: "application/pdf", size: 10 });
    expect(checklistSummary(rows)).toEqual({ total: 5, attached: 2, spared: 1, blocking: 1, resupplied: 1 });
  });

  it("an attached status without a file to download is not a file", () => {
    expect(checklistRows({ materials: [material("x", { status: "attached" })], timeline: [] })[0].state).toBe("missing");
  });

  it("finds the latest notice", () => {
    expect(lastNotice(caseData.timeline).materials).toHaveLength(2);
    expect(lastNotice([])).toBeNull();
    expect(checklistRows({}).length).toBe(0);
  });
});

describe("the one-time correction notice", () => {
  const rows = checklistRows(caseData);

  it("starts with the blocking materials ticked", () => {
    const ticks = suggestedTicks(rows, "请补充");
    expect(ticks.photo).toEqual({ checked: true, problem: "请补充" });
    expect(ticks.id_card).toEqual({ checked: false, problem: "" });
  });

  it("sends every ticked material with what is wrong, in the list's order", () => {
    const out = correctionPayload(rows, { form: { checked: true, problem: " 缺签字 " }, photo: { checked: true, problem: "没有照片" }, id_card: { checked: false, problem: "x" } });
    expect(out).toEqual({ ok: true, errors: {}, materials: [{ code: "photo", problem: "没有照片" }, { code: "form", problem: "缺签字" }] });
  });

  it("refuses a tick without a problem, a material not on the list, and an empty notice", () => {
    expect(correctionPayload(rows, { photo: { checked: true, problem: "  " } }).errors).toEqual({ photo: "problemRequired" });
    expect(correctionPayload(rows, { photo: { checked: true, problem: "x".repeat(501) } }).errors).toEqual({ photo: "problemTooLong" });
    const outside = correctionPayload(rows, { marriage: { checked: true, problem: "另交结婚证" } });
    expect(outside.ok).toBe(false);
    expect(outside.errors).toEqual({ marriage: "notOnList" });
    expect(outside.materials).toEqual([]); // never sent
    expect(correctionPayload(rows, {}).errors).toEqual({ _: "noneTicked" });
  });
});
