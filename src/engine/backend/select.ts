import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UserError } from '../../shared/errors.js';
import { tf } from '../tf.js';
import { simdKernelsFor } from './simd-kernels.js';
import { registerWasmTrainingKernels } from './wasm-kernels.js';

/** A compute backend in the user's words (what `--backend` accepts, besides `auto`). */
export type BackendName = 'node-gpu' | 'node' | 'wasm' | 'cpu';

/** Every backend, fastest first: the order `auto` tries them in. */
export const BACKEND_ORDER: readonly BackendName[] = ['node-gpu', 'node', 'wasm', 'cpu'];

/** Which backend runs, and what was tried before it. Saved with every artifact. */
export interface BackendInfo {
  /** The backend in use. */
  name: BackendName;
  /** The name tfjs knows it by (`tf.getBackend()`), e.g. `tensorflow` for node and node-gpu. */
  tfjsBackend: string;
  /** What was asked for: `auto`, or a backend forced by `--backend` / DISTILL_BACKEND. */
  requested: BackendName | 'auto';
  /** Every backend attempted, in order, with why it failed (no `error`: the one in use). */
  tried: { name: BackendName; error?: string }[];
}

/** The environment variable that picks the backend when no option does. */
export const BACKEND_ENV = 'DISTILL_BACKEND';

/** How to bring up one backend, and what to tell the user when that fails. */
interface BackendLoader {
  /** The name the package registers with tfjs. */
  tfjsBackend: string;
  /** The npm package that provides it. */
  packageName: string;
  /** Imports, configures and activates the backend; throws an Error whose message is a short reason. */
  start(): Promise<void>;
  /** The fix shown when this backend was forced and did not start. */
  fix: string;
}

// Resolves packages from this file's location, the same way the imports do. (Not named
// `require`: the app's bundler declares its own `require` in the same chunk.)
const resolver = createRequire(import.meta.url);

/** Throws "not installed" unless the package can be resolved; returns its entry file. */
function resolveInstalled(packageName: string): string {
  try {
    return resolver.resolve(packageName);
  } catch {
    throw new Error('not installed');
  }
}

