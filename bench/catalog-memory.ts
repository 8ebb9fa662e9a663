/**
 * Peak memory of measuring the architecture catalog for one input shape (what
 * `catalog.get` asks a task worker to do). Run it under /usr/bin/time to read
 * the peak; it prints the presets, the time and the resident memory at the end.
 *
 *   /usr/bin/time -f "%M KB peak" node --import tsx bench/catalog-memory.ts "[256,256,3]"
 */
import { initBackend } from '../src/engine/backend/select.js';
import { architectureCatalog } from '../src/engine/models/architecture-catalog.js';

await initBackend({ force: 'wasm' });
const shape = JSON.parse(process.argv[2] ?? '[32,32,1]') as [number, number, number];
const started = performance.now();
const rows = architectureCatalog(shape, 10);
console.log(
  rows.map((r) => `${r.name}:${(r.parameters / 1e6).toFixed(1)}M`).join(' '),
  `${Math.round(performance.now() - started)} ms`,
  `rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`,
);
