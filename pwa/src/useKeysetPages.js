// Load-more for lists the API pages by keyset (`next_cursor`): 我的办件 and the catalog item lists.
// The next page loads when the end of the list scrolls into view (a sentinel element watched by
// IntersectionObserver) and by a button the page shows, for keyboards and screen readers.
//
// Why a run counter: a first load (new search, new filter) may start while an older page is still
// on its way; the older answer must not be appended to the new list, nor clear its `loading`.
// Why fetchPage gets a signal: a first load aborts the request of the run it replaces (callers
// whose API takes no signal may ignore it: the run counter drops the answer all the same).
import { nextTick, onBeforeUnmount, onMounted, ref, shallowRef } from "vue";

/**
 * The paging state without any DOM lifecycle (what the tests drive).
 *  fetchPage(cursor, signal) → Promise<{ items, next_cursor, … }>; cursor is undefined for page one
 *  keyOf:  item → key; when given, an item already listed is not listed again (a keyset page may
 *          repeat one when rows are added meanwhile)
 *  onPage: (page) → void, after a page was taken (e.g. its `total`)
 *  isNear: () → boolean, whether the sentinel is close enough to the screen to load on
 */
export function createKeysetPages(fetchPage, { keyOf = null, onPage = null, isNear = () => false } = {}) {
  const items = shallowRef([]);
  const cursor = ref(null);
  const done = ref(false);
  const loading = ref(false);
  const error = shallowRef(null);
  let run = 0;
  let controller = null;

  /** Load the first page again (first = true, dropping what is listed) or the next one. */
  async function load(first) {
    if (loading.value && !first) return;
    const mine = first ? ++run : run;
    if (first) {
      controller?.abort();
      items.value = [];
      cursor.value = null;
      done.value = false;
    }
    controller = new AbortController();
    loading.value = true;
    error.value = null;
    try {
      const page = await fetchPage(first ? undefined : cursor.value, controller.signal);
      if (mine !== run) return;
      let fresh = page.items;
      if (keyOf) {
        const seen = new Set(items.value.map(keyOf));
        fresh = fresh.filter((it) => !seen.has(keyOf(it)));
      }
      items.value = [...items.value, ...fresh];
      cursor.value = page.next_cursor;
      done.value = !page.next_cursor;
      onPage?.(page);
    } catch (e) {
      if (mine === run && e?.name !== "AbortError") error.value = e;
    } finally {
      if (mine === run) loading.value = false;
    }
    await nextTick();
    checkSentinel();
  }

  /** Load on until the list fills the screen (IntersectionObserver does not re-fire by itself). */
  function checkSentinel() {
    if (done.value || loading.value || error.value) return;
    if (isNear()) load(false);
  }

  /** The list is gone: answers still on their way are dropped, requests aborted. */
  function dispose() {
    run++;
    controller?.abort();
  }

  return { items, cursor, done, loading, error, load, checkSentinel, dispose };
}

/**
 * In a component: createKeysetPages plus the sentinel (bind `ref="sentinel"` on an element after
 * the list) watched from mount to unmount. The first load is the caller's (on mount, or from a
 * watcher of its parameters).
 */
export function useKeysetPages(fetchPage, options = {}) {
  const sentinel = ref(null);
  const isNear = () => {
    const el = sentinel.value;
    return !!el && el.getBoundingClientRect().top < window.innerHeight + 200;
  };
  const pages = createKeysetPages(fetchPage, { ...options, isNear });
  let observer = null;
  onMounted(() => {
    if ("IntersectionObserver" in window) {
      observer = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) pages.checkSentinel();
      }, { rootMargin: "200px" });
      if (sentinel.value) observer.observe(sentinel.value);
    }
  });
  onBeforeUnmount(() => {
    pages.dispose();
    observer?.disconnect();
  });
  return { ...pages, sentinel };
}
