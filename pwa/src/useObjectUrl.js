// A blob: URL that a component shows (the receipt's QR code, fetched with the bearer token): `set`
// replaces the last one and frees it, `clear` frees it, and it is freed when the component goes.
import { getCurrentInstance, onBeforeUnmount, shallowRef } from "vue";

export function useObjectUrl() {
  const url = shallowRef("");
  function clear() {
    if (url.value) URL.revokeObjectURL(url.value);
    url.value = "";
  }
  function set(blob) {
    clear();
    url.value = URL.createObjectURL(blob);
  }
  if (getCurrentInstance()) onBeforeUnmount(clear);
  return { url, set, clear };
}
