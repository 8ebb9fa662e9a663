/**
 * Entry of a task worker process: runs one task the app's services send
 * (a distillation job, a teacher import, a catalog measurement) and reports
 * over the parent channel. Engine work never runs on the app's main process.
 */
import { cpus } from 'node:os';
import type { JobEvent } from '../shared/job.js';
import { ToTaskWorkerSchema, type FromTaskWorker, type Task } from '../shared/task-protocol.js';
import { initBackend, simdKernelsNote, type BackendInfo } from '../engine/backend/select.js';
import { toErrorInfo, UserError } from '../shared/errors.js';
import { runJob } from '../engine/job/run-job.js';
import { WorkerPool } from '../engine/job/worker-pool.js';
import { buildCatalog } from '../engine/app-catalog.js';
import { resolveDataset } from '../engine/data/datasets.js';
import { loadClassifier } from '../engine/models/classifier.js';
import { describeOnnxExport, exportRecord, writeOnnxFile } from '../engine/models/onnx/export-file.js';
import { importProjectTeacher } from '../engine/models/project-teacher.js';
import { recordExport } from '../engine/report/exports.js';
import { writeReport } from '../engine/report/write-report.js';
import { parentChannel } from './parent-channel.js';

const channel = parentChannel();
const controller = new AbortController();
/** "Stop and keep": ends a round-pipeline job early; it still evaluates and saves its student. */
const stopper = new AbortController();
let started = false;

function reply(message: FromTaskWorker): void {
  channel.send(message);
}

channel.onMessage((raw) => {
  const parsed = ToTaskWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    reply({
      type: 'failed',
      cancelled: false,
      error: {
        code: 'TASK_INVALID',
        message: 'The worker received a task it does not understand',
        fix: 'Restart Distill Studio; if it happens again, report it with the details',
        details: parsed.error.message,
      },
    });
    return;
  }
  const message = parsed.data;
  if (message.type === 'cancel') {
    controller.abort(new UserError('CANCELLED', 'The run was cancelled', 'Press Resume to continue it'));
    return;
  }
  if (message.type === 'stop') {
    stopper.abort();
    return;
  }
  if (started) return; // one task per worker
  started = true;
  void run(message.task).then(
    (backend) => {
      reply({ type: 'finished', ...backend });
      exitSoon(0);
    },
    (error: unknown) => {
      reply({ type: 'failed', error: toErrorInfo(error), cancelled: controller.signal.aborted });
      exitSoon(1);
    },
  );
});

async function run(task: Task): Promise<{ backend: string; backendNote: string }> {
  const backend = await initBackend({});
  switch (task.type) {
    case 'catalog':
      reply({ type: 'catalog', catalog: buildCatalog(task.inputShape, task.numClasses) });
      break;
    case 'import-teacher': {
      const imported = await importProjectTeacher(task.choice, task.teacherDir);
      reply({ type: 'teacher-imported', ...imported });
      break;
    }
    case 'export-onnx': {
      const model = await loadClassifier(task.modelDir);
      try {
        const testData = task.testData ? await resolveDataset(task.testData, 'test') : undefined;
        const report = await writeOnnxFile(model.model, task.target, {
          preprocessing: model.preprocessing,
          ...(testData ? { testData } : {}),
          metadata: {
            ...(model.card ? { distillStudio: JSON.stringify(model.card) } : {}),
            fingerprint: model.fingerprint,
          },
        });
        if (task.runDir) await recordExport(task.runDir, exportRecord(report));
        reply({ type: 'onnx-exported', path: report.file, note: describeOnnxExport(report) });
      } finally {
        model.model.dispose();
      }
      break;
    }
    case 'run-job': {
      // The 'done' event goes out only once the report is written too.
      let done: JobEvent | undefined;
      const spec = { ...task.spec, workers: Math.min(task.spec.workers, cpus().length) };
      const result = await runJob(spec, {
        emit: (event) => {
          if (event.type === 'done') done = event;
          else reply({ type: 'job-event', event });
        },
        signal: controller.signal,
        stop: stopper.signal,
        ...(spec.workers > 1 ? { shardRunner: (context) => new WorkerPool(context, backend.name) } : {}),
      });
      await writeReport(spec.runDir, result);
      if (done) reply({ type: 'job-event', event: done });
      break;
    }
  }
  return { backend: backend.name, backendNote: describeBackend(backend) };
}

/** One line on which backend runs and why the faster ones do not. */
function describeBackend(info: BackendInfo): string {
  const skipped = info.tried.filter((t) => t.error).map((t) => `${t.name}: ${t.error}`);
  const chosen = info.requested === 'auto' ? 'chosen automatically' : 'forced by the DISTILL_BACKEND setting';
  const how = [chosen, simdKernelsNote(info)].filter(Boolean).join(', ');
  return skipped.length > 0 ? `${how}; not available: ${skipped.join('; ')}` : how;
}

/** Lets the last message flush before the process ends. */
function exitSoon(code: number): void {
  setTimeout(() => process.exit(code), 50);
}
