/**
 * Accuracy at equal wall time (a benchmark, not a test): runs one
 * configuration of the round pipeline with a time budget on MNIST digits or
 * Fashion-MNIST (LeNet-5 -> LeNet-5-half, one process, i.e. one core), and
 * records the student's test accuracy after every round. Each run is saved
 * on its own in bench/results/budget-runs/ (a run already there is skipped,
 * so a long series completes across sessions, two runs at a time on two
 * cores), then all runs of the dataset are gathered into
 * bench/results/budget-<dataset>.json.
 *
 *   node --import tsx bench/budget.ts --dataset mnist --config rounds --budget 15m [--seed 1]
 *   node --import tsx bench/budget.ts --dataset mnist --gather
 *
 * Configurations: recommended (the starting method settings of src/shared/recommended.ts; the
 * student's temperature, images per round and shifts come from the flags, see KEYED_DEFAULTS,
 * so pass --temperature 4 --round-images 800 --shift relabel for the product's defaults), zskd-recommended,
 * noise-recommended, real (a reference, not data-free: each round's images are real training
 * images drawn at random, with the teacher's answers, so the same student training shows what
 * the student reaches from real images in the same time), and the first measurements' rounds, rounds-js0 (no
 * disagreement term), zskd-rounds, noise-rounds; --disagreement W,
 * --round-steps N, --round-images N, --restart F (share of each round started from earlier
 * images), --averaging D (the student kept is its weight average, decay D per step; the product's
 * default 0.9995, off here unless given), --lr-floor F (the student's learning rate falls on a
 * cosine over the budget to F of its peak; 1 keeps it constant), --lr-span D (the cosine runs over D,
 * e.g. 10m, when longer than the budget, so a short job ends partway down it; the product's default
 * 10m, off here unless given), --lr RATE and --temperature TAU (the
 * student's), --shift stored|relabel (random shifts of the student's images,
 * labelled by the stored answer or by the teacher), --mixup F, --flip F, --fade F, --soften F
 * (fractions of each batch blended, mirrored or faded, labelled by the teacher) and
 * --set NAME=VALUE change single
 * settings (named in the run's key); --tag NAME adds a word to the key (e.g. which teacher), and
 * --teacher PATH distils another teacher of the dataset (a tag must name it). --workers 2 runs synthesis in two
 * worker processes, as `distill` does on this machine, and --pipelined
 * lets them make the next round while the student trains (run it alone).
 *
 * `--config paper` is the paper's two stages at the paper's settings (`distill --settings paper`):
 * --samples images made first, then --epochs epochs over them. It has no budget of its own, so
 * --samples and --epochs are chosen to fill --budget; the run records the seconds it took, and
 * its curve has a point per epoch (test accuracy after it).
 *
 *   node --import tsx bench/budget.ts --dataset mnist --config paper --budget 15m --samples 9000 --epochs 80 --workers 2
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/shared/duration.js';
import type { JobResult, JobSpec, RoundPoint } from '../src/shared/job.js';
import { groupDefaults } from '../src/shared/job-settings.js';
import { RECOMMENDED_ROUNDS, startingMethodSettings } from '../src/shared/recommended.js';
import { initBackend } from '../src/engine/backend/select.js';
import { runJob } from '../src/engine/job/run-job.js';
import { WorkerPool } from '../src/engine/job/worker-pool.js';
import { getSynthesisMethod } from '../src/engine/synthesis/registry.js';
import { writeFileAtomic } from '../src/engine/util/atomic-fs.js';
import { resolveDataset } from '../src/engine/data/datasets.js';
import { toInputTensor } from '../src/engine/data/preprocess.js';
import type { ShardRunner } from '../src/engine/job/shards.js';
import type { ShardRunnerContext } from '../src/engine/job/run-job.js';
import { writeShardFile } from '../src/engine/transfer/shard-file.js';
import { tf } from '../src/engine/tf.js';
import { Rng } from '../src/engine/util/rng.js';

/**
 * What a run's key means when it does not name --round-images or --temperature: the round
 * pipeline's values when the first runs were keyed (the product now makes 800 images per round
 * at temperature 4), kept so that a saved run is never taken for a different configuration.
 */
