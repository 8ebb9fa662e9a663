/**
 * This engine against PyTorch on the same three LeNet-5 steps, measured in one sitting:
 *   synthesis    teacher LeNet-5 forward and backward to the input, tau^2 KL to soft targets
 *                minus the activation loss, Adam on the pixels (soft-target's paper settings);
 *   student-kd   LeNet-5-half, teacher logits given, KD loss at tau = 20, Adam on the weights;
 *   teacher-train LeNet-5, softmax cross-entropy, Adam on the weights.
 *
 *   node --import tsx bench/vs-pytorch.ts [--reps 10] [--warmup 3] [--rounds 5]
 *     [--synthesis-batch 256] [--kd-batch 128] [--train-batch 256] [--workers <cores>]
 *     [--python python3] [--out bench/results/vs-pytorch.json]
 *
 * The engine runs in worker processes of this script, through the product's own code: the
 * soft-target synthesizer and its pixel loop (optimizeInputs), optimizeStep with
 * distillationLoss and with softmax cross-entropy, on the backend initBackend picks. PyTorch
 * runs bench/vs-pytorch.py (Debian's python3-torch; without it the engine runs alone). Blocks of
 * `reps` timed steps after `warmup` untimed ones alternate between the two, `rounds` times
 * per step and in turn order (engine first, then PyTorch first), so both see the same load.
 * Two modes: one engine process against one torch thread, then all cores: `workers` engine
 * processes running the step at once (per-step ms from their summed throughput, as
 * bench/parallel-speedup.ts uses processes) against one torch process with that many threads.
 * Times are medians; ratio = pytorchMs / engineMs (above 1: the engine is faster).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultSettings } from '../src/shared/settings.js';
import { APP_VERSION } from '../src/engine/app-info.js';
import { initBackend } from '../src/engine/backend/select.js';
import { loadClassifier } from '../src/engine/models/classifier.js';
import { buildPreset } from '../src/engine/models/presets.js';
import { distillationLoss } from '../src/engine/synthesis/losses.js';
import type { Synthesizer } from '../src/engine/synthesis/method.js';
import { softTargetMethod } from '../src/engine/synthesis/soft-target.js';
import { tf } from '../src/engine/tf.js';
import { ScheduledAdam } from '../src/engine/train/schedule.js';
import { optimizeStep } from '../src/engine/train/step.js';
import { writeFileAtomic } from '../src/engine/util/atomic-fs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    'synthesis-batch': { type: 'string', default: '256' },
    'kd-batch': { type: 'string', default: '128' },
    'train-batch': { type: 'string', default: '256' },
    workers: { type: 'string', default: String(cpus().length) },
    python: { type: 'string' },
    out: { type: 'string', default: path.join(here, 'results', 'vs-pytorch.json') },
    worker: { type: 'boolean', default: false },
  },
});

type StepKey = 'synthesis' | 'kd' | 'train';
/** One block of timed steps, asked of an engine worker or of the PyTorch process. */
interface BlockRequest {
  step: StepKey;
  batch: number;
  warmup: number;
  reps: number;
  threads: number;
}
interface BlockReply {
  samplesMs: number[];
  /** Tensors a block left behind (the first block of a step creates Adam's moments: not counted). */
  leaked?: number;
}
const KD_TEMPERATURE = 20; // the distillation default (src/shared/job-settings.ts)

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

async function timeSteps(step: () => Promise<unknown>, warmup: number, reps: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await step();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await step();
    samples.push(performance.now() - start);
  }
  return samples;
}

/**
 * `count` pixel-step times from one synthesize() call of the product's synthesizer.
 * optimizeInputs reads `signal.aborted` once at the start of every step, so timing those reads
 * times whole steps of its own loop (minimize and clip); steps that also reported their losses
 * (an extra forward pass every 10 steps) are left out. Once enough are in, the read aborts.
 */
async function synthesisSamples(synthesizer: Synthesizer, batch: number, count: number, seed: number) {
  const samples: number[] = [];
  const controller = new AbortController();
  const enough = new Error('enough samples');
  let last: number | undefined;
  let reported = false;
  Object.defineProperty(controller.signal, 'aborted', {
    get: () => {
      const now = performance.now();
      if (last !== undefined && !reported) samples.push(now - last);
      [last, reported] = [now, false];
      if (samples.length < count) return false;
      controller.abort(enough);
      return true;
    },
  });
  const signal = controller.signal;
  await synthesizer.synthesize(batch, seed, { signal, onProgress: () => (reported = true) }).catch((e) => {
    if (e !== enough) throw e;
  });
  return samples;
}

