// Size budget of the home route (DESIGN §6: first load ≤ 150 KB of gzipped JavaScript).
// Reads dist/.vite/manifest.json: the entry chunk, its static imports, and the dynamic imports it
// makes at start-up that are not route screens (src/views/*, loaded on navigation), with all
// their CSS. Fails (exit 1) over JS 150 KB or CSS 60 KB gzipped. Run after `npm run build`.
// Then the staff console's entry (dist/staff, its own build: vite.staff.config.js): the entry chunk
// and its static imports with their CSS, ≤ 350 KB gzipped JS and ≤ 120 KB gzipped CSS.
import { readFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const LIMITS = { js: 150 * 1024, css: 60 * 1024 };
const manifestPath = join(DIST, ".vite", "manifest.json");
if (!existsSync(manifestPath)) {
  console.error(`budget: ${manifestPath} is missing; run npm run build first`);
  process.exit(2);
}
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const isRoute = (key) => /(^|\/)src\/views\//.test(key) && !/\/Home\.vue$/.test(key);

const entry = Object.keys(manifest).find((k) => manifest[k].isEntry && /index\.html$|src\/main\.js$/.test(k));
if (!entry) {
  console.error("budget: no entry chunk in the manifest");
  process.exit(2);
}
const seen = new Set();
const files = { js: new Set(), css: new Set() };
(function visit(key) {
  if (seen.has(key) || !manifest[key]) return;
  seen.add(key);
  const c = manifest[key];
  if (c.file.endsWith(".js")) files.js.add(c.file);
  for (const css of c.css || []) files.css.add(css);
  for (const k of c.imports || []) visit(k);
  for (const k of c.dynamicImports || []) if (!isRoute(k)) visit(k);
})(entry);

const size = (f) => {
  const buf = readFileSync(join(DIST, f));
  return { raw: buf.length, gz: gzipSync(buf, { level: 9 }).length };
};
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
let failed = false;
for (const kind of ["js", "css"]) {
  let raw = 0;
  let gz = 0;
  console.log(`home route ${kind.toUpperCase()}:`);
  for (const f of [...files[kind]].sort()) {
    const s = size(f);
    raw += s.raw;
    gz += s.gz;
    console.log(`  ${f.padEnd(48)} ${kb(s.raw).padStart(10)} raw ${kb(s.gz).padStart(10)} gzip`);
  }
  const ok = gz <= LIMITS[kind];
  failed ||= !ok;
  console.log(`  total ${kind.toUpperCase()}: ${kb(raw)} raw, ${kb(gz)} gzip (limit ${kb(LIMITS[kind])} gzip) ${ok ? "OK" : "OVER BUDGET"}`);
}

// ---- the staff console (its own manifest; its lazy screens are not initial)
const STAFF = join(DIST, "staff");
const STAFF_LIMITS = { js: 350 * 1024, css: 120 * 1024 };
const staffManifestPath = join(STAFF, ".vite", "manifest.json");
if (!existsSync(staffManifestPath)) {
  console.error(`budget: ${staffManifestPath} is missing; run npm run build first`);
  process.exit(2);
}
const staffManifest = JSON.parse(readFileSync(staffManifestPath, "utf8"));
const staffEntry = Object.keys(staffManifest).find((k) => staffManifest[k].isEntry);
const staffFiles = { js: new Set(), css: new Set() };
const staffSeen = new Set();
(function visit(key) {
  if (staffSeen.has(key) || !staffManifest[key]) return;
  staffSeen.add(key);
  const c = staffManifest[key];
  if (c.file.endsWith(".js")) staffFiles.js.add(c.file);
  for (const css of c.css || []) staffFiles.css.add(css);
  for (const k of c.imports || []) visit(k);
})(staffEntry);
for (const kind of ["js", "css"]) {
  let raw = 0;
  let gz = 0;
  console.log(`staff console entry ${kind.toUpperCase()}:`);
  for (const f of [...staffFiles[kind]].sort()) {
    const buf = readFileSync(join(STAFF, f));
    const s = { raw: buf.length, gz: gzipSync(buf, { level: 9 }).length };
    raw += s.raw;
    gz += s.gz;
    console.log(`  ${f.padEnd(48)} ${kb(s.raw).padStart(10)} raw ${kb(s.gz).padStart(10)} gzip`);
  }
  const ok = gz <= STAFF_LIMITS[kind];
  failed ||= !ok;
  console.log(`  total ${kind.toUpperCase()}: ${kb(raw)} raw, ${kb(gz)} gzip (limit ${kb(STAFF_LIMITS[kind])} gzip) ${ok ? "OK" : "OVER BUDGET"}`);
}
process.exit(failed ? 1 : 0);
