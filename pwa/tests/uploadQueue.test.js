// The draft outbox: creation, changes, uploads and submission reach the server exactly once each,
// whatever fails in between. The store is the real src/drafts.js on fake-indexeddb; the server
// is a small in-memory stand-in with the API's answers (api/cases) and a switch for the network.
import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as store from "../src/drafts.js";
import { ApiError } from "../src/api.js";
import {
  blockingMaterials,
  checklistOf,
  createSync,
  editDraft,
  fileProblem,
  formatBytes,
  pendingChanges,
  queueSummary,
  tusError,
  tusUploader,
} from "../src/uploadQueue.js";
import { fitWithin, jpegName } from "../src/imageCompress.js";
import { draftActions } from "../src/caseActions.js";

const net = () => new ApiError({ kind: "network" });
const http = (status, message, field = null) => new ApiError({ kind: "http", status, message, detail: message, field });

function fakeServer() {
  const s = {
    online: true,
    dropAfterCreate: false, // the POST reaches the server but its answer is lost
    cases: new Map(),
    nextId: 1,
    calls: [],
    submits: new Map(), // key → number
    enterprises: [], // the enterprise_uscc of each creation
  };
  // What the server allows the applicant, as api/cases says it (`allowed_actions`).
  const allowed = (c) => (c.state === "draft" ? ["update", "submit", "discard"] : c.state === "submitted" ? ["withdraw"] : []);
  const caseOut = (c) => ({
    id: c.id,
    state: c.state,
    allowed_actions: allowed(c),
    item_code: c.item_code,
    updated_at: new Date().toISOString(),
    form_data: c.form_data,
    answers: c.answers,
    materials: c.materials.map((m) => ({ ...m })),
    missing_required: c.materials.filter((m) => m.required && m.source === "applicant" && m.status === "missing").map((m) => m.code),
  });
  const guard = (name) => {
    s.calls.push(name);
    if (!s.online) throw net();
  };
  s.client = {
    async myCases() {
      guard("list");
      return {
        items: [...s.cases.values()].reverse().map((c) => ({ id: c.id, state: c.state, item_code: c.item_code, allowed_actions: allowed(c) })),
      };
    },
    async createCase(itemCode, answers, enterpriseUscc) {
      guard("create");
      s.enterprises.push(enterpriseUscc);
      if (answers.reason === "bad") throw http(422, "请回答：申请原因", "answers.reason");
      const c = {
        id: s.nextId++,
        item_code: itemCode,
        state: "draft",
        answers,
        form_data: {},
        materials: [
          { code: "application", name: "申请表", required: true, source: "applicant", status: "missing" },
          { code: "licence", name: "营业执照", required: true, source: "certificate", status: "missing" },
        ],
      };
      s.cases.set(c.id, c);
      if (s.dropAfterCreate) {
        s.dropAfterCreate = false;
        throw net();
      }
      return caseOut(c);
    },
    async getCase(id) {
      guard("get");
      if (!s.cases.has(id)) throw http(404, "没有找到这个办件");
      return caseOut(s.cases.get(id));
    },
    async updateCase(id, change) {
      guard("patch");
      const c = s.cases.get(id);
      if (!c) throw http(404, "没有找到这个办件");
      if (c.state !== "draft") throw http(409, "已提交的办件不能再修改", "state");
      if (change.form_data) c.form_data = change.form_data;
      if (change.answers) c.answers = change.answers;
      return caseOut(c);
    },
    async submitCase(id, key) {
      guard("submit");
      const c = s.cases.get(id);
      if (c.state !== "draft") {
        if (s.submits.get(key)) return { number: s.submits.get(key), query_code: "ABCD2345" };
        throw http(409, "这个办件已经提交过了", "state");
      }
      const missing = c.materials.filter((m) => m.required && m.source === "applicant" && m.status === "missing");
      if (missing.length) throw http(422, `还缺 ${missing.length} 份必需材料`, missing[0].code);
      c.state = "submitted";
      const number = `5119002026112800000${c.id}`;
      s.submits.set(key, number);
      return { number, query_code: "ABCD2345" };
    },
    async discardCase(id) {
      guard("discard");
      const c = s.cases.get(id);
      if (!c) throw http(404, "没有找到这个办件");
      if (c.state !== "draft") throw http(409, "申请已提交，不能放弃", "state");
      s.cases.delete(id);
    },
  };
  // A tus stand-in: offsets per upload URL; `dropAt` cuts the connection once that many bytes are in.
  s.uploads = new Map();
  s.dropAt = null;
  s.refuse = null; // an ApiError for the completing PATCH
  s.upload = async (f, d, { onUrl, onProgress, onChunk }) => {
    s.calls.push("upload");
    if (!s.online) throw net();
    let url = f.uploadUrl;
    if (!url || !s.uploads.has(url)) {
      url = `/api/v1/uploads/${s.uploads.size + 1}`;
      s.uploads.set(url, { offset: 0, caseId: d.caseId, code: f.materialCode, starts: [] });
      await onUrl(url);
    }
    const u = s.uploads.get(url);
    u.starts.push(u.offset);
    while (u.offset < f.size) {
      const next = Math.min(f.size, u.offset + 4);
      if (s.dropAt !== null && next > s.dropAt) {
        s.dropAt = null;
        throw net();
      }
      u.offset = next;
      onProgress(u.offset, f.size);
      await onChunk(u.offset);
    }
    if (s.refuse) throw s.refuse;
    const c = s.cases.get(d.caseId);
    c.materials.find((m) => m.code === f.materialCode).status = "attached";
  };
  return s;
}

