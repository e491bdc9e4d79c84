// Offline drafts in IndexedDB (fake-indexeddb is a complete IndexedDB for Node: the same idb code
// runs against it as in the browser).
import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  addFile,
  closeDatabase,
  createDraft,
  deleteDraft,
  DB_NAME,
  filesOf,
  findDraft,
  getDraft,
  getFile,
  listDrafts,
  ownerOf,
  updateDraft,
  updateFile,
} from "../src/drafts.js";

async function wipe() {
  await closeDatabase();
  await new Promise((resolve, reject) => {
    const r = indexedDB.deleteDatabase(DB_NAME);
    r.onsuccess = resolve;
    r.onerror = () => reject(r.error);
  });
}

beforeEach(wipe);
afterEach(wipe);

const jwt = (payload) => `h.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.s`;

describe("drafts", () => {
  it("keeps answers, form data and a per-draft idempotency key across reopening the database", async () => {
    const d = await createDraft({ owner: "citizen:1", itemCode: "A", itemName: "营业执照补领", answers: { reason: "lost" } });
    expect(d.idempotencyKey).toMatch(/^[A-Za-z0-9._:-]{8,64}$/);
    await updateDraft(d.id, { formData: { contact_name: "张三" } });
    await closeDatabase(); // a reload
    const again = await getDraft(d.id);
    expect(again.answers).toEqual({ reason: "lost" });
    expect(again.formData).toEqual({ contact_name: "张三" });
    expect(again.idempotencyKey).toBe(d.idempotencyKey);
    expect(again.caseId).toBeNull();
  });

  it("gives each draft its own idempotency key", async () => {
    const a = await createDraft({ owner: "citizen:1", itemCode: "A" });
    const b = await createDraft({ owner: "citizen:1", itemCode: "A" });
    expect(a.idempotencyKey).not.toBe(b.idempotencyKey);
  });

  it("updates with a function of the current value in one transaction (concurrent edits both stay)", async () => {
    const d = await createDraft({ owner: "citizen:1", itemCode: "A" });
    await Promise.all([
      updateDraft(d.id, (cur) => ({ formData: { ...cur.formData, a: 1 } })),
      updateDraft(d.id, (cur) => ({ formData: { ...cur.formData, b: 2 } })),
    ]);
    expect((await getDraft(d.id)).formData).toEqual({ a: 1, b: 2 });
    expect(await updateDraft("missing", { x: 1 })).toBeNull();
  });

  it("finds the newest draft of an item for its owner only", async () => {
    const first = await createDraft({ owner: "citizen:1", itemCode: "A" });
    await new Promise((r) => setTimeout(r, 5));
    const second = await createDraft({ owner: "citizen:1", itemCode: "A" });
    await createDraft({ owner: "citizen:2", itemCode: "A" });
    expect((await findDraft("citizen:1", "A")).id).toBe(second.id);
    expect(await findDraft("citizen:1", "B")).toBeNull();
    expect((await listDrafts("citizen:1")).map((d) => d.id)).toEqual([second.id, first.id]);
    expect(await listDrafts("citizen:3")).toEqual([]);
  });

  it("stores queued photos as Blobs, one per material, replacing the previous one", async () => {
    const d = await createDraft({ owner: "citizen:1", itemCode: "A" });
    const photo = new Blob([new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3])], { type: "image/jpeg" });
    const f1 = await addFile(d.id, "id_card", photo, { name: "a.jpg" });
    await addFile(d.id, "application", new Blob(["%PDF-1.4"], { type: "application/pdf" }), { name: "b.pdf" });
    const f3 = await addFile(d.id, "id_card", new Blob([new Uint8Array([0xff, 0xd8, 0xff, 9])], { type: "image/jpeg" }), { name: "c.jpg" });
    await closeDatabase();
    const files = (await filesOf(d.id)).sort((a, b) => a.materialCode.localeCompare(b.materialCode));
    expect(files.map((f) => [f.materialCode, f.name, f.status])).toEqual([
      ["application", "b.pdf", "queued"],
      ["id_card", "c.jpg", "queued"],
    ]);
    expect(await getFile(f1.id)).toBeNull();
    const stored = await getFile(f3.id);
    expect(stored.size).toBe(4);
    expect(stored.type).toBe("image/jpeg");
    expect(new Uint8Array(await stored.blob.arrayBuffer())).toEqual(new Uint8Array([0xff, 0xd8, 0xff, 9]));
  });

  it("remembers the upload URL and the bytes sent, so a reload resumes", async () => {
    const d = await createDraft({ owner: "citizen:1", itemCode: "A" });
    const f = await addFile(d.id, "m", new Blob(["x".repeat(10)]), { name: "x.pdf", type: "application/pdf" });
    await updateFile(f.id, { uploadUrl: "/api/v1/uploads/abc", bytesSent: 5, status: "uploading" });
    await closeDatabase();
    expect(await getFile(f.id)).toMatchObject({ uploadUrl: "/api/v1/uploads/abc", bytesSent: 5, status: "uploading" });
  });

  it("deletes a draft with its files", async () => {
    const d = await createDraft({ owner: "citizen:1", itemCode: "A" });
    const other = await createDraft({ owner: "citizen:1", itemCode: "B" });
    await addFile(d.id, "m", new Blob(["1"]));
    const kept = await addFile(other.id, "m", new Blob(["2"]));
    await deleteDraft(d.id);
    expect(await getDraft(d.id)).toBeNull();
    expect(await filesOf(d.id)).toEqual([]);
    expect((await filesOf(other.id)).map((f) => f.id)).toEqual([kept.id]);
  });
});

describe("ownerOf", () => {
  it("reads the subject of an access token", () => {
    expect(ownerOf(jwt({ sub: "citizen:42", exp: 1 }))).toBe("citizen:42");
  });
  it("gives null for anything else", () => {
    expect(ownerOf("nonsense")).toBeNull();
    expect(ownerOf(jwt({ exp: 1 }))).toBeNull();
    expect(ownerOf(undefined)).toBeNull();
  });
});
