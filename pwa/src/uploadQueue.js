// The outbox of an application draft: brings the server in line with what the citizen did on the
// phone, online or not. One run, in order:
//   1. create the server draft (POST /cases) if there is none yet;
//   2. send changed answers / form data (PATCH, a plain overwrite: repeating it is harmless);
//   3. upload the queued files one by one (tus: resumable, each chunk acknowledged);
//   4. submit, if the citizen asked to, with the draft's own Idempotency-Key.
// Every step may be repeated after a failure without doing anything twice: creation checks which
// draft an unanswered POST may have made before posting again, uploads resume at the server's
// offset, and the submission key is generated once per draft. A network failure ends the run and
// leaves everything queued; the page starts a new run when the browser is back online.
//
// A draft can also be discarded (`discard`): its run is stopped (an upload in flight aborted),
// the server draft deleted, then the one on the phone with its files. That needs the network when
// a server draft exists (or may exist), and is refused offline rather than queued: the outbox only
// runs while its own draft's page is open, and a discarded draft has no page to run from.
//
// The module is pure of the browser where it matters: `createSync` takes the draft store, the API
// client and the uploader as arguments (tests pass fakes), and `tusUploader` wraps tus-js-client.
import { ApiError, errorFromResponse } from "./api.js";
import { actionsOf } from "./caseActions.js";

export const CHUNK_SIZE = 1024 * 1024; // small chunks: a weak phone connection loses less per drop
export const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];

const isNetwork = (e) => !(e instanceof ApiError) || e.kind === "network" || e.kind === "timeout";
const plainError = (e) => ({
  message: e?.zh || "",
  detail: e?.en || String(e?.message || ""),
  field: e?.field || null,
  status: e?.status || 0,
  kind: e?.kind || "unknown",
});

/** What the queue of a draft holds, for the UI ("2 份材料等待上传"). */
export function queueSummary(files) {
  const s = { waiting: 0, uploading: 0, failed: 0, done: 0, total: files.length };
  for (const f of files) {
    if (f.status === "done") s.done++;
    else if (f.status === "error") s.failed++;
    else if (f.status === "uploading") s.uploading++;
    else s.waiting++;
  }
  return s;
}

/** The revision bookkeeping of a draft: which local edits the server has not seen yet. */
export function pendingChanges(d) {
  const rev = d.rev || { answers: 0, form: 0 };
  const synced = d.synced || { answers: 0, form: 0 };
  return { answers: rev.answers > synced.answers, form: rev.form > synced.form };
}

/** A local edit: merge `fields` into the form data (or set the answers) and count a revision. */
export function editDraft(d, { formData, answers } = {}) {
  const rev = { answers: 0, form: 0, ...(d.rev || {}) };
  const out = { rev };
  if (formData) {
    out.formData = { ...d.formData, ...formData };
    rev.form++;
  }
  if (answers) {
    out.answers = { ...answers };
    rev.answers++;
  }
  return out;
}

/** The fields kept from a server case (CaseOut): checklist, and what it allows now (or null). */
export function fromCase(c) {
  return {
    caseId: c.id,
    situationName: c.situation_name,
    checklist: c.materials,
    missingRequired: c.missing_required,
    caseState: c.state,
    caseUpdatedAt: c.updated_at,
    allowedActions: actionsOf(c),
  };
}

/**
 * The sync engine. deps:
 *  store:    getDraft, updateDraft, filesOf, updateFile, deleteDraft (src/drafts.js)
 *  client:   createCase(itemCode, answers, enterpriseUscc), myCases(params), getCase(id), updateCase(id, change),
 *            submitCase(id, key) (src/api.js `api`)
 *  upload:   (file, draft, { onUrl, onProgress }) → Promise; rejects with an ApiError
 *  isOnline: () → boolean
 *  onChange: (draftId) → void, after any stored change; onProgress: (fileId, sent, total)
 *  onSubmitted: (draftId, SubmitOut) → void; the draft is deleted from the device afterwards
 *  client.discardCase(id) is needed only by `discard`
 */
