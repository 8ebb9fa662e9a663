import { formatBytes } from '../../shared/format.js';
import { resolveDataset } from '../../engine/data/datasets.js';
import { UserError } from '../../shared/errors.js';
import { loadClassifier } from '../../engine/models/classifier.js';
import { EXPORT_INPUT, EXPORT_OUTPUT } from '../../engine/models/onnx/export.js';
import { exportRecord, runFolderOf, writeOnnxFile } from '../../engine/models/onnx/export-file.js';
import { recordExport } from '../../engine/report/exports.js';
import { ONNX_TOLERANCE } from '../../engine/models/onnx/runtime.js';
import { onePositional, requiredOption, stringOption } from '../args.js';
import type { Command } from '../command.js';
import { normalisationOptions, parseNormalisation } from './normalisation.js';

/** Formats `export` can write, with what each is for (only ONNX today; the model folder is already TensorFlow.js). */
const FORMATS = ['onnx'] as const;

const options = {
  format: {
    type: 'string',
    value: 'FORMAT',
    description: 'File format: onnx (ONNX Runtime, PyTorch users, C#, Java, the browser).',
    default: 'onnx',
  },
  out: { type: 'string', value: 'FILE', description: 'Where to write the file, e.g. student.onnx.' },
  'test-data': {
    type: 'string',
    value: 'DATASET',
    description:
      'Labelled images to check the file on (mnist-digits, fashion-mnist, or a path); default: 16 random images.',
  },
  ...normalisationOptions,
} as const satisfies Command['options'];

/** `export`: a model as a file other apps read, checked in their runtime before it is written. */
export const exportCommand: Command = {
  name: 'export',
  summary: 'Write a model as an .onnx file for other apps, checked in ONNX Runtime before it is written.',
  usage: '<model> --out FILE [--format onnx] [--test-data DATASET]',
  help: [
    `Converts a model folder (a student, a teacher, builtin:NAME) to ONNX (opset 13): input "${EXPORT_INPUT}", float32`,
    '[batch, channels, height, width] with pixels normalised as the model card says (shown below); output',
    `"${EXPORT_OUTPUT}", the class scores before softmax. ONNX Runtime then runs the file on the test images (or on`,
    `random ones) next to the engine; the file is written only if their outputs agree within ${ONNX_TOLERANCE}`,
    '(relative), and the agreement of their predictions is shown.',
    '',
    'Examples:',
    '  distill-studio export runs/demo/student --out student.onnx --test-data mnist-digits',
    '  distill-studio export builtin:mnist-lenet5 --out teacher.onnx',
  ].join('\n'),
  options,
  async run({ args, backend, log }) {
    const ref = onePositional(args, 'export', '<model>');
    const format = stringOption(args, 'format', options.format) ?? 'onnx';
    if (!(FORMATS as readonly string[]).includes(format)) {
      throw new UserError(
        'USAGE',
        `Unknown --format "${format}"`,
        `Use --format ${FORMATS.join(' or ')} (a model folder already is the TensorFlow.js format)`,
      );
    }
    const out = requiredOption(args, 'out', 'export', '--out student.onnx');
    const info = await backend();
    const model = await loadClassifier(ref, parseNormalisation(args));
    try {
      const dataRef = stringOption(args, 'test-data');
      const testData = dataRef ? await resolveDataset(dataRef, 'test') : undefined;
      log(
        `checking the exported file in ONNX Runtime on ${testData ? `${testData.count} test images` : 'random images'}`,
      );
      const result = await writeOnnxFile(model.model, out, {
        preprocessing: model.preprocessing,
        ...(testData ? { testData } : {}),
        metadata: {
          ...(model.card ? { distillStudio: JSON.stringify(model.card) } : {}),
          fingerprint: model.fingerprint,
        },
      });
      const run = runFolderOf(model.folder);
      const recorded = run ? await recordExport(run, exportRecord(result)) : false;
      const { check } = result;
      const pct = (n: number): string => `${((n / check.images) * 100).toFixed(2)}%`;
      const pre = model.preprocessing;
      const [h, w] = pre.sourceShape;
      const padded =
        h !== model.inputShape[0] || w !== model.inputShape[1]
          ? ` (${h}x${w} images go in the centre, the border is zero pixels)`
          : '';
      const text = [
        `wrote ${result.file} (${formatBytes(result.fileBytes)}, ONNX opset ${result.opset})`,
        `input "${EXPORT_INPUT}": float32 [batch, ${pre.sourceShape[2]}, ${model.inputShape[0]}, ${model.inputShape[1]}], pixels / 255 then (x - mean) / std with mean ${pre.mean.join(',')} std ${pre.std.join(',')}${padded}; output "${EXPORT_OUTPUT}": ${model.numClasses} class scores (logits)`,
        `checked in ONNX Runtime ${check.runtimeVersion} on ${check.images} ${result.checkedOn === 'random images' ? 'random images' : `images of ${result.checkedOn}`}: same predicted class on ${check.sameTopClass}/${check.images} (${pct(check.sameTopClass)}), max output difference ${check.maxAbsDifference.toExponential(2)} (allowed ${check.tolerance.toExponential(1)})`,
        ...(check.correct
          ? [`accuracy: engine ${pct(check.correct.engine)}, ONNX Runtime ${pct(check.correct.onnxRuntime)}`]
          : []),
        ...(recorded && run ? [`recorded in the run's report: ${run}/report.html`] : []),
        `backend: ${info.name}`,
      ];
      return { json: { ...result, model: model.folder, backend: info.name }, text: text.join('\n') };
    } finally {
      model.model.dispose();
    }
  },
};
