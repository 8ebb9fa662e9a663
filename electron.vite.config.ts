import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Plugin } from 'vite';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './vite.renderer.config.js';
import { STAMP_FILE, sourceStamp } from './bin/source-stamp.js';

const from = (file: string): string => resolve(import.meta.dirname, file);

/**
 * Records the fingerprint of the sources beside the main build, taken as the build starts:
 * bin/distill-studio.js runs the built command line only while the sources still match it.
 */
function sourceStampPlugin(): Plugin {
  let stamp = '';
  return {
    name: 'distill-studio-source-stamp',
    buildStart() {
      stamp = sourceStamp(import.meta.dirname);
    },
    writeBundle(options) {
      if (options.dir) writeFileSync(join(options.dir, STAMP_FILE), `${stamp}\n`);
    },
  };
}

/**
 * The desktop app's build: the main process (with the worker entries it
 * launches as utility processes), the preload script (CommonJS, as Electron's
 * sandbox requires) and the Svelte renderer. Output in out/.
 */
export default defineConfig({
  main: {
    plugins: [sourceStampPlugin()],
    build: {
      externalizeDeps: true,
      rolldownOptions: {
        input: {
          index: from('src/main/index.ts'),
          'task-worker': from('src/worker/task-worker.ts'),
          'shard-worker': from('src/worker/shard-worker.ts'),
          // The command line, bundled like the app's processes (bin/distill-studio.js runs it).
          cli: from('src/cli/main.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rolldownOptions: {
        input: { index: from('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: rendererConfig,
});