export function createSync({ store, client, upload, isOnline = () => true, onChange = () => {}, onProgress = () => {}, onSubmitted = () => {} }) {
  const running = new Map(); // draftId → { promise, again, stopped, controller }
  const discarding = new Set(); // draftIds being discarded: no new run starts for them

  async function save(id, change) {
    const d = await store.updateDraft(id, change);
    onChange(id);
    return d;
  }

  async function saveFile(draftId, fileId, change) {
    const f = await store.updateFile(fileId, change);
    onChange(draftId);
    return f;
  }

  // The server draft an unanswered POST /cases of `d` created, if it did: a draft of this item
  // that was not there before the first attempt. (Which case it is, by what it is: not a
  // decision about what may be done with it, which the server's `allowed_actions` make.)
  async function madeByLostPost(d) {
    const page = await client.myCases({ limit: 20 });
    const known = new Set(d.creating.knownIds);
    return page.items.find((c) => c.state === "draft" && c.item_code === d.itemCode && !known.has(c.id)) || null;
  }

  // 1. The server draft. A POST whose answer was lost may still have created one: look for it
  // before posting again.
  async function ensureCase(d) {
    if (d.creating) {
      const made = await madeByLostPost(d);
      if (made) {
        const c = await client.getCase(made.id);
        return save(d.id, { ...fromCase(c), creating: null, error: null });
      }
    } else {
      const page = await client.myCases({ limit: 20 });
      d = await save(d.id, { creating: { at: new Date().toISOString(), knownIds: page.items.map((c) => c.id) } });
    }
    const rev = (d.rev || {}).answers || 0;
    const c = await client.createCase(d.itemCode, d.answers, d.enterprise?.uscc || null);
    return save(d.id, (cur) => ({
      ...fromCase(c),
      creating: null,
      error: null,
      synced: { form: 0, ...(cur.synced || {}), answers: rev },
    }));
  }

  // 2. Changed answers (re-derive the checklist) and form data.
  async function pushChanges(d) {
    const pending = pendingChanges(d);
    const rev = { ...(d.rev || {}) };
    const change = {};
    if (pending.form) change.form_data = d.formData;
    if (pending.answers) change.answers = d.answers;
    const c = await client.updateCase(d.caseId, change);
    return save(d.id, (cur) => ({
      ...fromCase(c),
      error: null,
      synced: {
        answers: pending.answers ? rev.answers : (cur.synced || {}).answers || 0,
        form: pending.form ? rev.form : (cur.synced || {}).form || 0,
      },
    }));
  }

  // 3. Files, one at a time (a phone uplink is better used by one stream).
  async function uploadAll(d, signal) {
    const listed = new Set((d.checklist || []).map((m) => m.code));
    let changed = false;
    for (const f of await store.filesOf(d.id)) {
      if (f.status === "done" || (f.status === "error" && !f.error?.retry)) continue;
      if (!listed.has(f.materialCode)) {
        await saveFile(d.id, f.id, {
          status: "error",
          error: { message: "这项材料已不在您的材料清单中", detail: "material no longer on the checklist", field: f.materialCode, status: 0 },
        });
        continue;
      }
      if (signal?.aborted) throw signal.reason;
      await saveFile(d.id, f.id, { status: "uploading", error: null });
      try {
        await upload(f, d, {
          signal,
          onUrl: (url) => store.updateFile(f.id, { uploadUrl: url }),
          onProgress: (sent, total) => {
            onProgress(f.id, sent, total);
          },
          onChunk: (sent) => store.updateFile(f.id, { bytesSent: sent }),
        });
        await saveFile(d.id, f.id, { status: "done", bytesSent: f.size, error: null });
        changed = true;
      } catch (e) {
        if (isNetwork(e) || signal?.aborted) {
          await saveFile(d.id, f.id, { status: "queued" });
          throw e;
        }
        if (e.status === 410 || e.status === 404) {
          // The upload expired or is unknown: start it again next time, from byte 0.
          await saveFile(d.id, f.id, { status: "queued", uploadUrl: null, bytesSent: 0, error: { ...plainError(e), retry: true } });
          continue;
        }
        if (e.status === 401) throw e; // the session is over: sign in again, keep the queue
        // Refused (415 type, 413 size, 422 content): the citizen must choose another file.
        await saveFile(d.id, f.id, { status: "error", uploadUrl: null, error: plainError(e) });
        if (e.status === 409 && e.field === "state") throw e; // the case is no longer a draft
      }
    }
    if (changed) {
      const c = await client.getCase(d.caseId);
      d = await save(d.id, fromCase(c));
    }
    return d;
  }

  // 4. Submission (the same key every time: a replay returns the first result).
  async function submit(d) {
    const files = await store.filesOf(d.id);
    if (files.some((f) => f.status === "queued" || f.status === "uploading")) return d; // not yet
    try {
      const out = await client.submitCase(d.caseId, d.idempotencyKey);
      await save(d.id, { submitRequested: false, error: null, submitted: { caseId: d.caseId, number: out.number } });
      onSubmitted(d.id, out);
      await store.deleteDraft(d.id);
      onChange(d.id);
      return null;
    } catch (e) {
      if (isNetwork(e) || e.status === 401) throw e;
      // 422: materials missing (named in the message) — refresh the checklist so each shows it.
      const change = { submitRequested: false, error: { ...plainError(e), step: "submit" } };
      if (e.status === 422 || e.status === 409) {
        try {
          Object.assign(change, fromCase(await client.getCase(d.caseId)));
        } catch {
          /* the error itself is what matters */
        }
      }
      return save(d.id, change);
    }
  }

  async function runOnce(id, signal) {
    let d = await store.getDraft(id);
    if (!d) return { done: true };
    if (!isOnline()) return { offline: true };
    try {
      if (!d.caseId) d = await ensureCase(d);
      // A server draft kept from before cases said what they allow: ask once (the screens offer
      // nothing for it until then).
      else if (!Array.isArray(d.allowedActions)) d = await save(id, fromCase(await client.getCase(d.caseId)));
      const pending = pendingChanges(d);
      if (!signal.aborted && (pending.answers || pending.form)) d = await pushChanges(d);
      if (!signal.aborted) d = await uploadAll(d, signal);
      // Stopped (the citizen discards the draft): never submit what is being thrown away.
      if (signal.aborted) return { stopped: true };
      if (d.submitRequested) d = await submit(d);
      return { done: true };
    } catch (e) {
      if (signal.aborted) return { stopped: true };
      if (isNetwork(e)) return { offline: true, error: e };
      if (e instanceof ApiError && e.status === 404 && d.caseId && e.field !== "material_id") {
        // The server draft is gone (expired after its lifetime): start a new one next run, and
        // send every file again.
        await save(id, { caseId: null, checklist: null, creating: null, synced: { answers: 0, form: 0 } });
        for (const f of await store.filesOf(id)) await saveFile(id, f.id, { status: "queued", uploadUrl: null, bytesSent: 0, error: null });
        return { again: true };
      }
      if (e instanceof ApiError && e.status === 401) return { signedOut: true, error: e };
      let fresh = {};
      if (e instanceof ApiError && e.status === 409 && e.field === "state" && d.caseId) {
        // The server case is not the draft the phone took it for (submitted on another device):
        // learn what it allows now, so that the screens stop offering what it refuses.
        fresh = await client.getCase(d.caseId).then(fromCase, () => ({}));
      }
      await save(id, { ...fresh, error: plainError(e) });
      return { failed: true, error: e };
    }
  }

  /**
   * Run the queue of a draft. Runs of one draft never overlap: a call while one is running makes
   * that run go round once more (to pick up what was queued meanwhile) and shares its result.
   */
  function sync(id) {
    if (discarding.has(id)) return Promise.resolve({ stopped: true });
    const cur = running.get(id);
    if (cur) {
      cur.again = true;
      return cur.promise;
    }
    const entry = { again: false, stopped: false, controller: new AbortController(), promise: null };
    entry.promise = (async () => {
      let result;
      let rounds = 0;
      do {
        entry.again = false;
        result = await runOnce(id, entry.controller.signal);
        if (result.again) entry.again = true;
      } while (entry.again && !result.offline && !result.stopped && ++rounds < 5);
      return result;
    })().finally(() => running.delete(id));
    running.set(id, entry);
    return entry.promise;
  }

  /** Stop the run of a draft (aborting its upload in flight) and wait until it has ended. */
  async function stop(id) {
    const cur = running.get(id);
    if (!cur) return;
    cur.again = false;
    cur.controller.abort(new DOMException("the draft's run was stopped", "AbortError"));
    await cur.promise.catch(() => {});
  }

  /**
   * Discard a draft: stop its run, delete the server draft (a 404 means it is gone already), then
   * the draft and its files on the phone. Results: { done } | { gone } (no such draft any more,
   * e.g. submitted by the run just stopped) | { offline } | { signedOut } | { failed, error }
   * (409: submitted meanwhile). Unless done, the draft stays on the phone exactly as it was.
   * A draft that never reached the server (no case, no POST that may have made one) is deleted
   * offline too: there is nothing to disagree about.
   */
  async function discard(id) {
    discarding.add(id);
    try {
      await stop(id);
      const d = await store.getDraft(id);
      if (!d) return { gone: true };
      let caseId = d.caseId;
      if (caseId || d.creating) {
        if (!isOnline()) return { offline: true };
        if (!caseId) caseId = (await madeByLostPost(d))?.id ?? null;
        if (caseId) {
          try {
            await client.discardCase(caseId);
          } catch (e) {
            if (!(e instanceof ApiError && e.kind === "http" && e.status === 404)) throw e;
          }
        }
      }
      await store.deleteDraft(id);
      onChange(id);
      return { done: true };
    } catch (e) {
      if (isNetwork(e)) return { offline: true, error: e };
      if (e instanceof ApiError && e.status === 401) return { signedOut: true, error: e };
      return { failed: true, error: e };
    } finally {
      discarding.delete(id);
    }
  }

  return { sync, stop, discard, isRunning: (id) => running.has(id) };
}

