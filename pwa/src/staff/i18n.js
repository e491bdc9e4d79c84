// The console's texts: zh-CN first, English available (as the citizen app: vue-i18n, one module
// per language), and Element Plus's own texts in the same language.
import { createI18n } from "vue-i18n";
import zh from "./locales/zh-CN.js";
import en from "./locales/en.js";

export const LOCALE_KEY = "zw.staff.locale";
export const messages = { "zh-CN": zh, en };

export function savedLocale(storage) {
  try {
    const v = (storage || globalThis.localStorage).getItem(LOCALE_KEY);
    return v === "en" ? "en" : "zh-CN";
  } catch {
    return "zh-CN";
  }
}

export function makeI18n(locale = savedLocale()) {
  return createI18n({ legacy: false, locale, fallbackLocale: "zh-CN", messages, missingWarn: false, fallbackWarn: false });
}

export function startLocale(i18n) {
  document.documentElement.lang = i18n.global.locale.value;
}

export function setLocale(i18n, locale) {
  i18n.global.locale.value = locale;
  document.documentElement.lang = locale;
  try {
    localStorage.setItem(LOCALE_KEY, locale);
  } catch {
    /* kept for this page only */
  }
}
