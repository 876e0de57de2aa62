// Draws icon.png (128×128) and logo.png (250×100) for the add-on store: a camera above a patch
// panel with two cables. Only node:zlib is used; run `node addon/tools/make-images.mjs`.
import { Buffer } from 'node:buffer';
import { writeFileSync } from 'node:fs';
import { URL } from 'node:url';
import { deflateSync } from 'node:zlib';

const NAVY = [23, 50, 77, 255];
const PANEL = [15, 34, 54, 255];
const LIGHT = [232, 238, 245, 255];
const BLUE = [63, 169, 245, 255];
const ORANGE = [255, 159, 28, 255];
const TEAL = [46, 196, 182, 255];
const WHITE = [255, 255, 255, 255];
const TEXT = [31, 111, 178, 255];

// Signed distance functions: negative inside.
const circle = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) - r;
const roundRect = (cx, cy, hw, hh, r) => (x, y) => {
  const qx = Math.abs(x - cx) - hw + r;
  const qy = Math.abs(y - cy) - hh + r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
};
const capsule = (ax, ay, bx, by, w) => (x, y) => {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - ax - t * dx, y - ay - t * dy) - w / 2;
};

/** The motif in a 128-unit square; `s` scales it, (ox, oy) moves it. */
function motif(s, ox, oy) {
  const S = (f) => (x, y) => f((x - ox) / s, (y - oy) / s) * s;
  const shapes = [
    [roundRect(64, 64, 64, 64, 24), NAVY],
    [roundRect(64, 99, 46, 15, 6), PANEL],
    [capsule(34, 99, 50, 70, 5), ORANGE],
    [capsule(94, 99, 78, 70, 5), TEAL],
    [roundRect(46, 27, 9, 6, 2), LIGHT],
    [roundRect(64, 50, 36, 23, 8), LIGHT],
    [circle(64, 50, 17), NAVY],
    [circle(64, 50, 11), BLUE],
    [circle(60, 46, 3), WHITE],
  ];
  for (const x of [34, 54, 74, 94]) {
    shapes.push([circle(x, 99, 6), LIGHT], [circle(x, 99, 3), PANEL]);
  }
  return shapes.map(([f, c]) => [S(f), c]);
}

const GLYPHS = {
  S: ['01111', '10000', '10000', '01110', '00001', '00001', '11110'],
  W: ['10001', '10001', '10001', '10101', '10101', '10101', '01010'],
  I: ['01110', '00100', '00100', '00100', '00100', '00100', '01110'],
  T: ['11111', '00100', '00100', '00100', '00100', '00100', '00100'],
  C: ['01111', '10000', '10000', '10000', '10000', '10000', '01111'],
  H: ['10001', '10001', '10001', '11111', '10001', '10001', '10001'],
  B: ['11110', '10001', '10001', '11110', '10001', '10001', '11110'],
  O: ['01110', '10001', '10001', '10001', '10001', '10001', '01110'],
  A: ['01110', '10001', '10001', '11111', '10001', '10001', '10001'],
  R: ['11110', '10001', '10001', '11110', '10100', '10010', '10001'],
  D: ['11110', '10001', '10001', '10001', '10001', '10001', '11110'],
};

/** Text as slightly rounded blocks, `px` units per font pixel, top-left at (x0, y0). */
function text(str, x0, y0, px, color) {
  const shapes = [];
  [...str].forEach((ch, i) => {
    GLYPHS[ch].forEach((row, r) => {
      [...row].forEach((bit, c) => {
        if (bit === '1') shapes.push([roundRect(x0 + (i * 6 + c + 0.5) * px, y0 + (r + 0.5) * px, px / 2 + 0.2, px / 2 + 0.2, px / 5), color]);
      });
    });
  });
  return shapes;
}

/** Renders with 4×4 supersampling; later shapes paint over earlier ones. */
function render(width, height, shapes) {
  const rgba = Buffer.alloc(width * height * 4);
  const N = 4;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < N; sy++) {
        for (let sx = 0; sx < N; sx++) {
          const px = x + (sx + 0.5) / N, py = y + (sy + 0.5) / N;
          let hit = null;
          for (const [f, c] of shapes) if (f(px, py) <= 0) hit = c;
          if (hit) {
            r += hit[0]; g += hit[1]; b += hit[2]; a += hit[3];
          }
        }
      }
      const n = N * N, i = (y * width + x) * 4;
      // Colour averaged over covered samples only, so edges do not darken.
      const covered = a / 255 || 1;
      rgba[i] = Math.round(r / covered);
      rgba[i + 1] = Math.round(g / covered);
      rgba[i + 2] = Math.round(b / covered);
      rgba[i + 3] = Math.round(a / n);
    }
  }
  return rgba;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(width, height, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const root = new URL('../../', import.meta.url);
writeFileSync(new URL('icon.png', root), png(128, 128, render(128, 128, motif(1, 0, 0))));
const logoShapes = [...motif(92 / 128, 4, 4), ...text('SWITCH', 110, 22, 3.5, TEXT), ...text('BOARD', 110, 53, 3.5, TEXT)];
writeFileSync(new URL('logo.png', root), png(250, 100, render(250, 100, logoShapes)));