/** The ApiError of a failed tus request (the server answers JSON with zh `message`). */
export function tusError(err) {
  const res = err?.originalResponse;
  const status = res?.getStatus?.() || 0;
  if (!status) return new ApiError({ kind: "network" });
  let body = null;
  try {
    body = JSON.parse(res.getBody() || "null");
  } catch {
    body = null;
  }
  return errorFromResponse(status, body, { get: (h) => res.getHeader(h) });
}

/**
 * An uploader for createSync on tus-js-client (loaded on first use, so it stays out of the home
 * bundle). `auth` is the api.js auth object: every request gets the current access token, and a
 * 401 refreshes it once (single-flight with the rest of the app) before tus retries.
 */
export function tusUploader({ auth, endpoint = "/api/v1/uploads", chunkSize = CHUNK_SIZE, retryDelays = RETRY_DELAYS, loadTus = () => import("tus-js-client") } = {}) {
  return async function upload(f, d, { onUrl, onProgress, onChunk, signal }) {
    const tus = await loadTus();
    if (signal?.aborted) throw signal.reason;
    return new Promise((resolve, reject) => {
      let refreshed = false;
      const up = new tus.Upload(f.blob, {
        endpoint,
        uploadUrl: f.uploadUrl || null, // resume where the last run (or the last page) stopped
        chunkSize,
        retryDelays,
        // The first chunk rides on the creating POST (creation-with-upload): a compressed photo
        // goes up in one round trip instead of two, which on a 4G link is most of the wait. A
        // connection lost during that request restarts the file (its URL was not yet known).
        uploadDataDuringCreation: true,
        // We keep the upload URL ourselves (in IndexedDB, next to the Blob): tus's own
        // fingerprints are built from File names and dates, which a stored Blob does not have.
        storeFingerprintForResuming: false,
        removeFingerprintOnSuccess: true,
        metadata: { case_id: String(d.caseId), material_id: f.materialCode, filename: f.name, filetype: f.type },
        async onBeforeRequest(req) {
          const t = auth.tokens.get();
          if (t) req.setHeader("Authorization", `Bearer ${t.access}`);
        },
        onShouldRetry(err) {
          const status = err?.originalResponse?.getStatus?.() || 0;
          if (status === 401) {
            // onAfterResponse has refreshed the token: repeat once with it, then give up.
            if (refreshed || !auth.tokens.get()) return false;
            refreshed = true;
            return true;
          }
          if (globalThis.navigator && navigator.onLine === false) return false; // resumed on "online"
          return !(status >= 400 && status < 500) || status === 409 || status === 423;
        },
        async onAfterResponse(req, res) {
          if (res.getStatus() === 401) {
            const t = auth.tokens.get();
            if (t) await auth.refresh(t.refresh).catch(() => {});
          }
        },
        onUploadUrlAvailable() {
          onUrl?.(up.url);
        },
        onProgress(sent, total) {
          onProgress?.(sent, total);
        },
        onChunkComplete(_size, accepted) {
          onChunk?.(accepted);
        },
        onSuccess() {
          resolve();
        },
        onError(err) {
          reject(tusError(err));
        },
      });
      // Stopped (the draft is being discarded): end the requests now. The partial upload is not
      // terminated with a tus DELETE: deleting the case takes its uploads with it.
      signal?.addEventListener(
        "abort",
        () => {
          Promise.resolve(up.abort(false)).catch(() => {});
          reject(signal.reason);
        },
        { once: true },
      );
      up.start();
    });
  };
}