const KEYED_DEFAULTS = { imagesPerRound: 400, temperature: 20 } as const;

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'mnist' },
    config: { type: 'string', default: 'rounds' },
    budget: { type: 'string', default: '15m' },
    seed: { type: 'string', default: '1' },
    disagreement: { type: 'string' },
    'round-steps': { type: 'string' },
    'round-images': { type: 'string' },
    restart: { type: 'string' },
    averaging: { type: 'string' },
    'lr-floor': { type: 'string' },
    'lr-span': { type: 'string' },
    workers: { type: 'string', default: '1' },
    lr: { type: 'string' },
    pipelined: { type: 'boolean', default: false },
    temperature: { type: 'string' },
    shift: { type: 'string' },
    mixup: { type: 'string' },
    flip: { type: 'string' },
    fade: { type: 'string' },
    soften: { type: 'string' },
    samples: { type: 'string' },
    epochs: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
    tag: { type: 'string' },
    teacher: { type: 'string' },
    gather: { type: 'boolean', default: false },
  },
});

const DATASETS: Record<string, { teacher: string; data: string; teacherCommand: string }> = {
  mnist: { teacher: 'builtin:mnist-lenet5', data: 'mnist-digits', teacherCommand: 'make example-teacher' },
  fashion: { teacher: 'runs/fashion-lenet5', data: 'fashion-mnist', teacherCommand: 'make fashion-teacher' },
};
/**
 * A configuration: method, method settings and round settings. `rounds`, `rounds-js0`,
 * `zskd-rounds` and `noise-rounds` are fixed (the first measurements: two-stage priors,
 * 100 pixel steps, 150 student steps, learning rate 0.001), so their keys keep one meaning;
 * `recommended` follows src/shared/recommended.ts.
 */
interface Config {
  method: string;
  methodSettings: Record<string, number | string>;
  disagreement: number;
  studentSteps: number;
  learningRate: number;
  /** The paper's two stages instead of rounds (sized by --samples and --epochs). */
  twoStage?: true;
}
const FIRST = { disagreement: 30, studentSteps: 150, learningRate: 0.001 };
const CONFIGS: Record<string, Config> = {
  rounds: {
    method: 'soft-target',
    methodSettings: { tv: 50, l2: 5, jitter: 2, init: 'smooth', iterations: 100 },
    ...FIRST,
  },
  'rounds-js0': {
    method: 'soft-target',
    methodSettings: { tv: 50, l2: 5, jitter: 2, init: 'smooth', iterations: 100 },
    ...FIRST,
    disagreement: 0,
  },
  'zskd-rounds': {
    method: 'zskd',
    methodSettings: { tv: 0.125, l2: 0.0125, jitter: 2, init: 'smooth', iterations: 100 },
    ...FIRST,
  },
  'noise-rounds': { method: 'noise', methodSettings: {}, ...FIRST, disagreement: 0 },
  paper: {
    method: 'soft-target',
    methodSettings: {},
    disagreement: 0,
    studentSteps: 0,
    learningRate: Number(groupDefaults('distill', 'two-stage').learningRate),
    twoStage: true,
  },
  real: {
    method: 'noise',
    methodSettings: {},
    disagreement: 0,
    studentSteps: RECOMMENDED_ROUNDS.studentSteps,
    learningRate: RECOMMENDED_ROUNDS.learningRate,
  },
  ...Object.fromEntries(
    ['soft-target', 'zskd', 'noise'].map((name) => {
      const method = getSynthesisMethod(name);
      return [
        name === 'soft-target' ? 'recommended' : `${name}-recommended`,
        {
          method: name,
          methodSettings: startingMethodSettings(method, 'rounds') as Record<string, number | string>,
          disagreement: name === 'noise' ? 0 : RECOMMENDED_ROUNDS.disagreement,
          studentSteps: RECOMMENDED_ROUNDS.studentSteps,
          learningRate: RECOMMENDED_ROUNDS.learningRate,
        },
      ];
    }),
  ),
};

