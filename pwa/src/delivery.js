// 送达: how the decision reached the applicant, as the case API gives it
// ({method, method_name, carrier, tracking_number, delivered_at}, null before delivery). Pure
// (tests/delivery.test.js).

const METHOD_EN = { electronic: "Electronic delivery", window: "Pick-up at the window", express: "Express mail" };

/** What the case screen shows of a delivery, or null when there is none (yet). */
export function deliveryView(delivery, locale = "zh-CN") {
  if (!delivery || !delivery.method) return null;
  const en = String(locale).startsWith("en");
  const express = delivery.method === "express" && Boolean(delivery.tracking_number);
  return {
    method: delivery.method,
    name: en ? METHOD_EN[delivery.method] || delivery.method : delivery.method_name || delivery.method,
    at: delivery.delivered_at || null,
    carrier: express ? delivery.carrier || "" : "",
    trackingNumber: express ? delivery.tracking_number : "",
  };
}
