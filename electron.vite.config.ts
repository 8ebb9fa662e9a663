import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './vite.renderer.config.js';

const from = (file: string): string => resolve(import.meta.dirname, file);

/**
 * The desktop app's build: the main process (with the worker entries it
 * launches as utility processes), the preload script (CommonJS, as Electron's
 * sandbox requires) and the Svelte renderer. Output in out/.
 */
export default defineConfig({
  main: {
    build: {
      externalizeDeps: true,
      rolldownOptions: {
        input: {
          index: from('src/main/index.ts'),
          'task-worker': from('src/worker/task-worker.ts'),
          'shard-worker': from('src/worker/shard-worker.ts'),
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
