// Photos are made smaller on the phone before they are queued: a 12-megapixel camera JPEG of 4–8
// MB becomes a ~0.5 MB one of at most 2000 px on its long side, which uploads over a weak
// connection and still reads clearly. Re-encoding through a canvas also drops EXIF (GPS position,
// device) before anything leaves the phone; the server strips metadata again in any case.
//
// Pitfalls handled (reference/stack-notes §5.4):
//  * orientation: decoded with imageOrientation "from-image", so a portrait photo whose pixels are
//    stored sideways comes out upright (the EXIF tag that said so is gone afterwards);
//  * never upscaled; transparent PNGs are put on white (JPEG has no alpha);
//  * formats the browser cannot decode (HEIC outside Safari) and any failure send the original;
//  * PDFs and other non-images are kept byte for byte;
//  * a PNG screenshot that would only grow as a JPEG is kept as it is.

export const MAX_SIDE = 2000;
export const QUALITY = 0.85;

/** The size to draw at: long side at most `maxSide`, never larger than the original. */
export function fitWithin(width, height, maxSide = MAX_SIDE) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)), scaled: scale < 1 };
}

/** "IMG_0001.HEIC" → "IMG_0001.jpg". */
export function jpegName(name) {
  const base = String(name || "photo").replace(/\.[A-Za-z0-9]{1,5}$/, "");
  return `${base || "photo"}.jpg`;
}

async function decode(file) {
  try {
    return await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (e) {
    // Older engines reject the options bag; they apply the orientation by default anyway.
    if (e instanceof TypeError) return createImageBitmap(file);
    throw e;
  }
}

function canvasOf(width, height) {
  if (typeof OffscreenCanvas !== "undefined") return new OffscreenCanvas(width, height);
  const c = document.createElement("canvas");
  c.width = width;
  c.height = height;
  return c;
}

function toJpeg(canvas, quality) {
  if (canvas.convertToBlob) return canvas.convertToBlob({ type: "image/jpeg", quality });
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("canvas.toBlob gave nothing"))), "image/jpeg", quality),
  );
}

/**
 * A smaller JPEG File for an image, or the file itself (PDFs, undecodable images, failures).
 * Returns { file, compressed: boolean }.
 */
export async function compressImage(file, { maxSide = MAX_SIDE, quality = QUALITY } = {}) {
  if (!file || !String(file.type).startsWith("image/") || typeof createImageBitmap !== "function") {
    return { file, compressed: false };
  }
  let bitmap = null;
  try {
    bitmap = await decode(file);
    const size = fitWithin(bitmap.width, bitmap.height, maxSide);
    const canvas = canvasOf(size.width, size.height);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, size.width, size.height);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, size.width, size.height);
    const blob = await toJpeg(canvas, quality);
    if (!blob || !blob.size) return { file, compressed: false };
    // The re-encoded copy goes even when it is not smaller: it carries no GPS position. Only a
    // PNG that did not need resizing and would grow (a screenshot: sharp text) stays as it is.
    if (!size.scaled && file.type === "image/png" && blob.size >= file.size) return { file, compressed: false };
    const out = new File([blob], jpegName(file.name), { type: "image/jpeg", lastModified: Date.now() });
    return { file: out, compressed: true };
  } catch {
    return { file, compressed: false }; // could not decode (e.g. HEIC in Chrome): send the original
  } finally {
    bitmap?.close?.();
  }
}