const datasetName = values.dataset ?? 'mnist';
const dataset = DATASETS[datasetName];
if (!dataset) throw new Error(`--dataset must be one of ${Object.keys(DATASETS).join(', ')}`);
const RUNS_DIR = path.join('bench', 'results', 'budget-runs');
const OUT = path.join('bench', 'results', `budget-${datasetName}.json`);

interface BenchRun {
  key: string;
  method: string;
  settings: string;
  budgetSeconds: number;
  seed: number;
  /** Synthesis worker processes (1: everything in one process, one core). */
  workers: number;
  curve: { seconds: number; images: number; accuracy: number | null }[];
  finalAccuracy: number;
  teacherAccuracy: number;
  rounds: number;
  seconds: number;
  /** Of those seconds, the student's steps (the rest: waiting for images, evaluation, checkpoints). */
  trainingSeconds?: number;
  backend: string;
  /** The commit the code was at when the run started (with "+changes" when the tree differed). */
  commit?: string;
  methodSettings: JobResult['resolvedMethodSettings'];
  spec: JobSpec;
}

/** This checkout's commit, "+changes" added when tracked files differ from it; undefined outside git. */
function codeVersion(): string | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src'], {
      encoding: 'utf8',
    }).trim();
    return dirty ? `${commit}+changes` : commit;
  } catch {
    return undefined;
  }
}

if (!values.gather) await runOne();
await gather();

