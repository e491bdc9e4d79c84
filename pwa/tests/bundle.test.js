import { describe, it, expect } from "vitest";
import { askedQuestions, bundleRequest, cannotApply, itemAnswers, mergeKey, mergeMaterials, mergeQuestions, savedByMerging } from "../src/bundle.js";

const agent = { code: "agent", text: "是否委托他人（代理人）代为办理？", datatype: "single", options: [{ value: "no" }, { value: "yes" }], ask_if: null };
const shop = { code: "SHOP", questions: [{ code: "mode", text: "经营形式？", datatype: "single", options: [{ value: "person" }, { value: "family" }] }, agent] };
const fire = { code: "FIRE", questions: [{ code: "area", text: "面积？", datatype: "number", options: [] }, agent] };
// Same code, another question: each item keeps its own.
const birth = { code: "BIRTH", questions: [{ code: "type", text: "办理类型", datatype: "single", options: [{ value: "first" }, { value: "reissue" }] }] };
const card = {
  code: "CARD",
  questions: [
    { code: "type", text: "办理类型", datatype: "single", options: [{ value: "first" }, { value: "lost" }] },
    { code: "minor", text: "是否未满十六周岁？", datatype: "single", options: [{ value: "no" }, { value: "yes" }], ask_if: { q: "type", eq: "first" } },
  ],
};

describe("shared questions", () => {
  it("a question several items ask the same way is asked once, under its own code", () => {
    const merged = mergeQuestions([shop, fire]);
    expect(merged.map((e) => [e.key, e.items, e.shared])).toEqual([
      ["SHOP|mode", ["SHOP"], false],
      ["agent", ["SHOP", "FIRE"], true],
      ["FIRE|area", ["FIRE"], false],
    ]);
  });
  it("one code with two meanings stays two questions", () => {
    const merged = mergeQuestions([birth, card]);
    expect(merged.map((e) => e.key)).toEqual(["BIRTH|type", "CARD|type", "CARD|minor"]);
  });
  it("each item gets the answers to its own questions, by its own codes", () => {
    const merged = mergeQuestions([shop, fire]);
    const answers = { agent: "yes", "SHOP|mode": "person", "FIRE|area": 120 };
    expect(itemAnswers(merged, answers, "SHOP")).toEqual({ mode: "person", agent: "yes" });
    expect(itemAnswers(merged, answers, "FIRE")).toEqual({ area: 120, agent: "yes" });
  });
  it("a question is asked when one of its items asks it (each item's own ask_if)", () => {
    const merged = mergeQuestions([birth, card]);
    expect(askedQuestions(merged, [birth, card], {}).map((e) => e.key)).toEqual(["BIRTH|type", "CARD|type"]);
    expect(askedQuestions(merged, [birth, card], { "CARD|type": "first" }).map((e) => e.key)).toEqual(["BIRTH|type", "CARD|type", "CARD|minor"]);
  });
  it("the request sends a shared answer once and each item's own; unasked answers are dropped", () => {
    const merged = mergeQuestions([shop, fire, card]);
    const answers = { agent: "yes", "SHOP|mode": "family", "FIRE|area": 80, "CARD|type": "lost", "CARD|minor": "yes" };
    expect(bundleRequest("open_restaurant", merged, [shop, fire, card], answers, "91511900MA6C7QJ5X4")).toEqual({
      life_event: "open_restaurant",
      answers: { agent: "yes" },
      items: [
        { item_code: "SHOP", answers: { mode: "family" } },
        { item_code: "FIRE", answers: { area: 80 } },
        { item_code: "CARD", answers: { type: "lost" } }, // minor is not asked for a lost card
      ],
      enterprise_uscc: "91511900MA6C7QJ5X4",
    });
  });
});

describe("one combined material list", () => {
  const listings = [
    { itemCode: "SHOP", itemName: "个体工商户设立登记", materials: [
      { code: "operator_id", name: "经营者身份证件", source: "certificate", certificate_type: "resident_id_card", required: true },
      { code: "power_of_attorney", name: "委托代理人授权委托书", source: "applicant", certificate_type: "", required: false, conditional: true },
    ] },
    { itemCode: "FIRE", itemName: "消防安全检查", materials: [
      { code: "business_license", name: "营业执照", source: "certificate", certificate_type: "business_license", required: true },
      { code: "power_of_attorney", name: "委托代理人授权委托书", source: "applicant", certificate_type: "", required: true },
    ] },
    { itemCode: "FOOD", itemName: "食品经营许可", materials: [
      { code: "business_license", name: "营业执照", source: "certificate", certificate_type: "business_license", required: true },
      { code: "power_of_attorney", name: "授权委托书及受托人身份证件", source: "applicant", certificate_type: "", required: true },
    ] },
  ];
  it("one entry per certificate type and per document (same code and name), in first-seen order", () => {
    const groups = mergeMaterials(listings);
    expect(groups.map((g) => [g.key, g.items.map((i) => i.itemCode)])).toEqual([
      ["certificate:resident_id_card", ["SHOP"]],
      ["file:power_of_attorney:委托代理人授权委托书", ["SHOP", "FIRE"]],
      ["certificate:business_license", ["FIRE", "FOOD"]],
      ["file:power_of_attorney:授权委托书及受托人身份证件", ["FOOD"]],
    ]);
    expect(groups[1].required).toBe(true); // conditional and listed: needed
    expect(savedByMerging(groups)).toBe(2);
  });
  it("the key is the server's (api/cases/bundling.py merge_key)", () => {
    expect(mergeKey({ source: "certificate", certificate_type: "household_register", code: "x", name: "户口簿" })).toBe("certificate:household_register");
    expect(mergeKey({ source: "applicant", certificate_type: "", code: "photo", name: "照片" })).toBe("file:photo:照片");
    expect(mergeKey({ source: "certificate", certificate_type: "", code: "c", name: "无类型" })).toBe("file:c:无类型");
  });
});

describe("which items can be applied for together", () => {
  it("says why an item cannot be part of the bundle", () => {
    expect(cannotApply({ online_depth: 1, audiences: ["natural_person"] })).toBe("bundle.why.offline");
    expect(cannotApply({ online_depth: 4, audiences: ["legal_person"] })).toBe("bundle.why.notPerson");
    expect(cannotApply({ online_depth: 4, audiences: ["natural_person"] }, true)).toBe("bundle.why.notEnterprise");
    expect(cannotApply({ online_depth: 3, audiences: ["natural_person", "legal_person"] }, true)).toBe(null);
  });
});
