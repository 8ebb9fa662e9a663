import type { Command } from '../command.js';

/** `backends`: which compute backend runs here and why the faster ones did not. */
export const backendsCommand: Command = {
  name: 'backends',
  summary: 'Show which compute backend runs on this machine, and why faster ones do not.',
  usage: '',
  help: 'Starts the fastest TensorFlow.js backend that loads (node-gpu, node, wasm, cpu) and reports what was tried.',
  options: {},
  async run({ backend }) {
    const info = await backend();
    const tried = info.tried.map((t) => `  ${t.name}: ${t.error ? `not available (${t.error})` : 'ok'}`);
    return { json: info, text: [`backend: ${info.name}`, ...tried].join('\n') };
  },
};
