import { describe, expect, it } from "vitest";
import { errorFromResponse } from "../../src/api.js";

// The console shows a catalog problem at its field (by `where`) and an import's problem by sheet, row
// and column: the shared client must keep them (a merge that keeps only field/message/detail fails here).
describe("problems of a 422 as the console needs them", () => {
  it("keeps every part of each problem, with its texts as text", () => {
    const e = errorFromResponse(422, {
      status_code: 422, message: "内容有 2 处问题", detail: "2 problem(s)", field: "name",
      problems: [
        { where: "items[X]/situations[new]", field: "rule", message: "规则无效" },
        { sheet: "事项", row: 2, column: "kind", field: "kind", message: "第 2 行「事项类型」无效" },
        "not an object",
      ],
    });
    expect(e.problems).toEqual([
      { where: "items[X]/situations[new]", field: "rule", message: "规则无效", detail: "" },
      { sheet: "事项", row: 2, column: "kind", field: "kind", message: "第 2 行「事项类型」无效", detail: "" },
    ]);
  });
  it("has none when the answer lists none", () => {
    expect(errorFromResponse(409, { message: "x" }).problems).toBeNull();
  });
});
