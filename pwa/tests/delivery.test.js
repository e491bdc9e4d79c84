import { describe, expect, it } from "vitest";
import { deliveryView } from "../src/delivery.js";

const EXPRESS = { method: "express", method_name: "邮寄送达", carrier: "顺丰速运", tracking_number: "SF1234567890", delivered_at: "2026-12-05T02:00:00Z" };

describe("the delivery on the case screen", () => {
  it("shows nothing before delivery", () => {
    expect(deliveryView(null)).toBeNull();
    expect(deliveryView(undefined)).toBeNull();
  });

  it("shows the carrier and waybill number of express mail", () => {
    expect(deliveryView(EXPRESS)).toEqual({ method: "express", name: "邮寄送达", at: EXPRESS.delivered_at, carrier: "顺丰速运", trackingNumber: "SF1234567890" });
    expect(deliveryView(EXPRESS, "en").name).toBe("Express mail");
  });

  it("shows no parcel for window pick-up or electronic delivery", () => {
    const v = deliveryView({ method: "window", method_name: "窗口领取", carrier: null, tracking_number: null, delivered_at: "t" });
    expect(v).toEqual({ method: "window", name: "窗口领取", at: "t", carrier: "", trackingNumber: "" });
  });
});
