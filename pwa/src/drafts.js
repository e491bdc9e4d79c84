// Offline drafts of applications in IndexedDB (through `idb`): the answers, the form, the server
// case once it exists, and the photos and files waiting to upload (Blobs, stored as they are).
// IndexedDB and not localStorage because files must survive a reload and an offline week, and
// localStorage holds only a few MB of strings.
//
// Two stores:
//  drafts: { id, owner, itemCode, itemName, answers, formData, enterprise, caseId, idempotencyKey, rev/synced,
//            checklist, listing, submitRequested, error, createdAt, updatedAt, … }
//  files:  { id, draftId, materialCode, blob, name, type, size, status, uploadUrl, bytesSent,
//            error, addedAt, updatedAt }  (one per material: a new file replaces the old one)
// Every change is one IndexedDB transaction (read-modify-write), so two tabs or a sync running
// alongside the form never lose each other's fields.
import { openDB } from "idb";

export const DB_NAME = "zw-drafts";
const DB_VERSION = 1;

/** File states: waiting in the queue, being sent, on the server, or refused/failed. */
export const FILE_STATES = ["queued", "uploading", "done", "error"];

let dbPromise = null;

/** The database (opened once per page). Tests pass their own factory through `useDatabase`. */
export function db() {
  dbPromise ||= openDB(DB_NAME, DB_VERSION, {
    upgrade(d) {
      if (!d.objectStoreNames.contains("drafts")) {
        const s = d.createObjectStore("drafts", { keyPath: "id" });
        s.createIndex("owner_item", ["owner", "itemCode"]);
      }
      if (!d.objectStoreNames.contains("files")) {
        const f = d.createObjectStore("files", { keyPath: "id" });
        f.createIndex("draft", "draftId");
      }
    },
    blocking() {
      // A newer version of the app wants to upgrade the schema: let it.
      dbPromise?.then((d) => d.close());
      dbPromise = null;
    },
  });
  return dbPromise;
}

/** Close and forget the open database (tests, and before deleting it). */
export async function closeDatabase() {
  const p = dbPromise;
  dbPromise = null;
  if (p) (await p).close();
}

/** A random id (crypto.randomUUID where present; the fallback is only for old WebViews). */
export function newId() {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

// The owner of drafts on this device: the subject of the signed-in citizen's access token (see
// api.js tokenSubject), so that another person signing in on a shared phone never sees them.
export { tokenSubject as ownerOf } from "./api.js";

const now = () => new Date().toISOString();

/** A new local draft for an item (nothing is sent yet). */
export async function createDraft({ owner, itemCode, itemName = "", answers = {}, listing = null, enterprise = null }) {
  const d = {
    id: newId(),
    owner,
    itemCode,
    itemName,
    answers: { ...answers },
    formData: {},
    listing, // the 一单载明 answer seen when the draft was started (offline checklist)
    enterprise, // { uscc, name } when applying for an enterprise the citizen is bound to; fixed at creation
    caseId: null,
    checklist: null, // the server case's materials once it exists
    caseUpdatedAt: null,
    allowedActions: null, // what the server case allows now (its `allowed_actions`), once it exists
    // Generated once per draft and kept: a double tap, a retry or a replay after a reload all
    // send the same key, and the server submits at most once.
    idempotencyKey: `zw-${newId()}`.replace(/[^A-Za-z0-9._:-]/g, "").slice(0, 64),
    rev: { answers: 0, form: 0 }, // local edits counted (uploadQueue.editDraft) …
    synced: { answers: 0, form: 0 }, // … and how far the server has them
    creating: null, // { at, knownIds } while a POST /cases may have reached the server
    submitRequested: false,
    error: null, // the last draft-level error: { message, detail, field, status }
    createdAt: now(),
    updatedAt: now(),
  };
  await (await db()).put("drafts", d);
  return d;
}

export async function getDraft(id) {
  return (await (await db()).get("drafts", id)) || null;
}

/** The newest unsubmitted draft of an item for this owner, or null. */
export async function findDraft(owner, itemCode) {
  const all = await (await db()).getAllFromIndex("drafts", "owner_item", [owner, itemCode]);
  all.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1));
  return all[0] || null;
}

export async function listDrafts(owner) {
  const all = await (await db()).getAll("drafts");
  return all.filter((d) => d.owner === owner).sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1));
}

/**
 * Change a draft in one transaction: `change` is an object merged into it, or a function of the
 * current draft returning the fields to merge. Returns the new draft (null if it is gone).
 */
export function updateDraft(id, change) {
  return mergeInto("drafts", id, change);
}

async function mergeInto(storeName, id, change) {
  const tx = (await db()).transaction(storeName, "readwrite");
  const cur = await tx.store.get(id);
  if (!cur) {
    await tx.done;
    return null;
  }
  const patch = typeof change === "function" ? change(cur) : change;
  const next = { ...cur, ...patch, updatedAt: now() };
  await tx.store.put(next);
  await tx.done;
  return next;
}

/** Remove a draft and its files (after submission, or when the citizen discards it). */
export async function deleteDraft(id) {
  const tx = (await db()).transaction(["drafts", "files"], "readwrite");
  await tx.objectStore("drafts").delete(id);
  const files = tx.objectStore("files");
  for (const key of await files.index("draft").getAllKeys(id)) await files.delete(key);
  await tx.done;
}

// ---- files

/**
 * Queue a file for a material of a draft, replacing the one queued or sent before for that
 * material (the server keeps one file per material; the newest wins there too).
 */
export async function addFile(draftId, materialCode, blob, { name = "", type = "" } = {}) {
  const tx = (await db()).transaction("files", "readwrite");
  for (const old of await tx.store.index("draft").getAll(draftId)) {
    if (old.materialCode === materialCode) await tx.store.delete(old.id);
  }
  const rec = {
    id: newId(),
    draftId,
    materialCode,
    blob,
    name: name || blob.name || "file",
    type: type || blob.type || "application/octet-stream",
    size: blob.size,
    status: "queued",
    uploadUrl: null, // the tus upload's URL once created: a reload resumes there
    bytesSent: 0,
    error: null,
    addedAt: now(),
    updatedAt: now(),
  };
  await tx.store.put(rec);
  await tx.done;
  return rec;
}

export async function getFile(id) {
  return (await (await db()).get("files", id)) || null;
}

/** The files of a draft, oldest first. */
export async function filesOf(draftId) {
  const all = await (await db()).getAllFromIndex("files", "draft", draftId);
  return all.sort((a, b) => (a.addedAt < b.addedAt ? -1 : 1));
}

/** Change a file record in one transaction (like updateDraft). */
export function updateFile(id, change) {
  return mergeInto("files", id, change);
}

export async function removeFile(id) {
  await (await db()).delete("files", id);
}

/** Ask the browser not to evict our storage under pressure (best effort; may be refused). */
export async function persistStorage() {
  try {
    if (globalThis.navigator?.storage?.persist && !(await navigator.storage.persisted())) await navigator.storage.persist();
  } catch {
    /* not supported: drafts still work, the browser may evict them under pressure */
  }
}