async function wipe() {
  await store.closeDatabase();
  await new Promise((resolve) => {
    const r = indexedDB.deleteDatabase(store.DB_NAME);
    r.onsuccess = r.onerror = resolve;
  });
}

let server;
let submitted;
let sync;
let engine;
beforeEach(async () => {
  await wipe();
  server = fakeServer();
  submitted = [];
  engine = createSync({
    store,
    client: server.client,
    upload: server.upload,
    isOnline: () => server.online,
    onSubmitted: (id, out) => submitted.push([id, out.number]),
  });
  sync = engine.sync;
});
afterEach(wipe);

const newDraft = (answers = { reason: "lost" }) => store.createDraft({ owner: "citizen:1", itemCode: "LIC", answers });
const photo = (n = 10) => new Blob([new Uint8Array(n).fill(7)], { type: "image/jpeg" });

describe("createSync", () => {
  it("creates the server draft, sends the form, uploads and submits once", async () => {
    const d = await newDraft();
    await store.updateDraft(d.id, (cur) => editDraft(cur, { formData: { contact_name: "张三" } }));
    await store.addFile(d.id, "application", photo(10), { name: "a.jpg" });
    await store.updateDraft(d.id, { submitRequested: true });
    expect(await sync(d.id)).toEqual({ done: true });
    const c = server.cases.get(1);
    expect(c.form_data).toEqual({ contact_name: "张三" });
    expect(c.state).toBe("submitted");
    expect(submitted).toEqual([[d.id, "51190020261128000001"]]);
    expect(await store.getDraft(d.id)).toBeNull(); // gone from the phone once submitted
    expect(server.calls.filter((x) => x === "create")).toHaveLength(1);
  });

  it("offline: nothing is sent and nothing is lost; back online it all goes", async () => {
    server.online = false;
    const d = await newDraft();
    await store.addFile(d.id, "application", photo(), { name: "a.jpg" });
    expect(await sync(d.id)).toEqual({ offline: true });
    expect(server.calls).toEqual([]);
    expect(queueSummary(await store.filesOf(d.id))).toMatchObject({ waiting: 1, done: 0 });
    server.online = true;
    expect(await sync(d.id)).toEqual({ done: true });
    expect(queueSummary(await store.filesOf(d.id))).toMatchObject({ waiting: 0, done: 1 });
    expect((await store.getDraft(d.id)).missingRequired).toEqual([]);
  });

  it("adopts the draft an unanswered POST created instead of creating a second one", async () => {
    const d = await newDraft();
    server.dropAfterCreate = true;
    expect((await sync(d.id)).offline).toBe(true);
    expect(server.cases.size).toBe(1);
    expect((await store.getDraft(d.id)).caseId).toBeNull();
    expect(await sync(d.id)).toEqual({ done: true });
    expect(server.cases.size).toBe(1);
    expect((await store.getDraft(d.id)).caseId).toBe(1);
  });

  it("keeps what the server case allows; a draft kept from before cases said it asks once", async () => {
    const d = await newDraft();
    expect(await sync(d.id)).toEqual({ done: true });
    expect((await store.getDraft(d.id)).allowedActions).toEqual(["update", "submit", "discard"]);
    // A copy on the phone from an older server: the case is known, what it allows is not.
    await store.updateDraft(d.id, { allowedActions: null });
    server.calls.length = 0;
    expect(await sync(d.id)).toEqual({ done: true });
    expect(server.calls).toEqual(["get"]);
    expect((await store.getDraft(d.id)).allowedActions).toEqual(["update", "submit", "discard"]);
    server.calls.length = 0;
    expect(await sync(d.id)).toEqual({ done: true });
    expect(server.calls).toEqual([]); // known now: nothing to ask
  });

  it("a case submitted elsewhere refuses a change: the draft learns what it allows now", async () => {
    const d = await newDraft();
    expect(await sync(d.id)).toEqual({ done: true });
    server.cases.get(1).state = "submitted"; // on another device
    await store.updateDraft(d.id, (cur) => editDraft(cur, { formData: { note: "晚了" } }));
    const out = await sync(d.id);
    expect(out.failed).toBe(true);
    const kept = await store.getDraft(d.id);
    expect(kept.error).toMatchObject({ status: 409, message: "已提交的办件不能再修改" });
    expect(kept.allowedActions).toEqual(["withdraw"]);
    expect(draftActions(kept)).toEqual({ update: false, submit: false, discard: false, known: true });
  });

  it("resumes an interrupted upload at the server's offset, not from zero", async () => {
    const d = await newDraft();
    const f = await store.addFile(d.id, "application", photo(20), { name: "big.jpg" });
    server.dropAt = 10;
    expect((await sync(d.id)).offline).toBe(true);
    const mid = await store.getFile(f.id);
    expect(mid).toMatchObject({ status: "queued", bytesSent: 8, uploadUrl: "/api/v1/uploads/1" });
    expect(await sync(d.id)).toEqual({ done: true });
    expect(server.uploads.get("/api/v1/uploads/1").starts).toEqual([0, 8]);
    expect(await store.getFile(f.id)).toMatchObject({ status: "done", bytesSent: 20 });
  });

  it("submits with the same Idempotency-Key after a lost answer (the server replays, no second case)", async () => {
    const d = await newDraft();
    await store.addFile(d.id, "application", photo(), { name: "a.jpg" });
    await sync(d.id);
    await store.updateDraft(d.id, { submitRequested: true });
    const real = server.client.submitCase;
    const keys = [];
    server.client.submitCase = async (id, key) => {
      keys.push(key);
      const out = await real(id, key);
      if (keys.length === 1) throw net(); // submitted, but the phone never heard
      return out;
    };
    expect((await sync(d.id)).offline).toBe(true);
    expect(await store.getDraft(d.id)).toMatchObject({ submitRequested: true });
    expect(await sync(d.id)).toEqual({ done: true });
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[0]).toBe(d.idempotencyKey);
    expect(submitted).toHaveLength(1);
  });

  it("does not submit while files are still waiting", async () => {
    const d = await newDraft();
    await store.addFile(d.id, "application", photo(20), { name: "a.jpg" });
    await store.updateDraft(d.id, { submitRequested: true });
    server.dropAt = 4;
    await sync(d.id);
    expect(server.calls).not.toContain("submit");
    expect((await store.getDraft(d.id)).submitRequested).toBe(true);
  });

  it("keeps the server's Chinese message on a refused file, and does not retry it", async () => {
    const d = await newDraft();
    const f = await store.addFile(d.id, "application", photo(), { name: "a.exe" });
    server.refuse = http(415, "不支持这种文件类型，请上传 JPG、PNG 或 PDF", "file");
    expect(await sync(d.id)).toEqual({ done: true });
    const rec = await store.getFile(f.id);
    expect(rec.status).toBe("error");
    expect(rec.error).toMatchObject({ message: "不支持这种文件类型，请上传 JPG、PNG 或 PDF", status: 415 });
    server.calls.length = 0;
    await sync(d.id);
    expect(server.calls).not.toContain("upload");
  });

  it("shows a 422 on submission on the draft with the checklist refreshed", async () => {
    const d = await newDraft();
    await store.updateDraft(d.id, { submitRequested: true });
    expect((await sync(d.id)).done).toBe(true);
    const after = await store.getDraft(d.id);
    expect(after.submitRequested).toBe(false);
    expect(after.error).toMatchObject({ status: 422, field: "application", step: "submit" });
    expect(after.missingRequired).toEqual(["application"]);
  });

  it("keeps an answer error on the draft for the page to show next to the question", async () => {
    const d = await newDraft({ reason: "bad" });
    expect((await sync(d.id)).failed).toBe(true);
    expect((await store.getDraft(d.id)).error).toMatchObject({ status: 422, field: "answers.reason", message: "请回答：申请原因" });
  });

  it("sends only what changed, and an edit made during a run is sent by the next one", async () => {
    const d = await newDraft();
    await sync(d.id);
    server.calls.length = 0;
    await sync(d.id);
    expect(server.calls).not.toContain("patch");
    await store.updateDraft(d.id, (cur) => editDraft(cur, { formData: { a: 1 } }));
    const real = server.client.updateCase;
    server.client.updateCase = async (id, change) => {
      // the citizen types while the PATCH is on its way
      await store.updateDraft(d.id, (cur) => editDraft(cur, { formData: { b: 2 } }));
      return real(id, change);
    };
    await sync(d.id);
    expect(pendingChanges(await store.getDraft(d.id))).toEqual({ answers: false, form: true });
    server.client.updateCase = real;
    await sync(d.id);
    expect(server.cases.get(1).form_data).toEqual({ a: 1, b: 2 });
    expect(pendingChanges(await store.getDraft(d.id))).toEqual({ answers: false, form: false });
  });

  it("starts again when the server draft has expired", async () => {
    const d = await newDraft();
    const f = await store.addFile(d.id, "application", photo(), { name: "a.jpg" });
    await sync(d.id);
    server.cases.clear();
    await store.updateDraft(d.id, (cur) => editDraft(cur, { formData: { a: 1 } }));
    expect(await sync(d.id)).toEqual({ done: true });
    const again = await store.getDraft(d.id);
    expect(again.caseId).toBe(2);
    expect(server.cases.get(2).form_data).toEqual({ a: 1 });
    expect(await store.getFile(f.id)).toMatchObject({ status: "done" });
    expect(server.cases.get(2).materials[0].status).toBe("attached");
  });

  it("creates the server draft for the enterprise chosen on the phone", async () => {
    const d = await store.createDraft({ owner: "citizen:1", itemCode: "LIC", answers: {}, enterprise: { uscc: "91110000802100433B", name: "巴中示例" } });
    await sync(d.id);
    const own = await newDraft();
    await sync(own.id);
    expect(server.enterprises).toEqual(["91110000802100433B", null]);
  });

  it("never runs two syncs of one draft at once", async () => {
    const d = await newDraft();
    const [a, b] = await Promise.all([sync(d.id), sync(d.id)]);
    expect(a).toEqual(b);
    expect(server.calls.filter((x) => x === "create")).toHaveLength(1);
  });
});

