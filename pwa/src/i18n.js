import { createI18n } from "vue-i18n";
import zh from "./locales/zh-CN.js";
import en from "./locales/en.js";

export function makeI18n(locale) {
  return createI18n({
    legacy: false,
    locale,
    fallbackLocale: "zh-CN",
    messages: { "zh-CN": zh, en },
    missingWarn: false,
    fallbackWarn: false,
  });
}