// ---- the checklist as the screens show it

const DEFAULT_TYPES = ["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"];

/**
 * One entry per listed material: the server case's checklist (its status is the truth once the
 * case exists) joined with the catalog's details from the 一单载明 answer (originals, electronic
 * copies, accepted types), and the file queued on this phone. Before the server case exists the
 * catalog list alone is shown (the codes are the same: the server derives its list from it).
 * state: spared (免提交) | done | uploading | queued | error | missing.
 */
export function checklistOf(draft, files = []) {
  const listed = new Map(((draft.listing && draft.listing.materials) || []).map((m) => [m.code, m]));
  const base = draft.checklist || [...listed.values()].map((m) => ({
    code: m.code,
    name: m.name,
    required: m.required || m.conditional,
    source: m.source,
    reason: m.reason,
    status: "missing",
  }));
  const byCode = new Map(files.map((f) => [f.materialCode, f]));
  return base.map((m) => {
    const info = listed.get(m.code) || {};
    const file = byCode.get(m.code) || null;
    let state;
    if (file && file.status !== "done") state = file.status;
    else if (m.status === "attached" || (file && file.status === "done")) state = "done";
    else if (m.source === "certificate") state = "spared";
    else state = "missing";
    return {
      code: m.code,
      name: m.name,
      required: !!m.required,
      source: m.source,
      reason: m.reason || info.reason || "",
      description: info.description || "",
      bringOriginal: !!info.bring_original,
      electronicAccepted: info.electronic_accepted !== false,
      certificateTypeName: info.certificate_type_name || "",
      acceptedTypes: info.accepted_types && info.accepted_types.length ? info.accepted_types : DEFAULT_TYPES,
      maxSizeMb: info.max_size_mb || 10,
      serverStatus: m.status,
      filename: (file && file.name) || m.filename || "",
      size: file ? file.size : m.size || null,
      file,
      state,
    };
  });
}

/** Required materials that nothing will fill: no file on the server, none queued (or refused). */
export function blockingMaterials(entries) {
  return entries.filter((e) => e.required && e.source !== "certificate" && (e.state === "missing" || e.state === "error"));
}

/**
 * Why a chosen file cannot be queued for a material, as an i18n key with parameters, or null.
 * The server checks again from the bytes; this only saves a doomed upload.
 */
export function fileProblem(file, entry) {
  const type = String(file.type || "").toLowerCase();
  const types = entry.acceptedTypes || DEFAULT_TYPES;
  const isImage = type.startsWith("image/");
  if (!types.includes(type) && !(isImage && types.some((t) => t.startsWith("image/")))) {
    return { key: "apply.fileType" };
  }
  const max = (entry.maxSizeMb || 10) * 1024 * 1024;
  if (file.size > max) return { key: "apply.fileTooBig", params: { size: formatBytes(file.size), max: entry.maxSizeMb || 10 } };
  return null;
}

/** 1.2 MB, 850 KB, 12 B. */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return "";
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} B`;
}
