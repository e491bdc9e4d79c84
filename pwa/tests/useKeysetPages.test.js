// Keyset load-more shared by 我的办件 and the item lists: pages append in order, the cursor and
// `done` follow next_cursor, an answer for a replaced run is dropped, duplicates are skipped when
// a key is given, and errors stay on the run that made them.
import { describe, expect, it } from "vitest";
import { createKeysetPages } from "../src/useKeysetPages.js";

/** A fetchPage whose answers the test releases one by one: calls[i].answer(page) / .fail(err). */
function controlled() {
  const calls = [];
  const fetchPage = (cursor, signal) =>
    new Promise((resolve, reject) => {
      calls.push({ cursor, signal, answer: resolve, fail: reject });
    });
  return { calls, fetchPage };
}

const page = (ids, next = null, extra = {}) => ({ items: ids.map((id) => ({ id })), next_cursor: next, ...extra });
const ids = (p) => p.items.value.map((x) => x.id);
const tick = () => new Promise((r) => setTimeout(r, 0));

describe("createKeysetPages", () => {
  it("appends pages in order, follows next_cursor and stops at the last page", async () => {
    const { calls, fetchPage } = controlled();
    const seen = [];
    const p = createKeysetPages(fetchPage, { onPage: (pg) => seen.push(pg.total) });
    const first = p.load(true);
    expect(p.loading.value).toBe(true);
    expect(calls[0].cursor).toBeUndefined();
    calls[0].answer(page([1, 2], "c2", { total: 3 }));
    await first;
    expect(ids(p)).toEqual([1, 2]);
    expect(p.cursor.value).toBe("c2");
    expect(p.done.value).toBe(false);
    expect(p.loading.value).toBe(false);

    const second = p.load(false);
    p.load(false); // a second "more" while one is loading is ignored
    expect(calls).toHaveLength(2);
    expect(calls[1].cursor).toBe("c2");
    calls[1].answer(page([3], null, { total: 3 }));
    await second;
    expect(ids(p)).toEqual([1, 2, 3]);
    expect(p.done.value).toBe(true);
    expect(p.cursor.value).toBeNull();
    expect(seen).toEqual([3, 3]);
  });

  it("drops the answer of a run replaced by a new first load, and aborts its request", async () => {
    const { calls, fetchPage } = controlled();
    const p = createKeysetPages(fetchPage);
    const old = p.load(true);
    const fresh = p.load(true); // e.g. the search changed before the first answer came
    expect(calls[0].signal.aborted).toBe(true);
    calls[1].answer(page([10], "n"));
    await fresh;
    calls[0].answer(page([1, 2, 3], null)); // the stale answer arrives late
    await old;
    expect(ids(p)).toEqual([10]);
    expect(p.cursor.value).toBe("n");
    expect(p.done.value).toBe(false);
  });

  it("a stale answer does not end the new run's loading, nor its error", async () => {
    const { calls, fetchPage } = controlled();
    const p = createKeysetPages(fetchPage);
    const old = p.load(true);
    p.load(true);
    calls[0].fail(new Error("stale failure"));
    await old;
    expect(p.loading.value).toBe(true);
    expect(p.error.value).toBeNull();
  });

  it("skips items already listed when a key is given, and keeps them otherwise", async () => {
    for (const [keyOf, want] of [
      [(x) => x.id, [1, 2, 3]],
      [null, [1, 2, 2, 3]],
    ]) {
      const { calls, fetchPage } = controlled();
      const p = createKeysetPages(fetchPage, { keyOf });
      const a = p.load(true);
      calls[0].answer(page([1, 2], "c"));
      await a;
      const b = p.load(false);
      calls[1].answer(page([2, 3], null)); // a row added meanwhile repeats one
      await b;
      expect(ids(p)).toEqual(want);
    }
  });

  it("keeps an error for the retry and clears it on the next load; an abort is not an error", async () => {
    const { calls, fetchPage } = controlled();
    const p = createKeysetPages(fetchPage);
    const a = p.load(true);
    calls[0].fail(new Error("offline"));
    await a;
    expect(p.error.value.message).toBe("offline");
    expect(p.loading.value).toBe(false);
    expect(p.done.value).toBe(false);

    const b = p.load(true);
    expect(p.error.value).toBeNull();
    calls[1].fail(Object.assign(new Error("aborted"), { name: "AbortError" }));
    await b;
    expect(p.error.value).toBeNull();
  });

  it("loads on while the sentinel is near, and nothing after dispose", async () => {
    const { calls, fetchPage } = controlled();
    let near = true;
    const p = createKeysetPages(fetchPage, { isNear: () => near });
    const a = p.load(true);
    calls[0].answer(page([1], "c2"));
    await a;
    expect(calls).toHaveLength(2); // the list did not fill the screen: the next page follows
    expect(calls[1].cursor).toBe("c2");
    near = false;
    calls[1].answer(page([2], "c3"));
    await tick();
    await tick();
    expect(calls).toHaveLength(2);
    expect(ids(p)).toEqual([1, 2]);

    near = true;
    const c = p.load(false);
    p.dispose(); // the page was left
    expect(calls[2].signal.aborted).toBe(true);
    calls[2].answer(page([3], null));
    await c;
    expect(ids(p)).toEqual([1, 2]);
    expect(calls).toHaveLength(3);
  });
});