/** The engine's side: one process that answers BlockRequests over IPC. */
async function engineWorker(): Promise<void> {
  const backend = await initBackend({});
  const teacher = await loadClassifier('builtin:mnist-lenet5');
  const fixtures = new Map<string, (warmup: number, reps: number) => Promise<number[]>>();
  let seed = 1;
  const weightStep = (model: ReturnType<typeof buildPreset>, loss: () => tf.Scalar) => {
    const optimizer = new ScheduledAdam(1e-3);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    return (warmup: number, reps: number) =>
      timeSteps(() => optimizeStep(optimizer, variables, loss, 'benchmark step'), warmup, reps);
  };
  const build = (step: StepKey, batch: number) => {
    if (step === 'synthesis') {
      // The paper's settings (KL and activation loss only); the iteration cap is never reached.
      const settings = { ...defaultSettings(softTargetMethod.fields), batchSize: batch, iterations: 100_000 };
      const synthesizer = softTargetMethod.create(teacher, settings);
      return async (warmup: number, reps: number) =>
        (await synthesisSamples(synthesizer, batch, warmup + reps, seed++)).slice(warmup);
    }
    const x = tf.randomNormal([batch, 32, 32, 1], 0, 1, 'float32', 2);
    if (step === 'kd') {
      const student = buildPreset('lenet5-half', { seed: 2 });
      const t = tf.randomNormal([batch, 10], 0, 5, 'float32', 3) as tf.Tensor2D;
      return weightStep(student, () =>
        distillationLoss(t, student.apply(x, { training: true }) as tf.Tensor2D, KD_TEMPERATURE),
      );
    }
    const model = buildPreset('lenet5', { seed: 3 });
    const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 4) as tf.Tensor1D, 10));
    return weightStep(
      model,
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    );
  };
  process.on('message', (message) => {
    const request = message as BlockRequest;
    const key = `${request.step}@${request.batch}`;
    const known = fixtures.get(key);
    const run = known ?? build(request.step, request.batch);
    fixtures.set(key, run);
    const before = tf.memory().numTensors;
    void run(request.warmup, request.reps).then((samplesMs) => {
      const leaked = known ? tf.memory().numTensors - before : 0;
      process.send?.({ samplesMs, leaked } satisfies BlockReply);
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ backend: backend.name });
}

/** A child process that answers one request at a time, in order. */
class Channel {
  private waiting: { resolve: (message: unknown) => void; reject: (error: Error) => void }[] = [];
  private exited?: Error;
  constructor(readonly child: ChildProcess) {
    child.on('exit', (code) => {
      this.exited = new Error(`benchmark process ${child.pid} exited (${code})`);
      for (const w of this.waiting.splice(0)) w.reject(this.exited);
    });
  }
  receive(message: unknown): void {
    this.waiting.shift()?.resolve(message);
  }
  next<T>(): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.exited) reject(this.exited);
      else this.waiting.push({ resolve: (message) => resolve(message as T), reject });
    });
  }
}

function startEngine(): Channel {
  const channel = new Channel(fork(fileURLToPath(import.meta.url), ['--worker'], { stdio: 'inherit' }));
  channel.child.on('message', (message) => channel.receive(message));
  return channel;
}

/** Starts bench/vs-pytorch.py under the first Python that has torch, or says why none did. */
async function startPytorch(): Promise<{
  channel?: Channel;
  python?: string;
  version?: string;
  why: string[];
}> {
  // pyenv or venv pythons often lack Debian's torch, which /usr/bin/python3 has.
  const candidates = values.python ? [values.python] : ['python3', '/usr/bin/python3'];
  const why: string[] = [];
  for (const python of candidates) {
    const child = spawn(python, [path.join(here, 'vs-pytorch.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
    const channel = new Channel(child);
    child.on('error', (error) => channel.receive({ torch: null, error: error.message }));
    child.stdin.on('error', () => undefined); // a Python without torch has exited already
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        channel.receive(JSON.parse(line));
      } catch {
        console.error(`${python}: ${line}`);
      }
    });
    const hello = await channel.next<{ torch: string | null; error?: string }>().catch((e: Error) => ({
      torch: null,
      error: e.message,
    }));
    if (hello.torch) return { channel, python, version: hello.torch, why };
    why.push(`${python}: ${hello.error ?? 'no torch'}`);
    child.stdin.end();
  }
  return { why };
}

