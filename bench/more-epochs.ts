/**
 * Re-distills a finished run's transfer set with another number of epochs
 * (a benchmark, not a test): copies the run's transfer/ and job.json into a
 * new folder, changes only the epochs, runs the job there (synthesis is
 * skipped: every shard is on disk) and appends the result to
 * bench/results/more-epochs.json.
 *
 *   node --import tsx bench/more-epochs.ts --run runs/demo --epochs 120 --out runs/demo-e120
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { JobSpecSchema } from '../src/shared/job.js';
import { initBackend } from '../src/engine/backend/select.js';
import { runJob } from '../src/engine/job/run-job.js';

const { values } = parseArgs({
  options: {
    run: { type: 'string' },
    epochs: { type: 'string', default: '120' },
    out: { type: 'string' },
  },
});
if (!values.run || !values.out) throw new Error('usage: --run FOLDER --epochs N --out FOLDER');
const source = path.resolve(values.run);
const out = path.resolve(values.out);
if (existsSync(out)) throw new Error(`${out} exists: choose a new --out folder`);
const original = JobSpecSchema.parse(JSON.parse(readFileSync(path.join(source, 'job.json'), 'utf8')));
const spec = { ...original, runDir: out, distill: { ...original.distill, epochs: Number(values.epochs) } };
cpSync(path.join(source, 'transfer'), path.join(out, 'transfer'), { recursive: true });
writeFileSync(path.join(out, 'job.json'), JSON.stringify(spec, null, 2) + '\n');
const backend = await initBackend({});
const result = await runJob(spec, { emit: () => {} });
const before = JSON.parse(readFileSync(path.join(source, 'result.json'), 'utf8')) as {
  evaluation?: { student: { accuracy: number } };
  distillation: { seconds: number };
};
const row = {
  run: values.run,
  teacher: spec.teacher,
  method: spec.method,
  samples: spec.samples,
  methodSettings: spec.methodSettings,
  teacherAccuracy: result.evaluation?.teacher.accuracy ?? null,
  before: {
    epochs: original.distill.epochs,
    studentAccuracy: before.evaluation?.student.accuracy ?? null,
    distillationSeconds: before.distillation.seconds,
  },
  after: {
    epochs: spec.distill.epochs,
    studentAccuracy: result.evaluation?.student.accuracy ?? null,
    distillationSeconds: result.distillation.seconds,
  },
  holdoutAgreement: result.holdoutAgreement,
  backend: backend.name,
  date: new Date().toISOString(),
};
const file = path.resolve('bench/results/more-epochs.json');
const rows = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown[]) : [];
writeFileSync(file, JSON.stringify([...rows, row], null, 2) + '\n');
console.log(JSON.stringify(row, null, 2));