describe("discarding a draft", () => {
  it("deletes the server draft, then the draft and its files on the phone", async () => {
    const d = await newDraft();
    await store.addFile(d.id, "application", photo(), { name: "a.jpg" });
    await sync(d.id);
    expect(server.cases.size).toBe(1);
    expect(await engine.discard(d.id)).toEqual({ done: true });
    expect(server.cases.size).toBe(0);
    expect(await store.getDraft(d.id)).toBeNull();
    expect(await store.filesOf(d.id)).toEqual([]);
  });

  it("stops an upload in flight and never submits what is thrown away", async () => {
    let started;
    const begun = new Promise((resolve) => (started = resolve));
    const seen = [];
    const slow = createSync({
      store,
      client: server.client,
      isOnline: () => server.online,
      // An upload that only ends when it is aborted, like a big photo on a slow line.
      upload: (f, dr, { signal }) =>
        new Promise((resolve, reject) => {
          started();
          signal.addEventListener("abort", () => {
            seen.push("aborted");
            reject(signal.reason);
          });
        }),
    });
    const d = await newDraft();
    await store.addFile(d.id, "application", photo(), { name: "a.jpg" });
    await store.updateDraft(d.id, { submitRequested: true });
    const run = slow.sync(d.id);
    await begun;
    expect(await slow.discard(d.id)).toEqual({ done: true });
    expect(await run).toEqual({ stopped: true });
    expect(seen).toEqual(["aborted"]);
    expect(server.calls).not.toContain("submit");
    expect(server.cases.size).toBe(0);
    expect(await store.getDraft(d.id)).toBeNull();
    expect(await slow.sync(d.id)).toEqual({ done: true }); // nothing left to run
  });

  it("offline with a server draft: refused, and the phone keeps everything", async () => {
    const d = await newDraft();
    await store.addFile(d.id, "application", photo(), { name: "a.jpg" });
    await sync(d.id);
    server.online = false;
    expect(await engine.discard(d.id)).toEqual({ offline: true });
    expect((await store.getDraft(d.id)).caseId).toBe(1);
    expect(await store.filesOf(d.id)).toHaveLength(1);
    expect(server.cases.size).toBe(1);
  });

  it("a draft that never reached the server is deleted offline too", async () => {
    server.online = false;
    const d = await newDraft();
    await store.addFile(d.id, "application", photo(), { name: "a.jpg" });
    expect(await engine.discard(d.id)).toEqual({ done: true });
    expect(await store.getDraft(d.id)).toBeNull();
    expect(server.calls).toEqual([]);
  });

  it("a server draft already gone (404) is fine; a submitted one (409) keeps the phone's draft", async () => {
    const gone = await newDraft();
    await sync(gone.id);
    server.cases.clear();
    expect(await engine.discard(gone.id)).toEqual({ done: true });
    expect(await store.getDraft(gone.id)).toBeNull();

    const sent = await newDraft();
    await sync(sent.id);
    const caseId = (await store.getDraft(sent.id)).caseId;
    server.cases.get(caseId).state = "submitted";
    const out = await engine.discard(sent.id);
    expect(out.failed).toBe(true);
    expect(out.error.status).toBe(409);
    expect(await store.getDraft(sent.id)).not.toBeNull();
  });

  it("finds and deletes the server draft made by a POST whose answer was lost", async () => {
    const d = await newDraft();
    server.dropAfterCreate = true;
    expect((await sync(d.id)).offline).toBe(true);
    expect((await store.getDraft(d.id)).caseId).toBeNull();
    expect(server.cases.size).toBe(1);
    expect(await engine.discard(d.id)).toEqual({ done: true });
    expect(server.cases.size).toBe(0);
    expect(await store.getDraft(d.id)).toBeNull();
  });
});