function whole(name: keyof typeof values, min = 1): number {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number >= ${min}`);
  return value;
}

async function coordinate(): Promise<void> {
  const [reps, warmup, rounds] = [whole('reps'), whole('warmup', 0), whole('rounds')];
  const steps: { key: StepKey; name: string; batch: number }[] = [
    { key: 'synthesis', name: 'synthesis', batch: whole('synthesis-batch') },
    { key: 'kd', name: 'student-kd', batch: whole('kd-batch') },
    { key: 'train', name: 'teacher-train', batch: whole('train-batch') },
  ];
  const torch = await startPytorch();
  if (!torch.channel) {
    console.error(`PyTorch not found (${torch.why.join('; ')}): install Debian's python3-torch.`);
    console.error('Running the engine alone.');
  } else console.error(`PyTorch ${torch.version} (${torch.python})`);
  const engines = Array.from({ length: whole('workers') }, startEngine);
  const ready = await Promise.all(engines.map((e) => e.next<{ backend: string }>()));
  const backend = ready[0]?.backend ?? 'unknown';
  console.error(`engine: ${engines.length} worker process(es), backend ${backend}`);

  const modes = [
    { key: 'steps', label: '1 process', workers: engines.slice(0, 1), threads: 1 },
    { key: 'allCores', label: `${engines.length} cores`, workers: engines, threads: engines.length },
  ] as const;
  const report: Record<string, unknown> = {
    benchmark: 'vs-pytorch',
    cores: cpus().length,
    backend,
    workers: engines.length,
    pytorch: torch.channel ? { version: torch.version, python: torch.python } : { missing: torch.why },
    reps,
    warmup,
    rounds,
    appVersion: APP_VERSION,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    date: new Date().toISOString(),
  };
  const table: string[] = [];
  for (const mode of modes) {
    const engineSamples = steps.map(() => mode.workers.map((): number[] => []));
    const torchSamples = steps.map((): number[] => []);
    for (let round = 0; round < rounds; round++) {
      console.error(`${mode.label}: round ${round + 1} of ${rounds}`);
      for (const [s, step] of steps.entries()) {
        const request: BlockRequest = {
          step: step.key,
          batch: step.batch,
          warmup,
          reps,
          threads: mode.threads,
        };
        const runEngine = async () => {
          const replies = await Promise.all(
            mode.workers.map((w) => {
              const reply = w.next<BlockReply>();
              w.child.send(request);
              return reply;
            }),
          );
          replies.forEach((r, w) => {
            engineSamples[s]?.[w]?.push(...r.samplesMs);
            if (r.leaked) console.error(`warning: ${step.name} left ${r.leaked} tensors behind`);
          });
        };
        const runTorch = async () => {
          if (!torch.channel) return;
          const reply = torch.channel.next<BlockReply>();
          torch.channel.child.stdin?.write(JSON.stringify(request) + '\n');
          torchSamples[s]?.push(...(await reply).samplesMs);
        };
        for (const run of round % 2 === 0 ? [runEngine, runTorch] : [runTorch, runEngine]) await run();
      }
    }
    report[mode.key] = steps.map((step, s) => {
      // Throughput adds up across processes: per-step time of the whole machine is 1 / sum(1 / ms).
      const perWorker = (engineSamples[s] ?? []).map(median);
      const engineMs = round1(1 / perWorker.reduce((sum, ms) => sum + 1 / ms, 0));
      const pytorchMs = torch.channel ? round1(median(torchSamples[s] ?? [])) : null;
      const ratio = pytorchMs === null ? null : Math.round((pytorchMs / engineMs) * 100) / 100;
      table.push(
        `${mode.label.padEnd(10)} ${step.name.padEnd(14)} ${String(step.batch).padStart(5)} ` +
          `${engineMs.toFixed(1).padStart(10)} ${(pytorchMs?.toFixed(1) ?? '-').padStart(11)} ` +
          `${(ratio?.toFixed(2) ?? '-').padStart(6)}`,
      );
      return { name: step.name, batch: step.batch, engineMs, pytorchMs, ratio };
    });
  }
  torch.channel?.child.stdin?.end();
  for (const engine of engines) engine.child.disconnect();

  console.log(`${'mode'.padEnd(10)} ${'step'.padEnd(14)} batch  engine ms  pytorch ms  ratio`);
  for (const line of table) console.log(line);
  console.log('ratio = pytorch ms / engine ms: above 1, the engine is faster');
  await writeFileAtomic(path.resolve(values.out), JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${values.out}`);
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}

if (values.worker) await engineWorker();
else await coordinate();
