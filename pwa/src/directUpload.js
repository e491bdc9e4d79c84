// One file to one case material, now: the correction screen and the bundle's materials use it.
// The same path as the apply screens' outbox (uploadQueue.js): the photo compressed on the phone
// (orientation applied, no EXIF/GPS, long side ≤ 2000 px), then the resumable tus upload with the
// bearer token refreshed on 401. tus-js-client loads on first use (a lazy chunk).
import { auth } from "./api.js";
import { compressImage } from "./imageCompress.js";
import { fileProblem, tusUploader } from "./uploadQueue.js";

/** What is wrong with a file for a material ({ key, params } for i18n), or null. */
export function pickProblem(file, { acceptedTypes, maxSizeMb } = {}) {
  return fileProblem(file, { acceptedTypes, maxSizeMb });
}

/** Compress (photos) and upload; resolves when the server has attached it to the material. */
export async function uploadTo(caseId, materialCode, file, { onProgress, signal, upload = tusUploader({ auth }) } = {}) {
  const { file: f } = await compressImage(file);
  await upload(
    { blob: f, uploadUrl: null, materialCode, name: f.name || "file", type: f.type || "application/octet-stream" },
    { caseId },
    { onProgress, signal },
  );
  return f;
}
