// Draws the app emblem (a golden star over a hall with columns, on red) and writes the PNG
// icons of the manifest into public/icons/. Dependency-free: shapes are rasterised here with
// 4×4 supersampling and encoded with node:zlib. Run: npm run icons (outputs are committed).
import { deflateSync } from "node:zlib";
import { writeFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "..", "public", "icons");
const RED = [183, 28, 28];
const GOLD = [255, 213, 79];

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (let n = 0; n < buf.length; n++) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function inPolygon(x, y, pts) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i];
    const [xj, yj] = pts[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function star(cx, cy, r) {
  const pts = [];
  for (let i = 0; i < 10; i++) {
    const a = -Math.PI / 2 + (i * Math.PI) / 5;
    const rr = i % 2 ? r * 0.382 : r;
    pts.push([cx + rr * Math.cos(a), cy + rr * Math.sin(a)]);
  }
  return pts;
}

const rect = (x0, y0, x1, y1) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];

// The emblem in unit coordinates (0..1), scaled by `s` around the centre.
function emblemShapes(s) {
  const t = (v) => 0.5 + (v - 0.5) * s;
  const P = (pts) => pts.map(([x, y]) => [t(x), t(y)]);
  return [
    P(star(0.5, 0.27, 0.13)),
    P([[0.5, 0.4], [0.8, 0.52], [0.2, 0.52]]), // roof
    P(rect(0.24, 0.54, 0.76, 0.575)), // lintel
    P(rect(0.28, 0.6, 0.35, 0.76)),
    P(rect(0.465, 0.6, 0.535, 0.76)),
    P(rect(0.65, 0.6, 0.72, 0.76)),
    P(rect(0.2, 0.78, 0.8, 0.83)), // base
  ];
}

function draw(size, { maskable }) {
  const buf = Buffer.alloc(size * size * 4);
  const shapes = emblemShapes(maskable ? 0.72 : 0.86);
  const SS = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let bg = 0, gold = 0;
      for (let sy = 0; sy < SS; sy++) {
        for (let sx = 0; sx < SS; sx++) {
          const x = (px + (sx + 0.5) / SS) / size;
          const y = (py + (sy + 0.5) / SS) / size;
          const inBg = maskable || (x - 0.5) ** 2 + (y - 0.5) ** 2 <= 0.49 ** 2;
          if (!inBg) continue;
          bg++;
          if (shapes.some((p) => inPolygon(x, y, p))) gold++;
        }
      }
      const n = SS * SS;
      const o = (py * size + px) * 4;
      const a = bg / n;
      if (!a) continue;
      const g = gold / bg;
      buf[o] = Math.round(RED[0] * (1 - g) + GOLD[0] * g);
      buf[o + 1] = Math.round(RED[1] * (1 - g) + GOLD[1] * g);
      buf[o + 2] = Math.round(RED[2] * (1 - g) + GOLD[2] * g);
      buf[o + 3] = Math.round(255 * a);
    }
  }
  return png(size, buf);
}

mkdirSync(OUT, { recursive: true });
const outputs = [
  ["icon-192.png", 192, false],
  ["icon-512.png", 512, false],
  ["maskable-512.png", 512, true],
  ["apple-touch-icon.png", 180, true],
];
for (const [name, size, maskable] of outputs) {
  writeFileSync(join(OUT, name), draw(size, { maskable }));
  console.log(`wrote public/icons/${name} (${size}×${size}${maskable ? ", maskable" : ""})`);
}
