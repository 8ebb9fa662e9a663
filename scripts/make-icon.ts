/**
 * Draws the app icon (build/icon.png, 1024x1024): a large disc (the teacher)
 * passing its knowledge along an arrow to a small disc (the student), on a
 * rounded blue square. electron-builder derives the .ico and .icns from it.
 *
 *   node --import tsx scripts/make-icon.ts
 */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

const SIZE = 1024;
const png = new PNG({ width: SIZE, height: SIZE });

/** Coverage of a pixel by a shape, 4x4 supersampled for smooth edges. */
function coverage(x: number, y: number, inside: (px: number, py: number) => boolean): number {
  let hits = 0;
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) if (inside(x + (i + 0.5) / 4, y + (j + 0.5) / 4)) hits++;
  return hits / 16;
}

const roundedSquare = (px: number, py: number): boolean => {
  const r = 200;
  const m = 40;
  const cx = Math.min(Math.max(px, m + r), SIZE - m - r);
  const cy = Math.min(Math.max(py, m + r), SIZE - m - r);
  return (px - cx) ** 2 + (py - cy) ** 2 <= r * r;
};
const disc = (cx: number, cy: number, r: number) => (px: number, py: number) =>
  (px - cx) ** 2 + (py - cy) ** 2 <= r * r;
const teacher = disc(360, 512, 210);
const student = disc(790, 512, 110);
const arrow = (px: number, py: number): boolean =>
  (px >= 560 && px <= 640 && Math.abs(py - 512) <= 28) ||
  (px >= 630 && px <= 690 && Math.abs(py - 512) <= (690 - px) * 1.1);

for (let y = 0; y < SIZE; y++) {
  for (let x = 0; x < SIZE; x++) {
    const i = (y * SIZE + x) * 4;
    const bg = coverage(x, y, roundedSquare);
    const t = y / SIZE;
    let rgb = [Math.round(30 + 10 * t), Math.round(64 + 40 * t), Math.round(175 + 40 * t)];
    const white = Math.max(coverage(x, y, teacher), coverage(x, y, arrow));
    const accent = coverage(x, y, student);
    rgb = rgb.map((c) => c * (1 - white) + 255 * white);
    rgb = rgb.map((c, k) => c * (1 - accent) + [125, 211, 252][k]! * accent);
    png.data[i] = Math.round(rgb[0]!);
    png.data[i + 1] = Math.round(rgb[1]!);
    png.data[i + 2] = Math.round(rgb[2]!);
    png.data[i + 3] = Math.round(255 * bg);
  }
}
writeFileSync(new URL('../build/icon.png', import.meta.url), PNG.sync.write(png));
