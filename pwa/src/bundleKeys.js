// An Idempotency-Key (8–64 of [A-Za-z0-9._:-], api/cases/services.py): one per bundle creation and
// one per submission, kept with what they send so that a retry after a lost answer repeats nothing.
export function newKey() {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}
