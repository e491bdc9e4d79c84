// The citizen's preferences, remembered in localStorage: language, elder mode (长辈版) and its
// text size, and the region whose items to show. Elder mode is applied as a class on <html>.
import { reactive, watch } from "vue";

export const KEYS = {
  elder: "zw.elder",
  fontSize: "zw.fontSize",
  locale: "zw.locale",
  region: "zw.region",
};

export const LOCALES = ["zh-CN", "en"];
// Elder-mode body text sizes in px: 18 is the MIIT minimum, 30 the largest step.
export const ELDER_SIZES = [18, 22, 26, 30];
export const DEFAULT_REGION = { code: "", name: "" }; // "" = the city (the API's default)

function safeStorage(storage) {
  try {
    const s = storage ?? globalThis.localStorage;
    if (!s) return null;
    const probe = "zw.probe";
    s.setItem(probe, "1");
    s.removeItem(probe);
    return s;
  } catch {
    return null; // private mode, storage disabled: preferences last for the visit only
  }
}

function readJSON(storage, key, fallback) {
  try {
    const raw = storage?.getItem(key);
    return raw === null || raw === undefined ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

/** Read remembered preferences (falling back to defaults for anything missing or damaged). */
export function loadPrefs(storage) {
  const s = safeStorage(storage);
  const elder = readJSON(s, KEYS.elder, false) === true;
  let fontSize = Number(readJSON(s, KEYS.fontSize, ELDER_SIZES[0]));
  if (!ELDER_SIZES.includes(fontSize)) fontSize = ELDER_SIZES[0];
  let locale = readJSON(s, KEYS.locale, null);
  if (!LOCALES.includes(locale)) locale = "zh-CN";
  let region = readJSON(s, KEYS.region, DEFAULT_REGION);
  if (!region || typeof region.code !== "string" || typeof region.name !== "string") region = { ...DEFAULT_REGION };
  return { elder, fontSize, locale, region };
}

/** Remember preferences. */
export function savePrefs(prefs, storage) {
  const s = safeStorage(storage);
  if (!s) return;
  s.setItem(KEYS.elder, JSON.stringify(!!prefs.elder));
  s.setItem(KEYS.fontSize, JSON.stringify(prefs.fontSize));
  s.setItem(KEYS.locale, JSON.stringify(prefs.locale));
  s.setItem(KEYS.region, JSON.stringify({ code: prefs.region.code, name: prefs.region.name }));
}

/** Apply elder mode and language to the document (<html class="elder" lang=…>). */
export function applyPrefs(prefs, doc = globalThis.document) {
  if (!doc) return;
  const html = doc.documentElement;
  html.classList.toggle("elder", !!prefs.elder);
  html.setAttribute("lang", prefs.locale);
  if (prefs.elder) html.style.setProperty("--zw-elder-font", `${prefs.fontSize}px`);
  else html.style.removeProperty("--zw-elder-font");
}

export const prefs = reactive(loadPrefs());

let started = false;
/** Keep the document and storage in step with `prefs` (called once by main.js). */
export function startPrefs(onLocale) {
  if (started) return;
  started = true;
  applyPrefs(prefs);
  watch(
    prefs,
    () => {
      savePrefs(prefs);
      applyPrefs(prefs);
      onLocale?.(prefs.locale);
    },
    { deep: true },
  );
  // Another tab changed them.
  globalThis.addEventListener?.("storage", (e) => {
    if (!e.key || !e.key.startsWith("zw.")) return;
    Object.assign(prefs, loadPrefs());
  });
}
