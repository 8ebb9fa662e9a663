/**
 * A teacher from another framework, end to end: a Fashion-MNIST CNN trained and exported to ONNX
 * by PyTorch (bench/onnx-pytorch.py), then inspected, evaluated, distilled and its student
 * exported to ONNX by the app's own CLI, as a user would run them.
 *
 *   nice -n 19 node --import tsx bench/onnx-pytorch.ts [--run runs/onnx-pytorch] [--budget 3m]
 *     [--epochs 4] [--workers 1] [--python /usr/bin/python3] [--skip-train]
 *     [--out bench/results/onnx-pytorch.json]
 *
 * Steps (each command and its wall time go into the result):
 *   1. /usr/bin/python3 bench/onnx-pytorch.py: trains with one torch thread, writes
 *      fashion-cnn.onnx, the test logits and predictions (--skip-train reuses them);
 *   2. `inspect fashion-cnn.onnx`: the import's check against ONNX Runtime (max difference);
 *   3. `evaluate fashion-cnn.onnx --data fashion-mnist`: the app's accuracy, which must equal
 *      PyTorch's; then, in this process through the same loader and preprocessing, the app's
 *      prediction and logits for every test image against PyTorch's (agreement, max difference);
 *   4. `distill --teacher fashion-cnn.onnx --budget 3m --test-data fashion-mnist`;
 *   5. `export <run>/student --format onnx --test-data fashion-mnist`: ONNX Runtime against the
 *      engine on the 10,000 test images, then `evaluate student.onnx` (the file read back).
 * Everything runs at the lowest priority (children inherit this process's niceness; the CLI
 * and PyTorch are also started under `nice -n 19`), PyTorch on one thread.
 * PyTorch is this benchmark's dependency only; the product never needs it.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { APP_VERSION } from '../src/engine/app-info.js';
import { initBackend } from '../src/engine/backend/select.js';
import { resolveDataset } from '../src/engine/data/datasets.js';
import { toInputTensor } from '../src/engine/data/preprocess.js';
import { loadClassifier } from '../src/engine/models/classifier.js';
import { tf } from '../src/engine/tf.js';
import { writeFileAtomic } from '../src/engine/util/atomic-fs.js';
import type { JobResult } from '../src/shared/job.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const { values } = parseArgs({
  options: {
    run: { type: 'string', default: 'runs/onnx-pytorch' },
    budget: { type: 'string', default: '3m' },
    epochs: { type: 'string', default: '4' },
    workers: { type: 'string', default: '1' },
    python: { type: 'string', default: '/usr/bin/python3' },
    'skip-train': { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(here, 'results', 'onnx-pytorch.json') },
  },
});
const run = values.run;
const teacherFile = path.join(run, 'fashion-cnn.onnx');
const studentFile = path.join(run, 'student.onnx');
const distillRun = path.join(run, 'distill');

interface Step {
  command: string;
  seconds: number;
}
const steps: Step[] = [];

/** Runs `nice -n 19 <argv>` from the repository root; stdout is returned, stderr passed through. */
async function runLogged(argv: string[]): Promise<string> {
  const command = ['nice', '-n', '19', ...argv].join(' ');
  console.error(`$ ${command}`);
  const started = performance.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('nice', ['-n', '19', ...argv], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (code === 0) resolve(text);
      else reject(new Error(`${command} exited with ${code}:\n${text}`));
    });
  });
  steps.push({ command, seconds: (performance.now() - started) / 1000 });
  return stdout;
}

/** The app's CLI with --json, its stdout parsed. */
async function cli(args: string[]): Promise<Record<string, unknown>> {
  const out = await runLogged(['node', '--import', 'tsx', 'src/cli/main.ts', ...args, '--json', '--quiet']);
  return JSON.parse(out) as Record<string, unknown>;
}

interface PytorchResult {
  torch: string;
  testAccuracy: number;
  testCorrect: number;
  testImages: number;
  predictions: number[];
  [key: string]: unknown;
}