describe("helpers", () => {
  it("summarises the queue", () => {
    expect(queueSummary([{ status: "queued" }, { status: "uploading" }, { status: "done" }, { status: "error" }, { status: "queued" }])).toEqual({
      waiting: 2, uploading: 1, failed: 1, done: 1, total: 5,
    });
  });

  it("maps a refused tus request to the API's error, and no answer to a network error", () => {
    const res = {
      getStatus: () => 422,
      getBody: () => JSON.stringify({ message: "图片无法识别", detail: "cannot decode", field: "file" }),
      getHeader: () => null,
    };
    const e = tusError({ originalResponse: res });
    expect(e).toMatchObject({ kind: "http", status: 422, zh: "图片无法识别", field: "file" });
    expect(tusError({ originalResponse: null }).kind).toBe("network");
  });
});

describe("the checklist shown", () => {
  const listing = {
    materials: [
      { code: "id_card", name: "身份证", required: true, conditional: false, source: "certificate", bring_original: true, electronic_accepted: true, certificate_type_name: "居民身份证", accepted_types: [], max_size_mb: 10 },
      { code: "photo", name: "照片", required: true, conditional: false, source: "applicant", bring_original: false, electronic_accepted: true, accepted_types: ["image/jpeg", "image/png"], max_size_mb: 2, reason: "因为您回答了…" },
      { code: "poa", name: "委托书", required: false, conditional: true, source: "applicant", bring_original: false, electronic_accepted: false, accepted_types: [], max_size_mb: 10 },
      { code: "extra", name: "其他", required: false, conditional: false, source: "applicant", accepted_types: [], max_size_mb: 10 },
    ],
  };

  it("works from the catalog list before the server draft exists", () => {
    const rows = checklistOf({ listing, checklist: null }, [{ materialCode: "photo", status: "queued", name: "p.jpg", size: 5 }]);
    expect(rows.map((r) => [r.code, r.state, r.required])).toEqual([
      ["id_card", "spared", true],
      ["photo", "queued", true],
      ["poa", "missing", true], // conditional and listed: its condition held
      ["extra", "missing", false],
    ]);
    expect(rows[0]).toMatchObject({ bringOriginal: true, certificateTypeName: "居民身份证" });
    expect(rows[1]).toMatchObject({ acceptedTypes: ["image/jpeg", "image/png"], maxSizeMb: 2, filename: "p.jpg" });
    expect(rows[2].electronicAccepted).toBe(false);
    expect(blockingMaterials(rows).map((r) => r.code)).toEqual(["poa"]);
  });

  it("takes the server's status once the case exists; a refused file blocks again", () => {
    const checklist = [
      { code: "id_card", name: "身份证", required: true, source: "certificate", status: "missing" },
      { code: "photo", name: "照片", required: true, source: "applicant", status: "attached", filename: "s.jpg", size: 9 },
      { code: "poa", name: "委托书", required: true, source: "applicant", status: "missing" },
    ];
    const rows = checklistOf({ listing, checklist }, [{ materialCode: "poa", status: "error", name: "x.exe", size: 1 }]);
    expect(rows.map((r) => r.state)).toEqual(["spared", "done", "error"]);
    expect(rows[1].filename).toBe("s.jpg");
    expect(blockingMaterials(rows).map((r) => r.code)).toEqual(["poa"]);
  });

  it("checks a chosen file's type and size before queueing it", () => {
    const photo = { acceptedTypes: ["image/jpeg", "image/png"], maxSizeMb: 2 };
    expect(fileProblem({ type: "image/jpeg", size: 1000 }, photo)).toBeNull();
    expect(fileProblem({ type: "image/heic", size: 1000 }, photo)).toBeNull(); // the server decides
    expect(fileProblem({ type: "application/pdf", size: 1000 }, photo)).toEqual({ key: "apply.fileType" });
    expect(fileProblem({ type: "image/jpeg", size: 3 * 1024 * 1024 }, photo)).toEqual({ key: "apply.fileTooBig", params: { size: "3.0 MB", max: 2 } });
    expect(fileProblem({ type: "application/pdf", size: 1 }, { acceptedTypes: ["application/pdf"], maxSizeMb: 10 })).toBeNull();
  });

  it("formats sizes", () => {
    expect([formatBytes(12), formatBytes(2048), formatBytes(5 * 1024 * 1024 + 1)]).toEqual(["12 B", "2 KB", "5.0 MB"]);
  });
});

