// Checks made before sending personal identifiers, so that a typo is caught at once. The server
// (api/identity/ids.py) checks more (region, birth date) and its message wins when it disagrees.

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

/** GB 11643 check character of the first 17 digits of a resident ID number. */
export function idCheckDigit(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK[sum % 11];
}

/** "" when the ID number is well formed with a correct check digit, else an i18n key. */
export function idNumberProblem(raw) {
  const v = normaliseId(raw);
  if (!/^\d{17}[\dX]$/.test(v)) return "id.format";
  if (idCheckDigit(v) !== v[17]) return "id.checksum";
  return "";
}

export function normaliseId(raw) {
  return String(raw ?? "").replace(/\s+/g, "").toUpperCase();
}

/** "" for a mainland mobile number (as the server accepts), else an i18n key. */
export function phoneProblem(raw) {
  return /^1[3-9]\d{9}$/.test(String(raw ?? "").trim()) ? "" : "auth.phoneInvalid";
}

export function codeProblem(raw) {
  return /^\d{6}$/.test(String(raw ?? "").trim()) ? "" : "auth.codeInvalid";
}

/** Unified social credit code (GB 32100): 18 characters of 0-9 and A-Y without I, O, S, V, Z. */
export function usccProblem(raw) {
  return /^[0-9A-HJ-NPQRTUWXY]{18}$/.test(String(raw ?? "").trim().toUpperCase()) ? "" : "me.usccFormat";
}