/**
 * The app's predictions and logits for every test image, through loadClassifier and the
 * dataset loader the CLI uses, compared with PyTorch's, image by image in file order.
 */
async function compareWithPytorch(
  pytorch: PytorchResult,
  logitsFile: string,
): Promise<Record<string, number>> {
  await initBackend();
  const teacher = await loadClassifier(teacherFile);
  const data = await resolveDataset('fashion-mnist', 'test');
  const bytes = await readFile(logitsFile);
  const theirs = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const classes = teacher.numClasses;
  let same = 0;
  let appCorrect = 0;
  let pytorchCorrectOnAppLabels = 0;
  let maxAbsDifference = 0;
  let maxAbsLogit = 0;
  const batch = 500;
  try {
    for (let start = 0; start < data.count; start += batch) {
      const end = Math.min(data.count, start + batch);
      const logits = tf.tidy(() => {
        const x = toInputTensor(data, { start, end }, teacher.preprocessing, teacher.inputShape);
        return teacher.model.predict(x) as tf.Tensor;
      });
      const ours = (await logits.data()) as Float32Array;
      logits.dispose();
      for (let i = start; i < end; i++) {
        let best = 0;
        for (let c = 0; c < classes; c++) {
          const mine = ours[(i - start) * classes + c] ?? NaN;
          const other = theirs[i * classes + c] ?? NaN;
          maxAbsDifference = Math.max(maxAbsDifference, Math.abs(mine - other));
          maxAbsLogit = Math.max(maxAbsLogit, Math.abs(other));
          if (mine > (ours[(i - start) * classes + best] ?? -Infinity)) best = c;
        }
        const label = data.labels[i];
        if (best === pytorch.predictions[i]) same++;
        if (best === label) appCorrect++;
        if (pytorch.predictions[i] === label) pytorchCorrectOnAppLabels++;
      }
    }
  } finally {
    teacher.model.dispose();
  }
  return {
    images: data.count,
    samePrediction: same,
    agreement: same / data.count,
    appCorrect,
    // PyTorch's predictions scored with the app's labels: equal to PyTorch's own count only if
    // both read the test images in the same order.
    pytorchCorrectOnAppLabels,
    maxAbsLogitDifference: maxAbsDifference,
    maxAbsLogit,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  if (!values['skip-train']) {
    await runLogged([values.python, 'bench/onnx-pytorch.py', '--out', run, '--epochs', values.epochs]);
  }
  const pytorch = JSON.parse(await readFile(path.join(run, 'pytorch.json'), 'utf8')) as PytorchResult;
  console.error(`PyTorch ${pytorch.torch}: ${(pytorch.testAccuracy * 100).toFixed(2)}% on the test set`);

  const inspect = await cli(['inspect', teacherFile]);
  const onnx = inspect.onnx as { check: { maxAbsDifference: number; tolerance: number; images: number } };
  const evaluation = await cli([
    'evaluate',
    teacherFile,
    '--data',
    'fashion-mnist',
    '--out',
    path.join(run, 'evaluate-teacher.json'),
  ]);
  const appAccuracy = evaluation.accuracy as number;
  const compared = await compareWithPytorch(pytorch, path.join(run, 'pytorch-logits.f32'));
  console.error(
    `app ${(appAccuracy * 100).toFixed(2)}%, PyTorch ${(pytorch.testAccuracy * 100).toFixed(2)}%; same prediction on ${compared.samePrediction}/${compared.images} test images, max logit difference ${compared.maxAbsLogitDifference?.toExponential(2)}`,
  );

  const distill = await cli([
    'distill',
    '--teacher',
    teacherFile,
    '--budget',
    values.budget,
    '--workers',
    values.workers,
    '--test-data',
    'fashion-mnist',
    '--run',
    distillRun,
  ]);
  const distilled = distill as unknown as JobResult;
  const exported = await cli([
    'export',
    path.relative(root, distilled.student.folder),
    '--format',
    'onnx',
    '--out',
    studentFile,
    '--test-data',
    'fashion-mnist',
  ]);
  const check = exported.check as {
    images: number;
    sameTopClass: number;
    maxAbsDifference: number;
    tolerance: number;
    runtimeVersion: string;
    correct?: { engine: number; onnxRuntime: number };
  };
  const studentBack = await cli(['evaluate', studentFile, '--data', 'fashion-mnist']);

  const result = {
    what: 'A Fashion-MNIST CNN trained in PyTorch, exported to ONNX, imported, evaluated and distilled by the app; the student exported to ONNX and checked in ONNX Runtime',
    appVersion: APP_VERSION,
    date: new Date().toISOString(),
    backend: evaluation.backend,
    pytorch: {
      torch: pytorch.torch,
      numpy: pytorch.numpy,
      threads: pytorch.threads,
      epochs: pytorch.epochs,
      batch: pytorch.batch,
      lr: pytorch.lr,
      seed: pytorch.seed,
      parameters: pytorch.parameters,
      trainSeconds: pytorch.trainSeconds,
      history: pytorch.history,
      testAccuracy: pytorch.testAccuracy,
      testCorrect: pytorch.testCorrect,
    },
    teacherImport: {
      file: teacherFile,
      opset: (inspect.onnx as { opset: number }).opset,
      producer: (inspect.onnx as { producer: string }).producer,
      parameters: inspect.parameters,
      flopsPerImage: inspect.flopsPerImage,
      randomImages: onnx.check.images,
      maxAbsDifferenceVsOnnxRuntime: onnx.check.maxAbsDifference,
      tolerance: onnx.check.tolerance,
    },
    teacherEvaluation: {
      appAccuracy,
      pytorchAccuracy: pytorch.testAccuracy,
      equal: compared.appCorrect === pytorch.testCorrect,
      perImage: compared,
    },
    distillation: {
      student: distilled.spec.student,
      method: distilled.spec.method,
      budget: values.budget,
      workers: Number(values.workers),
      rounds: distilled.rounds?.count,
      seconds: distilled.rounds?.seconds,
      roundCurve: distilled.rounds?.curve,
      transferImages: distilled.transferSet.count,
      studentParameters: distilled.student.parameters,
      teacherParameters: distilled.teacher.parameters,
      teacherAccuracy: distilled.evaluation?.teacher.accuracy,
      studentAccuracy: distilled.evaluation?.student.accuracy,
      studentAgreementWithTeacher: distilled.evaluation?.student.agreementWithTeacher,
    },
    studentExport: {
      file: studentFile,
      opset: exported.opset,
      fileBytes: exported.fileBytes,
      onnxRuntime: check.runtimeVersion,
      images: check.images,
      samePrediction: check.sameTopClass,
      agreement: check.sameTopClass / check.images,
      maxAbsDifference: check.maxAbsDifference,
      tolerance: check.tolerance,
      accuracyEngine: check.correct ? check.correct.engine / check.images : undefined,
      accuracyOnnxRuntime: check.correct ? check.correct.onnxRuntime / check.images : undefined,
      reimportedAccuracy: studentBack.accuracy,
    },
    steps,
    totalSeconds: (performance.now() - started) / 1000,
  };
  await writeFileAtomic(path.resolve(values.out), JSON.stringify(result, null, 2) + '\n');
  console.error(
    [
      `PyTorch ${pytorch.torch} test accuracy ${(pytorch.testAccuracy * 100).toFixed(2)}%`,
      `app accuracy of the imported teacher ${(appAccuracy * 100).toFixed(2)}% (same prediction as PyTorch on ${compared.samePrediction}/${compared.images})`,
      `import max difference vs ONNX Runtime ${onnx.check.maxAbsDifference.toExponential(2)}`,
      `student ${distilled.spec.student}: ${((distilled.evaluation?.student.accuracy ?? NaN) * 100).toFixed(2)}%`,
      `ONNX student: same prediction in ONNX Runtime and the app on ${check.sameTopClass}/${check.images}`,
      `wrote ${path.resolve(values.out)}`,
    ].join('\n'),
  );
}

await main();
