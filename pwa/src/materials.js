// How a listed material (ListedMaterial) is presented: its source badges and counts.

/**
 * Badges for a material, first the main one:
 *  certificate → 免提交·电子证照 (the platform fetches it), original → 需带原件, upload → 上传.
 * A fetched certificate whose original must still be shown gets both.
 */
export function materialBadges(m) {
  const out = [];
  if (m.source === "certificate") out.push("certificate");
  if (m.bring_original) out.push("original");
  if (m.source !== "certificate" && !m.bring_original) out.push("upload");
  return out;
}

export const BADGE_STYLE = {
  certificate: { cls: "badge-green", icon: "✓", key: "list.sourceCertificate" },
  original: { cls: "badge-amber", icon: "✋", key: "list.sourceOriginal" },
  upload: { cls: "badge-blue", icon: "⬆", key: "list.sourceUpload" },
};