async function runOne(): Promise<void> {
  const configName = values.config ?? 'rounds';
  const config = CONFIGS[configName];
  if (!config) throw new Error(`--config must be one of ${Object.keys(CONFIGS).join(', ')}`);
  const budgetSeconds = parseDuration(values.budget ?? '15m');
  if (budgetSeconds === null) throw new Error('--budget must be a duration such as 15m');
  const lrSpanSeconds = parseDuration(values['lr-span'] ?? '0');
  if (lrSpanSeconds === null) throw new Error('--lr-span must be a duration such as 10m');
  if (values.teacher !== undefined && values.tag === undefined) {
    throw new Error('--teacher needs a --tag naming that teacher (it is not part of the run key otherwise)');
  }
  const teacherPath = values.teacher ?? dataset!.teacher;
  if (teacherPath.startsWith('runs/') && !existsSync(teacherPath)) {
    throw new Error(`No teacher in ${teacherPath}: run ${dataset!.teacherCommand} first`);
  }
  const disagreement = values.disagreement !== undefined ? Number(values.disagreement) : config.disagreement;
  const sets = Object.fromEntries((values.set ?? []).map((s) => s.split('=') as [string, string]));
  const seed = Number(values.seed);
  const roundSteps = Number(values['round-steps'] ?? config.studentSteps);
  const roundImages = Number(values['round-images'] ?? KEYED_DEFAULTS.imagesPerRound);
  const workers = Number(values.workers);
  if (configName === 'real' && workers > 1) throw new Error('--config real runs in one process');
  const twoStage = config.twoStage === true;
  if (twoStage !== (values.samples !== undefined && values.epochs !== undefined)) {
    throw new Error('--samples and --epochs go with --config paper (and it needs both)');
  }
  if (values.shift !== undefined && !['stored', 'relabel'].includes(values.shift)) {
    throw new Error('--shift must be stored or relabel');
  }
  const settingsName = [
    configName,
    ...(values.disagreement !== undefined ? [`js${disagreement}`] : []),
    ...(values['round-steps'] !== undefined ? [`steps${roundSteps}`] : []),
    ...(values['round-images'] !== undefined ? [`images${roundImages}`] : []),
    ...(values.restart !== undefined ? [`restart${values.restart}`] : []),
    ...(values.averaging !== undefined ? [`avg${values.averaging}`] : []),
    ...(values['lr-floor'] !== undefined ? [`floor${values['lr-floor']}`] : []),
    ...(values['lr-span'] !== undefined ? [`span${values['lr-span']}`] : []),
    ...(workers > 1 ? [`workers${workers}`] : []),
    ...(values.pipelined ? ['pipelined'] : []),
    ...(twoStage ? [`samples${values.samples}`, `epochs${values.epochs}`] : []),
    ...(values.lr !== undefined ? [`lr${values.lr}`] : []),
    ...(values.temperature !== undefined ? [`tau${values.temperature}`] : []),
    ...(values.shift !== undefined ? [`shift-${values.shift}`] : []),
    ...(values.mixup !== undefined ? [`mixup${values.mixup}`] : []),
    ...(values.flip !== undefined ? [`flip${values.flip}`] : []),
    ...(values.fade !== undefined ? [`fade${values.fade}`] : []),
    ...(values.soften !== undefined ? [`soften${values.soften}`] : []),
    ...Object.entries(sets).map(([k, v]) => `${k}=${v}`),
    ...(values.tag !== undefined ? [values.tag] : []),
  ].join(',');
  const key = `${datasetName}-${settingsName}-${budgetSeconds}s-seed${seed}`;
  const file = path.join(RUNS_DIR, `${key.replace(/[^a-zA-Z0-9,=.-]/g, '_')}.json`);
  if (existsSync(file)) {
    console.log(`${key}: already measured (${file})`);
    return;
  }
  const commit = codeVersion();
  const backend = await initBackend({});
  const runDir = path.join('runs', 'bench-budget', key);
  await fs.rm(runDir, { recursive: true, force: true });
  const paperDistill = groupDefaults('distill', 'two-stage') as JobSpec['distill'];
  const spec: JobSpec = {
    teacher: teacherPath,
    student: 'lenet5-half',
    method: config.method,
    methodSettings: { ...config.methodSettings, ...sets },
    samples: twoStage ? Number(values.samples) : 10,
    shardSize: twoStage ? Number(groupDefaults('job', 'two-stage').shardSize) : 1,
    holdout: 0,
    distill: twoStage
      ? { ...paperDistill, epochs: Number(values.epochs) }
      : {
          epochs: 1,
          batchSize: RECOMMENDED_ROUNDS.batchSize,
          learningRate: Number(values.lr ?? config.learningRate),
          temperature: Number(values.temperature ?? KEYED_DEFAULTS.temperature),
          augment: values.shift !== undefined,
          relabel: values.shift === 'relabel',
          mixup: Number(values.mixup ?? 0),
          flip: Number(values.flip ?? 0),
          fade: Number(values.fade ?? 0),
          soften: Number(values.soften ?? 0),
        },
    testData: dataset!.data,
    seed,
    workers,
    runDir,
    rounds: twoStage
      ? undefined
      : {
          budgetSeconds,
          maxRounds: 0,
          imagesPerRound: roundImages,
          studentSteps: roundSteps,
          disagreement,
          disagreementTemperature: RECOMMENDED_ROUNDS.disagreementTemperature,
          learningRateFloor: Number(values['lr-floor'] ?? RECOMMENDED_ROUNDS.learningRateFloor),
          // Off unless given (over the budget, as every earlier run), so earlier keys keep their meaning.
          learningRateSpanSeconds: lrSpanSeconds,
          restart: Number(values.restart ?? RECOMMENDED_ROUNDS.restart),
          // Off unless given, so that earlier runs' keys still name the same settings.
          averaging: Number(values.averaging ?? 0),
          pipelined: values.pipelined ?? false,
        },
  };
  console.log(`${key}: running for ${budgetSeconds} s on ${backend.name}`);
  const result = await runJob(spec, {
    ...(workers > 1 ? { shardRunner: (ctx) => new WorkerPool(ctx, backend.name) } : {}),
    ...(configName === 'real' ? { shardRunner: (ctx) => realImages(ctx, dataset!.data) } : {}),
    emit: (event) => {
      if (event.type === 'round') {
        const p = event.point;
        console.log(
          `  round ${p.round}: ${p.seconds.toFixed(0)} s, ${p.images} images, accuracy ${p.metric === null ? '-' : (p.metric * 100).toFixed(2)}%`,
        );
      }
    },
  });
  const evaluation = result.evaluation;
  if (!evaluation || !(result.rounds || twoStage)) throw new Error('the job did not evaluate its student');
  const course = result.rounds ?? twoStageCourse(result);
  const run: BenchRun = {
    key,
    method: config.method,
    settings: settingsName,
    budgetSeconds,
    seed,
    workers,
    curve: course.curve.map((p) => ({ seconds: p.seconds, images: p.images, accuracy: p.metric })),
    finalAccuracy: evaluation.student.accuracy,
    teacherAccuracy: evaluation.teacher.accuracy,
    rounds: course.count,
    seconds: course.seconds,
    trainingSeconds: result.distillation.seconds,
    backend: result.backend,
    ...(commit ? { commit } : {}),
    methodSettings: result.resolvedMethodSettings,
    spec,
  };
  await fs.mkdir(RUNS_DIR, { recursive: true });
  await writeFileAtomic(file, JSON.stringify(run, null, 2) + '\n');
  console.log(
    `${key}: ${(run.finalAccuracy * 100).toFixed(2)}% (teacher ${(run.teacherAccuracy * 100).toFixed(2)}%, ratio ${(run.finalAccuracy / run.teacherAccuracy).toFixed(3)}) after ${run.rounds} ${twoStage ? 'epochs' : 'rounds'}, ${run.seconds.toFixed(0)} s (${(run.trainingSeconds ?? 0).toFixed(0)} s of student steps)`,
  );
  await fs.rm(runDir, { recursive: true, force: true });
}

