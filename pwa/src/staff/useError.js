// The error handling of the citizen app (src/api.js errorText: the API's Chinese message in zh,
// its English detail in en, else a generic text) for the console's screens.
import { useI18n } from "vue-i18n";
import { errorText } from "../api.js";

export function useErrorText() {
  const { t, locale } = useI18n();
  return (err) => errorText(err, locale.value, t);
}

/** The field an ApiError names, for el-form-item's error (or "" when it names none). */
export const fieldOf = (err) => (err && typeof err.field === "string" ? err.field : "");