describe("photo compression sizes", () => {
  it("bounds the long side and never upscales", () => {
    expect(fitWithin(4000, 3000)).toEqual({ width: 2000, height: 1500, scaled: true });
    expect(fitWithin(3000, 4000)).toEqual({ width: 1500, height: 2000, scaled: true });
    expect(fitWithin(800, 600)).toEqual({ width: 800, height: 600, scaled: false });
    expect(fitWithin(2000, 10)).toEqual({ width: 2000, height: 10, scaled: false });
  });

  it("names the JPEG after the original", () => {
    expect(jpegName("IMG_0001.HEIC")).toBe("IMG_0001.jpg");
    expect(jpegName("扫描件.png")).toBe("扫描件.jpg");
    expect(jpegName("")).toBe("photo.jpg");
  });
});

describe("tusUploader", () => {
  // A stand-in for tus-js-client's Upload that records its options and lets the test drive them.
  function fakeTus() {
    const made = [];
    class Upload {
      constructor(file, options) {
        this.file = file;
        this.options = options;
        this.url = null;
        made.push(this);
      }
      start() {}
      abort(shouldTerminate) {
        this.aborted = { shouldTerminate };
        return Promise.resolve();
      }
    }
    return { made, module: { Upload } };
  }
  const req = () => {
    const headers = {};
    return { headers, setHeader: (k, v) => (headers[k] = v) };
  };
  const res = (status, body = "") => ({ getStatus: () => status, getBody: () => body, getHeader: () => null });

  it("resumes from the stored URL with small chunks and the draft's metadata", async () => {
    const tus = fakeTus();
    const auth = { tokens: { get: () => ({ access: "A1", refresh: "R1" }) }, refresh: async () => {} };
    const upload = tusUploader({ auth, loadTus: async () => tus.module });
    const file = { blob: new Blob(["x"]), uploadUrl: "/api/v1/uploads/abc", materialCode: "photo", name: "p.jpg", type: "image/jpeg" };
    const urls = [];
    const done = upload(file, { caseId: 7 }, { onUrl: (u) => urls.push(u), onProgress: () => {}, onChunk: () => {} });
    await new Promise((r) => setTimeout(r, 0));
    const o = tus.made[0].options;
    expect(o.uploadUrl).toBe("/api/v1/uploads/abc");
    expect(o.chunkSize).toBe(1024 * 1024);
    expect(o.storeFingerprintForResuming).toBe(false);
    expect(o.metadata).toEqual({ case_id: "7", material_id: "photo", filename: "p.jpg", filetype: "image/jpeg" });
    tus.made[0].url = "/api/v1/uploads/abc";
    o.onUploadUrlAvailable();
    expect(urls).toEqual(["/api/v1/uploads/abc"]);
    o.onSuccess();
    await done;
  });

  it("aborts the upload when the draft's run is stopped (no tus DELETE: the case takes it along)", async () => {
    const tus = fakeTus();
    const auth = { tokens: { get: () => ({ access: "A1", refresh: "R1" }) }, refresh: async () => {} };
    const upload = tusUploader({ auth, loadTus: async () => tus.module });
    const stop = new AbortController();
    const file = { blob: new Blob(["x"]), materialCode: "photo", name: "p.jpg", type: "image/jpeg" };
    const done = upload(file, { caseId: 7 }, { signal: stop.signal });
    await new Promise((r) => setTimeout(r, 0));
    stop.abort(new DOMException("stopped", "AbortError"));
    await expect(done).rejects.toMatchObject({ name: "AbortError" });
    expect(tus.made[0].aborted).toEqual({ shouldTerminate: false });
    // Already stopped before it began: nothing is started at all.
    await expect(upload(file, { caseId: 7 }, { signal: stop.signal })).rejects.toMatchObject({ name: "AbortError" });
    expect(tus.made).toHaveLength(1);
  });

  it("sends the current token on every request and refreshes it once on a 401", async () => {
    const tus = fakeTus();
    let tokens = { access: "old", refresh: "R1" };
    const refreshed = [];
    const auth = {
      tokens: { get: () => tokens },
      refresh: async (stale) => {
        refreshed.push(stale);
        tokens = { access: "new", refresh: "R2" };
        return tokens;
      },
    };
    const upload = tusUploader({ auth, loadTus: async () => tus.module });
    const done = upload({ blob: new Blob(["x"]), materialCode: "m", name: "a.pdf", type: "application/pdf" }, { caseId: 1 }, {});
    await new Promise((r) => setTimeout(r, 0));
    const o = tus.made[0].options;
    const first = req();
    await o.onBeforeRequest(first);
    expect(first.headers.Authorization).toBe("Bearer old");
    await o.onAfterResponse(first, res(401));
    expect(refreshed).toEqual(["R1"]);
    const err = { originalResponse: res(401) };
    expect(o.onShouldRetry(err)).toBe(true); // once, with the new token
    const second = req();
    await o.onBeforeRequest(second);
    expect(second.headers.Authorization).toBe("Bearer new");
    expect(o.onShouldRetry(err)).toBe(false); // a second 401: the session is over
    expect(o.onShouldRetry({ originalResponse: res(415) })).toBe(false); // refused: not retried
    expect(o.onShouldRetry({ originalResponse: res(409) })).toBe(true); // offset conflict: ask again
    expect(o.onShouldRetry({ originalResponse: res(503) })).toBe(true);
    o.onError({ originalResponse: res(415, JSON.stringify({ message: "只接受 JPG、PNG 图片", detail: "type", field: "file" })) });
    await expect(done).rejects.toMatchObject({ status: 415, zh: "只接受 JPG、PNG 图片", field: "file" });
  });
});
