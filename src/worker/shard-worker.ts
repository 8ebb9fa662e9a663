/**
 * Entry of a synthesis worker process: receives shard tasks over IPC,
 * synthesizes each with the named method and teacher, writes the shard
 * file and reports its entry. Started by the engine's WorkerPool.
 */
import { ToShardWorkerSchema, type FromShardWorker } from '../shared/shard-protocol.js';
import { initBackend, parseBackendName } from '../engine/backend/select.js';
import { toErrorInfo } from '../shared/errors.js';
import { loadStudent, synthesizeShard } from '../engine/job/shards.js';
import { shiftLabelling } from '../engine/job/shift-labelling.js';
import type { SynthesisProgress } from '../engine/synthesis/method.js';
import { loadClassifier, type LoadedClassifier } from '../engine/models/classifier.js';
import { getSynthesisMethod } from '../engine/synthesis/registry.js';
import { resolveSettings } from '../shared/settings.js';

const teachers = new Map<string, LoadedClassifier>();

function reply(message: FromShardWorker): void {
  process.send?.(message);
}

process.on('message', (raw: unknown) => {
  void handle(raw).catch((error: unknown) => reply({ type: 'failed', error: toErrorInfo(error) }));
});

async function handle(raw: unknown): Promise<void> {
  const message = ToShardWorkerSchema.parse(raw);
  if (message.type === 'stop') {
    process.disconnect?.();
    return;
  }
  const backendName = parseBackendName(message.backend);
  const backend = await initBackend(backendName === 'auto' ? {} : { force: backendName });
  let teacher = teachers.get(message.teacher);
  if (!teacher) {
    teacher = await loadClassifier(message.teacher);
    teachers.set(message.teacher, teacher);
  }
  const method = getSynthesisMethod(message.method);
  const { settings } = resolveSettings(method.fields, message.settings);
  const student = message.student ? await loadStudent(message.student) : undefined;
  try {
    const labelling = message.shiftLabels ? shiftLabelling(teacher, message.shiftLabels) : undefined;
    const synthesis = {
      onProgress: (progress: SynthesisProgress) =>
        reply({ type: 'progress', index: message.task.index, progress }),
      ...(student ? { student } : {}),
    };
    const entry = await synthesizeShard(
      method,
      teacher,
      settings,
      message.transferDir,
      message.task,
      synthesis,
      labelling,
    );
    reply({ type: 'shard-done', entry, backend: backend.name });
  } finally {
    student?.dispose();
  }
}
