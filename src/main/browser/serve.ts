/**
 * Browser mode: `npm run serve` starts the app's services and serves the
 * renderer to a browser on this computer, for machines without the Electron
 * binary (and for the end-to-end tests). Prints the address to open.
 *
 *   node --import tsx src/main/browser/serve.ts [--workspace DIR] [--store DIR] [--port N] [--json]
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { forkLauncher } from '../../engine/job/launcher.js';
import { APP_VERSION } from '../../engine/app-info.js';
import { startBrowserServer } from './http-server.js';
import { chromiumPdfPrinter } from './chromium-pdf.js';
import { confStore } from './conf-store.js';
import { Services } from '../services/services.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const { values } = parseArgs({
  options: {
    workspace: { type: 'string', default: path.join(homedir(), 'Distill Studio') },
    store: { type: 'string', default: path.join(homedir(), '.config', 'distill-studio') },
    port: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});

let services: Services;
try {
  services = new Services({
    store: confStore(path.resolve(values.store!)),
    workspace: path.resolve(values.workspace!),
    launch: forkLauncher,
    taskEntry: path.join(root, 'src/worker/task-worker.ts'),
    shell: 'browser',
    version: APP_VERSION,
    pdf: chromiumPdfPrinter(),
  });
} catch (error) {
  process.stderr.write(
    `error: ${error instanceof Error ? error.message : String(error)}. Fix: install the newest Distill Studio; your projects were not changed.\n`,
  );
  process.exit(1);
}
const server = await startBrowserServer(services, {
  rendererDir: path.join(root, 'out/renderer'),
  port: Number(values.port),
});
if (values.json) {
  process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port, token: server.token })}\n`);
} else {
  process.stdout.write(
    `Distill Studio is running in browser mode.\nOpen this address in Chromium, Chrome or Firefox on this computer:\n\n  ${server.url}\n\nProjects are kept in ${values.workspace}. Press Ctrl+C to stop.\n`,
  );
}

const stop = (): void => {
  services.shutdown();
  void server.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