/** Imports an optional package by a computed name, so TypeScript needs neither it nor its types. */
async function importOptional(packageName: string): Promise<void> {
  resolveInstalled(packageName);
  try {
    await import(/* @vite-ignore */ packageName);
  } catch (error) {
    throw new Error(`installed but failed to load: ${firstLine(error)}`, { cause: error });
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** Makes a registered tfjs backend the active one, or throws why not. */
async function activate(tfjsBackend: string, packageName: string): Promise<void> {
  if (!tf.findBackendFactory(tfjsBackend)) {
    // The package loaded but registered itself with another copy of
    // tfjs-core, which happens when its tfjs version differs from ours.
    throw new Error(
      `${packageName} did not register the "${tfjsBackend}" backend with this app's tfjs-core ${tf.version_core} (version mismatch?)`,
    );
  }
  // setBackend reports failure as false (and a tfjs console warning), not by throwing.
  if (!(await tf.setBackend(tfjsBackend))) throw new Error('tfjs could not initialise it');
  await tf.ready();
}

/** tfjs-node and tfjs-node-gpu, which both register as "tensorflow". */
function tensorflowLoader(packageName: string, fix: string): BackendLoader {
  return {
    tfjsBackend: 'tensorflow',
    packageName,
    fix,
    async start() {
      // A failed attempt with the other package may have left its factory
      // registered, and tfjs ignores a second registration under the same name.
      if (tf.findBackendFactory('tensorflow') && tf.getBackend() !== 'tensorflow')
        tf.removeBackend('tensorflow');
      await importOptional(packageName);
      await activate('tensorflow', packageName);
    },
  };
}

const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

async function startWasm(): Promise<void> {
  // The package's Node entry lives in dist/, next to the .wasm binaries.
  const distDir = path.dirname(resolveInstalled(WASM_PACKAGE));
  if (!existsSync(path.join(distDir, 'tfjs-backend-wasm.wasm')))
    throw new Error(`its .wasm files are missing from ${distDir}`);
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Point it at the binaries explicitly: once the engine is bundled (Electron)
  // the default, "next to the running script", is wrong, and it must never
  // fall back to fetching them.
  wasm.setWasmPaths(distDir + path.sep);
  registerWasmTrainingKernels();
  // Emscripten's Node glue installs process handlers that rethrow every
  // uncaught error from inside its minified bundle, so Node prints a 100 kB
  // source line instead of the real stack. Remove just the handlers it adds.
  const before = {
    uncaughtException: new Set(process.listeners('uncaughtException')),
    unhandledRejection: new Set(process.listeners('unhandledRejection')),
  };
  try {
    await activate('wasm', WASM_PACKAGE);
  } finally {
    for (const listener of process.listeners('uncaughtException')) {
      if (!before.uncaughtException.has(listener)) process.removeListener('uncaughtException', listener);
    }
    for (const listener of process.listeners('unhandledRejection')) {
      if (!before.unhandledRejection.has(listener)) process.removeListener('unhandledRejection', listener);
    }
  }
}

const LOADERS: Readonly<Record<BackendName, BackendLoader>> = {
  'node-gpu': tensorflowLoader(
    '@tensorflow/tfjs-node-gpu',
    'Install @tensorflow/tfjs-node-gpu (needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1), or use --backend auto',
  ),
  node: tensorflowLoader(
    '@tensorflow/tfjs-node',
    'Install @tensorflow/tfjs-node (npm install @tensorflow/tfjs-node; it downloads libtensorflow), or use --backend wasm',
  ),
  wasm: {
    tfjsBackend: 'wasm',
    packageName: WASM_PACKAGE,
    fix: "Reinstall the app's dependencies (npm ci), or use --backend cpu",
    start: startWasm,
  },
  cpu: {
    tfjsBackend: 'cpu',
    packageName: '@tensorflow/tfjs-backend-cpu',
    fix: "Reinstall the app's dependencies (npm ci)",
    async start() {
      await import('@tensorflow/tfjs-backend-cpu');
      await activate('cpu', '@tensorflow/tfjs-backend-cpu');
    },
  },
};

/**
 * Reads a backend name as typed by a user (`--backend`, DISTILL_BACKEND).
 * Throws a usage error listing the valid names for anything else.
 */
export function parseBackendName(value: string, source = '--backend'): BackendName | 'auto' {
  const name = value.trim().toLowerCase();
  if (name === 'auto') return 'auto';
  const known = BACKEND_ORDER.find((b) => b === name);
  if (known) return known;
  throw new UserError(
    'USAGE',
    `${source} "${value}" is not a compute backend`,
    `Use one of: auto, ${BACKEND_ORDER.join(', ')}`,
  );
}

let current: BackendInfo | undefined;
// Calls are serialised so that two callers never switch backends under each other.
let queue: Promise<unknown> = Promise.resolve();

/** The backend chosen by the last successful initBackend, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

/**
 * Starts the fastest backend that loads here (node-gpu, node, wasm, cpu), or
 * the one forced by `options.force`, else by the DISTILL_BACKEND variable.
 * Calling it again returns the same backend unless a different `force` is
 * given. A forced backend that does not start is a UserError saying why and
 * how to fix it; `auto` falls through to the next backend and logs one line
 * naming the backend and why the faster ones were skipped.
 */
export function initBackend(
  options: { force?: BackendName | 'auto'; log?: (line: string) => void } = {},
): Promise<BackendInfo> {
  const run = queue.then(() => select(options));
  queue = run.catch(() => undefined);
  return run;
}

async function select(options: {
  force?: BackendName | 'auto';
  log?: (line: string) => void;
}): Promise<BackendInfo> {
  if (current && (options.force === undefined || options.force === current.requested)) return current;
  const fromEnv = process.env[BACKEND_ENV];
  const requested = options.force ?? (fromEnv ? parseBackendName(fromEnv, BACKEND_ENV) : 'auto');
  if (current && requested === current.requested) return current;

  const candidates = requested === 'auto' ? BACKEND_ORDER : [requested];
  const tried: BackendInfo['tried'] = [];
  for (const name of candidates) {
    const loader = LOADERS[name];
    try {
      await loader.start();
    } catch (error) {
      const reason = firstLine(error);
      tried.push({ name, error: reason });
      if (requested !== 'auto') {
        throw new UserError(
          'BACKEND_UNAVAILABLE',
          `The ${name} backend (${loader.packageName}) could not start: ${reason}`,
          loader.fix,
          { cause: error },
        );
      }
      continue;
    }
    tried.push({ name });
    current = { name, tfjsBackend: tf.getBackend(), requested, tried };
    options.log?.(describe(current));
    return current;
  }
  throw new UserError(
    'NO_BACKEND',
    `No compute backend could start (${tried.map((t) => `${t.name}: ${t.error ?? 'failed'}`).join('; ')})`,
    "Reinstall the app's dependencies (npm ci)",
  );
}

/** On wasm, whether Distill Studio's SIMD kernels run ('with SIMD kernels'); '' elsewhere. */
export function simdKernelsNote(info: BackendInfo): string {
  if (info.name !== 'wasm') return '';
  return simdKernelsFor(tf.backend()) ? 'with SIMD kernels' : 'without SIMD kernels';
}

/**
 * One line for the log, e.g. `backend: wasm with SIMD kernels (tried node-gpu: not installed,
 * node: not installed)`: on wasm, it also says whether Distill Studio's own kernels
 * (simd/kernels.c) run, since they change its speed 1.4-1.75x.
 */
function describe(info: BackendInfo): string {
  const kernels = simdKernelsNote(info);
  const name = kernels ? `${info.name} ${kernels}` : info.name;
  if (info.requested !== 'auto') return `backend: ${name} (forced)`;
  const failed = info.tried.filter((t) => t.error !== undefined).map((t) => `${t.name}: ${t.error}`);
  return failed.length > 0 ? `backend: ${name} (tried ${failed.join(', ')})` : `backend: ${name}`;
}
