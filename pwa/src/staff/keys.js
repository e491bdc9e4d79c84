// Single-key shortcuts of the console: ignored while typing in a field or with a modifier held.

export function isTyping(e) {
  const el = e.target;
  if (!el || !el.tagName) return false;
  const tag = el.tagName.toLowerCase();
  return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
}

export const plainKey = (e) => !e.ctrlKey && !e.metaKey && !e.altKey && !isTyping(e) && !e.defaultPrevented;
