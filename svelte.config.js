import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** Svelte 5 with TypeScript in <script lang="ts">. */
export default {
  preprocess: vitePreprocess(),
};
