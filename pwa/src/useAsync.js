// Load data for a screen: { data, error, loading, reload }. `deps` re-run the loader when they
// change; a newer run cancels the older one's result.
import { ref, shallowRef, watch, onBeforeUnmount } from "vue";

export function useAsync(loader, deps = () => null) {
  const data = shallowRef(null);
  const error = shallowRef(null);
  const loading = ref(false);
  let run = 0;
  let controller = null;

  async function reload() {
    const mine = ++run;
    controller?.abort();
    controller = new AbortController();
    loading.value = true;
    error.value = null;
    try {
      const result = await loader(controller.signal);
      if (mine === run) data.value = result;
    } catch (e) {
      if (mine === run && e?.name !== "AbortError") error.value = e;
    } finally {
      if (mine === run) loading.value = false;
    }
  }

  watch(deps, reload, { immediate: true });
  onBeforeUnmount(() => {
    run++;
    controller?.abort();
  });
  return { data, error, loading, reload };
}
