// How a listed material (ListedMaterial, or a checklist entry of the apply screens) is presented:
// ONE instruction, so that a citizen never reads "免提交" and "需带原件" as two things to do.
import { BadgeCheck, CircleAlert, CircleCheck, CircleDashed, Hand, Hourglass, IdCard, Upload } from "lucide-vue-next";

/**
 * The one instruction of a material:
 *  certificate         → 免提交·电子证照 (the platform fetches it);
 *  certificateOriginal → 免提交·到现场出示原件 (fetched, and the original is shown on the visit the
 *                        item has: the catalog only allows this where the item names a place);
 *  original            → 需带原件 (a photo for the pre-check, the paper at the hall);
 *  upload              → 上传.
 * Takes the API's shape ({source, bring_original}) or the apply checklist's ({source, bringOriginal}).
 */
export function materialInstruction(m) {
  const original = !!(m?.bring_original ?? m?.bringOriginal);
  if (m?.source === "certificate") return original ? "certificateOriginal" : "certificate";
  return original ? "original" : "upload";
}

export const INSTRUCTION_STYLE = {
  certificate: { cls: "badge-green", icon: BadgeCheck, key: "list.sourceCertificate" },
  certificateOriginal: { cls: "badge-green", icon: IdCard, key: "list.sourceCertificateOriginal" },
  original: { cls: "badge-amber", icon: Hand, key: "list.sourceOriginal" },
  upload: { cls: "badge-blue", icon: Upload, key: "list.sourceUpload" },
};

/** The icon of a checklist entry's state (always shown with the state in words). */
export const STATE_ICON = {
  spared: BadgeCheck, done: CircleCheck, uploading: Upload, queued: Hourglass, error: CircleAlert, missing: CircleDashed,
};
export const stateIcon = (state) => STATE_ICON[state] || CircleDashed;