/**
 * The two stages' course in the rounds' terms: a point after each epoch, at the synthesis seconds
 * plus that share of the distillation's (the rounds' curve also counts their student's steps), and
 * the epochs as its count.
 */
function twoStageCourse(result: JobResult): { count: number; seconds: number; curve: RoundPoint[] } {
  const { synthesisSeconds } = result.transferSet;
  const { seconds, metricPerEpoch, lossPerEpoch } = result.distillation;
  const curve = metricPerEpoch.map((metric, epoch) => ({
    round: epoch + 1,
    seconds: synthesisSeconds + (seconds * (epoch + 1)) / metricPerEpoch.length,
    images: result.spec.samples,
    metric,
    loss: lossPerEpoch[epoch] ?? 0,
  }));
  return { count: curve.length, seconds: synthesisSeconds + seconds, curve };
}

/**
 * The reference runner of `--config real`: each shard holds real training images of the dataset,
 * drawn at random by the shard's seed, with the teacher's logits on them.
 */
function realImages(context: ShardRunnerContext, data: string): ShardRunner {
  const { teacher, transferDir } = context;
  const train = resolveDataset(data, 'train');
  return {
    run: async (tasks, callbacks) => {
      const images = await train;
      for (const task of tasks) {
        const rng = new Rng(task.seed);
        const indices = Array.from({ length: task.count }, () => rng.int(images.count));
        const [inputs, logits] = tf.tidy(() => {
          const x = toInputTensor(images, indices, teacher.preprocessing, teacher.inputShape);
          const y = teacher.model.predict(x) as tf.Tensor2D;
          return [x.dataSync() as Float32Array, y.dataSync() as Float32Array];
        });
        const batch = { count: task.count, inputs, logits, metrics: {} };
        const file = await writeShardFile(transferDir, task.index, batch);
        await callbacks.onShard({
          index: task.index,
          count: task.count,
          seed: task.seed,
          file: file.file,
          sha256: file.sha256,
          seconds: 0,
          metrics: {},
        });
      }
    },
  };
}

/** Gathers every saved run of the dataset into bench/results/budget-<dataset>.json. */
async function gather(): Promise<void> {
  if (!existsSync(RUNS_DIR)) return;
  const runs: BenchRun[] = [];
  for (const name of (await fs.readdir(RUNS_DIR)).sort()) {
    if (!name.startsWith(`${datasetName}-`) || !name.endsWith('.json')) continue;
    runs.push(JSON.parse(await fs.readFile(path.join(RUNS_DIR, name), 'utf8')) as BenchRun);
  }
  if (runs.length === 0) return;
  const out = {
    dataset: datasetName,
    teacherAccuracy: runs[0]!.teacherAccuracy,
    cores: 2,
    backend: runs[0]!.backend,
    note: 'A run with workers 1 is one process (one core), measured beside another such run on the 2-core machine; a run with workers 2 had the machine to itself.',
    runs: runs.map(({ spec: _spec, ...run }) => run),
  };
  await writeFileAtomic(OUT, JSON.stringify(out, null, 2) + '\n');
  console.log(`${OUT}: ${runs.length} runs`);
}
