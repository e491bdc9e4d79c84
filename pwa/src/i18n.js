import { createI18n } from "vue-i18n";
import zh from "./locales/zh-CN.js";
import en from "./locales/en.js";
import applyZh from "./locales/apply.zh-CN.js";
import applyEn from "./locales/apply.en.js";
import casesZh from "./locales/cases.zh-CN.js";
import casesEn from "./locales/cases.en.js";
import journeyZh from "./locales/journey.zh-CN.js";
import journeyEn from "./locales/journey.en.js";

// Each area's texts live in their own module under its own top-level keys.
export const messages = {
  "zh-CN": { ...zh, ...applyZh, ...casesZh, ...journeyZh },
  en: { ...en, ...applyEn, ...casesEn, ...journeyEn },
};

export function makeI18n(locale) {
  return createI18n({
    legacy: false,
    locale,
    fallbackLocale: "zh-CN",
    messages,
    missingWarn: false,
    fallbackWarn: false,
  });
}
