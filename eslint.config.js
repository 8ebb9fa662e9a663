// @ts-check
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import tseslint from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

/** Imports each runtime folder may not use (see docs/architecture.md). */
const nodeOnly = ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads'];

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'bench/results/**', 'coverage/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    // <script lang="ts"> in components is parsed by typescript-eslint, so the same rules hold there.
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'], svelteConfig },
    },
    // Names are checked by svelte-check against the browser's library (tsconfig.web.json), as for .ts files.
    rules: { 'no-undef': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [...nodeOnly, 'electron', '@tensorflow/*'].map((group) => ({
            group: [group],
            message: 'src/shared is pure TypeScript: no Node, Electron, DOM or tfjs.',
          })),
        },
      ],
    },
  },
  {
    files: ['src/engine/**/*.ts', 'src/worker/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', message: 'The engine runs in plain Node: no Electron imports.' }] },
      ],
    },
  },
  {
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.svelte'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [...nodeOnly, 'electron', '@tensorflow/*', '**/main/**', '**/worker/**'].map((group) => ({
            group: [group],
            message: 'The renderer talks to the app only through src/shared/api.ts (ApiClient).',
          })),
        },
      ],
    },
  },
  {
    // Only the thin desktop shell touches Electron; the services run in plain Node (browser mode, tests).
    files: ['src/main/**/*.ts'],
    ignores: ['src/main/index.ts', 'src/main/electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'electron',
              message: 'Only src/main/index.ts and src/main/electron/ may import Electron.',
            },
            {
              name: 'electron-store',
              message: 'Only the desktop shell uses electron-store; services take a KeyValueStore.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['bin/**/*.js', 'scripts/**/*.js', 'scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
