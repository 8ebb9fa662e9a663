import { beforeAll, describe, expect, it } from 'vitest';
import { defaultSettings, resolveSettings } from '../../../src/shared/settings.js';
import { initBackend } from '../../../src/engine/backend/select.js';
import { loadClassifier, type LoadedClassifier } from '../../../src/engine/models/classifier.js';
import { buildPreset } from '../../../src/engine/models/presets.js';
import { framedSpace, initialInputs } from '../../../src/engine/synthesis/init.js';
import {
  coarseIterations,
  optimizeInputs,
  pyramidSizes,
} from '../../../src/engine/synthesis/optimize-inputs.js';
import { getSynthesisMethod, SYNTHESIS_METHODS } from '../../../src/engine/synthesis/registry.js';
import {
  sampleBalancedFeatures,
  sampleFeatures,
  softTargets,
} from '../../../src/engine/synthesis/soft-target.js';
import { splitTeacher } from '../../../src/engine/synthesis/teacher-net.js';
import { classSimilarity } from '../../../src/engine/synthesis/zskd.js';
import { tf, tfl } from '../../../src/engine/tf.js';

let teacher: LoadedClassifier;
beforeAll(async () => {
  await initBackend({ force: 'wasm' });
  teacher = await loadClassifier('builtin:mnist-lenet5');
});

/** The loss sum(x * weight): its gradient is `weight` itself, whatever the images. */
function linearLoss(weight: tf.Tensor4D) {
  return (x: tf.Tensor4D) => {
    const total = tf.sum(tf.mul(x, weight)) as tf.Scalar;
    return { total, parts: { total: tf.clone(total) } };
  };
}

describe('splitting the teacher', () => {
  it('splits at the input of the last dense layer, and head(features) equals the logits', async () => {
    const net = splitTeacher(teacher);
    expect(net.splitLayer).toBe('logits');
    expect(net.featureSize).toBe(84);
    expect(net.splitCandidates).toEqual(['logits', 'dense_2', 'dense_1']);
    const x = tf.randomUniform(
      [4, 32, 32, 1],
      net.space.low[0],
      net.space.high[0],
      'float32',
      1,
    ) as tf.Tensor4D;
    const [h, logits] = net.featuresAndLogits(x);
    const viaHead = net.head(h);
    const direct = teacher.model.predict(x) as tf.Tensor;
    expect(Array.from(await viaHead.data())).toEqual(Array.from(await logits.data()));
    expect(tf.max(tf.abs(tf.sub(direct, logits))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, h, logits, viaHead, direct]);
    const earlier = splitTeacher(teacher, 'dense_1');
    expect(earlier.featureSize).toBe(400);
  });

  it('refuses an unknown layer and a teacher without a dense head, saying what to do', () => {
    expect(() => splitTeacher(teacher, 'conv1')).toThrow(
      expect.objectContaining({
        code: 'SYNTHESIS_LAYER_UNKNOWN',
        fix: 'Choose one of: logits, dense_2, dense_1',
      }),
    );
    const input = tfl.input({ shape: [8, 8, 1] });
    const conv = tfl.layers.conv2d({ filters: 10, kernelSize: 8 }).apply(input) as tfl.SymbolicTensor;
    const pooled = tfl.layers.globalAveragePooling2d({}).apply(conv) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: pooled });
    const classifier = {
      model,
      inputShape: [8, 8, 1] as [number, number, number],
      numClasses: 10,
      preprocessing: teacher.preprocessing,
    };
    expect(() => splitTeacher(classifier)).toThrow(
      expect.objectContaining({
        code: 'TEACHER_HEAD_NOT_DENSE',
        fix: expect.stringContaining('zskd or noise'),
      }),
    );
    model.dispose();
  });
});

describe('the feature-space model N(0, sigma R)', () => {
  it('samples have covariance sigma * Wn Wn^T (checked against the formula)', async () => {
    const net = splitTeacher(teacher);
    const sigma = 1.5;
    const n = 20_000;
    const z = sampleFeatures(net, n, sigma, 9);
    const emp = tf.tidy(() => tf.div(tf.matMul(z, z, true, false), n));
    const kernel = (await net.headKernel().array()) as number[][];
    const wn = kernel.map((row) => {
      const norm = Math.hypot(...row);
      return row.map((v) => v / norm);
    });
    const empirical = (await emp.array()) as number[][];
    let maxErr = 0;
    for (const i of [0, 5, 40, 83]) {
      for (const j of [0, 7, 41, 83]) {
        const r = wn[i]!.reduce((s, v, k) => s + v * wn[j]![k]!, 0);
        maxErr = Math.max(maxErr, Math.abs(empirical[i]![j]! - sigma * r));
      }
    }
    expect(maxErr).toBeLessThan(0.08);
    const y = softTargets(net, tf.slice(z, [0, 0], [100, -1]), 1);
    const sums = (await tf.sum(y, -1).data()) as Float32Array;
    sums.forEach((s) => expect(s).toBeCloseTo(1, 5));
    tf.dispose([z, emp, y]);
  });

  it('balanced sampling gives every class the same number of top classes, from the same normal', async () => {
    const net = splitTeacher(teacher);
    const topClasses = async (z: tf.Tensor2D): Promise<number[]> => {
      const logits = net.head(z);
      const top = tf.argMax(logits, -1);
      const counts = new Array<number>(10).fill(0);
      for (const c of await top.data()) counts[c] = (counts[c] ?? 0) + 1;
      tf.dispose([logits, top]);
      return counts;
    };
    const before = tf.memory().numTensors;
    const plain = sampleFeatures(net, 203, 1.5, 4);
    const balanced = sampleBalancedFeatures(net, 203, 1.5, 4);
    expect(balanced.shape).toEqual([203, 84]);
    const plainCounts = await topClasses(plain);
    const counts = await topClasses(balanced);
    // The plain normal is uneven here; the balanced draw has 20 or 21 of each class.
    expect(Math.max(...plainCounts) - Math.min(...plainCounts)).toBeGreaterThan(5);
    for (const n of counts) expect([20, 21]).toContain(n);
    // Same seed, same samples; the rows are draws of the plain normal (same spread).
    const again = sampleBalancedFeatures(net, 203, 1.5, 4);
    expect(Array.from(await again.data())).toEqual(Array.from(await balanced.data()));
    const spread = (z: tf.Tensor2D): number => tf.tidy(() => tf.moments(z).variance.dataSync()[0]!);
    expect(spread(balanced) / spread(plain)).toBeGreaterThan(0.7);
    expect(spread(balanced) / spread(plain)).toBeLessThan(1.4);
    tf.dispose([plain, balanced, again]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('ZSKD class similarity: cosine of the class weight vectors, each row min-max normalised (by hand)', async () => {
    // Four classes in a 2-feature logits layer (one column per class), of different lengths so
    // that leaving out the L2 normalisation changes the result: (2,0), (0,3), (3,4), (-8,6).
    // Unit vectors (1,0), (0,1), (0.6,0.8), (-0.8,0.6); their cosines C = Wn^T Wn:
    //   [ 1    0    0.6  -0.8 ]
    //   [ 0    1    0.8   0.6 ]
    //   [ 0.6  0.8  1     0   ]
    //   [-0.8  0.6  0     1   ]
    // Row by row, (c - row min) / (row max - row min): rows 0 and 3 span [-0.8, 1] (width 1.8),
    // rows 1 and 2 span [0, 1]. A min-max over the whole matrix first changes nothing (it is an
    // increasing affine map, which the row step undoes), so it cannot show here; one instead of
    // the row step gives row 1 = [4/9, 1, 8/9, 7/9].
    const expected = [
      [1, 0.8 / 1.8, 1.4 / 1.8, 0],
      [0, 1, 0.8, 0.6],
      [0.6, 0.8, 1, 0],
      [0, 1.4 / 1.8, 0.8 / 1.8, 1],
    ];
    const before = tf.memory().numTensors;
    const kernel = tf.tensor2d([
      [2, 0, 3, -8],
      [0, 3, 4, 6],
    ]);
    const c = await classSimilarity(kernel);
    kernel.dispose();
    expect(c).toHaveLength(4);
    c.forEach((row, k) => row.forEach((v, j) => expect(v, `C[${k}][${j}]`).toBeCloseTo(expected[k]![j]!, 6)));
    // Classes the teacher cannot tell apart (one weight vector) give a flat row: concentration 1 each.
    const same = tf.tensor2d([
      [1, 1],
      [2, 2],
    ]);
    expect(await classSimilarity(same)).toEqual([
      [1, 1],
      [1, 1],
    ]);
    same.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('synthesis methods', () => {
  it('has a registry with settings declarations; unknown names list the valid ones', () => {
    expect([...SYNTHESIS_METHODS.keys()]).toEqual(['soft-target', 'zskd', 'noise']);
    expect(() => getSynthesisMethod('dafl')).toThrow(
      expect.objectContaining({ fix: 'Use one of: soft-target, zskd, noise' }),
    );
    const { problems } = resolveSettings(getSynthesisMethod('soft-target').fields, {
      sigma: '-1',
      sigmma: '2',
      scaleKl: 'maybe',
    });
    expect(problems.map((p) => p.name)).toEqual(['sigma', 'sigmma', 'scaleKl']);
  });

  for (const name of ['soft-target', 'zskd']) {
    it(`${name}: fits its targets, stays in the pixel range, is reproducible and leaks nothing`, async () => {
      const method = getSynthesisMethod(name);
      const { settings } = resolveSettings(method.fields, { iterations: 40, batchSize: 64 });
      const before = tf.memory().numTensors;
      const reports: Record<string, number>[] = [];
      const run = () =>
        method
          .create(teacher, settings)
          .synthesize(64, 5, { onProgress: (p) => p.iteration > 0 && p.batch > 0 && reports.push(p.losses) });
      const first = await run();
      expect(tf.memory().numTensors).toBe(before);
      const mainLoss = name === 'zskd' ? 'crossEntropy' : 'kl';
      expect(reports.at(-1)![mainLoss]).toBeLessThan(reports[0]![mainLoss]! * 0.8);
      expect(first.metrics.targetMatch).toBeGreaterThan(0.5);
      const low = (0 - teacher.preprocessing.mean[0]!) / teacher.preprocessing.std[0]!;
      const high = (1 - teacher.preprocessing.mean[0]!) / teacher.preprocessing.std[0]!;
      expect(Math.min(...first.inputs)).toBeGreaterThanOrEqual(low - 1e-5);
      expect(Math.max(...first.inputs)).toBeLessThanOrEqual(high + 1e-5);
      expect(first.logits).toHaveLength(64 * 10);
      const second = await run();
      expect(second.inputs).toEqual(first.inputs);
    });
  }

  it('image priors (off by default) make smoother images, reproducibly', async () => {
    const method = getSynthesisMethod('soft-target');
    const roughness = (x: Float32Array): number => {
      let sum = 0;
      for (let i = 0; i < x.length; i++) if (i % 32 !== 31) sum += Math.abs(x[i + 1]! - x[i]!);
      return sum / x.length;
    };
    const make = (extra: Record<string, number>) =>
      method
        .create(teacher, resolveSettings(method.fields, { iterations: 30, batchSize: 32, ...extra }).settings)
        .synthesize(32, 2);
    const plain = await make({});
    const smooth = await make({ tv: 50, l2: 5, jitter: 2 });
    expect(roughness(smooth.inputs)).toBeLessThan(roughness(plain.inputs) * 0.8);
    expect(smooth.metrics.prior).toBeGreaterThan(0);
    expect((await make({ tv: 50, l2: 5, jitter: 2 })).inputs).toEqual(smooth.inputs);
  });

  for (const name of ['soft-target', 'zskd']) {
    it(`${name}: the pull toward black darkens the images of a digits teacher, and says so; background=any turns it off`, async () => {
      const method = getSynthesisMethod(name);
      const black = (0 - teacher.preprocessing.mean[0]!) / teacher.preprocessing.std[0]!;
      const meanAboveBlack = (x: Float32Array): number => x.reduce((a, v) => a + (v - black), 0) / x.length;
      const settingsWith = (extra: Record<string, number | string>) =>
        resolveSettings(method.fields, { iterations: 20, batchSize: 16, init: 'smooth', ...extra }).settings;
      const make = (extra: Record<string, number | string>) =>
        method.create(teacher, settingsWith(extra)).synthesize(16, 3);
      const plain = await make({});
      const dark = await make({ dark: name === 'zskd' ? 2.5 : 1000 });
      // The digits teacher records a mean pixel of 0.13: 'auto' applies the pull.
      expect(meanAboveBlack(dark.inputs)).toBeLessThan(meanAboveBlack(plain.inputs) * 0.6);
      expect(method.notes?.(teacher, settingsWith({ dark: 1000 }))).toEqual([
        expect.stringMatching(/^Pull toward black: on/),
      ]);
      expect(method.notes?.(teacher, settingsWith({}))).toEqual([]);
      // The recorded-statistics prior says what it pulls toward, or that there is nothing to pull toward.
      expect(method.notes?.(teacher, settingsWith({ pixelStats: 400 }))).toEqual([
        `Recorded-statistics prior: on (weight 400; each batch pulled toward the training images' pixel mean ${teacher.preprocessing.mean[0]!.toFixed(3)} and spread ${teacher.preprocessing.std[0]!.toFixed(3)})`,
      ]);
      const unrecorded = { ...teacher, preprocessing: { ...teacher.preprocessing, mean: [0], std: [1] } };
      expect(method.notes?.(unrecorded, settingsWith({ pixelStats: 400 }))).toEqual([
        "Recorded-statistics prior: off (the teacher's preprocessing records no pixel statistics)",
      ]);
      const off = await make({ dark: 1000, background: 'any' });
      expect(off.inputs).toEqual(plain.inputs);
    });
  }

  it('the frame: the padding around smaller source images stays black in the start and after every step', async () => {
    const net = splitTeacher(teacher);
    expect(teacher.preprocessing.sourceShape).toEqual([28, 28, 1]);
    const space = framedSpace(net.space, teacher.preprocessing.sourceShape);
    expect(space.frame).toEqual({ top: 2, left: 2, height: 28, width: 28 });
    // The teacher's space knows where its images sit even without a frame (for the statistics prior).
    expect(net.space.frame).toBeUndefined();
    expect(net.space.source).toEqual(space.frame);
    expect(framedSpace(net.space, [32, 32, 1]).frame).toBeUndefined();
    const low = Math.fround(net.space.low[0]!);
    const border = (x: Float32Array, image: number): number[] => {
      const out: number[] = [];
      for (let r = 0; r < 32; r++) {
        for (let c = 0; c < 32; c++) {
          if (r < 2 || r >= 30 || c < 2 || c >= 30) out.push(x[image * 1024 + r * 32 + c]!);
        }
      }
      return out;
    };
    const start = initialInputs(space, 2, 'uniform', 3);
    const values = (await start.data()) as Float32Array;
    start.dispose();
    expect(new Set(border(values, 1))).toEqual(new Set([low]));
    expect(values[1024 + 16 * 32 + 16]).not.toBe(low);
    const method = getSynthesisMethod('soft-target');
    const make = (frame: boolean) =>
      method
        .create(
          teacher,
          resolveSettings(method.fields, { iterations: 10, batchSize: 8, jitter: 2, frame }).settings,
        )
        .synthesize(8, 4);
    const framed = await make(true);
    for (let i = 0; i < 8; i++) expect(new Set(border(framed.inputs, i))).toEqual(new Set([low]));
    const free = await make(false);
    expect(new Set(border(free.inputs, 0)).size).toBeGreaterThan(1);
  });

  it('the mean start is a flat image at the data mean; step-size decay follows the cosine curve', async () => {
    const net = splitTeacher(teacher);
    const start = initialInputs(net.space, 8, 'mean', 3);
    const values = Array.from(await start.data());
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const spread = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    // Normalised units: the data mean is 0 and its std 1; the low clip lifts the mean a little.
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(spread).toBeLessThan(0.15);
    expect(spread).toBeGreaterThan(0.02);
    start.dispose();

    // A linear loss has a constant gradient, so each Adam step moves every pixel by the step size:
    // the total movement is the sum of the step sizes (20 x 0.01 constant; about half with decay).
    const moved = async (decay: boolean): Promise<number> => {
      const begin = tf.fill([2, 32, 32, 1], 0.5) as tf.Tensor4D;
      const loss = (x: tf.Tensor4D) => {
        const total = tf.sum(x) as tf.Scalar;
        return { total, parts: { total: tf.clone(total) } };
      };
      const out = await optimizeInputs(net.space, begin, loss, { iterations: 20, learningRate: 0.01, decay });
      const distance = tf.tidy(() => tf.mean(tf.sub(begin, out.inputs)).dataSync()[0] ?? NaN);
      tf.dispose([begin, out.inputs]);
      return distance;
    };
    expect(await moved(false)).toBeCloseTo(0.2, 3);
    // Cosine from 0.01 down: sum over steps 0..19 of 0.01 * (0.01 + 0.99 * (1 + cos(pi t / 20)) / 2) = 0.106.
    expect(await moved(true)).toBeCloseTo(0.106, 3);
  });

  it('coarse-to-fine: the coarse steps paint only smooth images; the fine steps then add detail', async () => {
    const net = splitTeacher(teacher);
    // A linear loss with a random high-frequency weight: full-resolution steps follow its sign
    // pixel by pixel (a speckled image), coarse steps can only follow its 8x8 block averages.
    const weight = tf.randomNormal([2, 32, 32, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const variation = (x: tf.Tensor4D): number =>
      tf.tidy(() => {
        const dy = tf.sub(
          tf.slice(x, [0, 1, 0, 0], [-1, 31, -1, -1]),
          tf.slice(x, [0, 0, 0, 0], [-1, 31, -1, -1]),
        );
        return tf.mean(tf.abs(dy)).dataSync()[0] ?? NaN;
      });
    const run = async (coarse?: { factor: number; share: number }) => {
      const begin = tf.fill([2, 32, 32, 1], 0.5) as tf.Tensor4D;
      const reported: number[] = [];
      const out = await optimizeInputs(net.space, begin, linearLoss(weight), {
        iterations: 20,
        learningRate: 0.05,
        reportEvery: 5,
        onReport: (iteration) => reported.push(iteration),
        ...(coarse ? { coarse } : {}),
      });
      const result = { tv: variation(out.inputs), loss: out.losses.total ?? NaN, reported };
      tf.dispose([begin, out.inputs]);
      return result;
    };
    const full = await run();
    const coarse = await run({ factor: 4, share: 1 });
    const half = await run({ factor: 4, share: 0.5 });
    weight.dispose();
    expect(coarse.tv).toBeLessThan(full.tv / 3);
    expect(half.tv).toBeGreaterThan(coarse.tv);
    expect(half.tv).toBeLessThan(full.tv);
    // Every run lowers the loss from its start (0.5 everywhere) and reports its steps in order.
    for (const r of [full, coarse, half]) {
      expect(r.reported.at(-1)).toBe(20);
      expect(r.reported).toEqual([...r.reported].sort((a, b) => a - b));
    }
    expect(coarseIterations({ iterations: 20, coarse: { factor: 4, share: 0.5 } })).toBe(10);
    expect(coarseIterations({ iterations: 20, coarse: { factor: 1, share: 0.5 } })).toBe(0);
    expect(coarseIterations({ iterations: 3, coarse: { factor: 2, share: 0.01 } })).toBe(1);
  });

  it('pyramid: broad shapes change faster than stripes, the image stays in range, no tensor is left', async () => {
    const net = splitTeacher(teacher);
    // A linear loss whose weight is a broad left/right split plus stronger pixel-level noise:
    // pixel steps follow the noise's sign (stripes); the pyramid's coarse levels follow the split.
    const weight = tf.tidy(() => {
      const side = tf.concat([tf.fill([2, 32, 16, 1], -1), tf.fill([2, 32, 16, 1], 1)], 2);
      return tf.add(side, tf.randomNormal([2, 32, 32, 1], 0, 3, 'float32', 11)) as tf.Tensor4D;
    });
    const run = async (pyramid?: number) => {
      const begin = tf.fill([2, 32, 32, 1], 0.5) as tf.Tensor4D;
      const out = await optimizeInputs(net.space, begin, linearLoss(weight), {
        iterations: 10,
        learningRate: 0.01,
        ...(pyramid ? { pyramid } : {}),
      });
      const [left, right, low, high] = tf.tidy(() => [
        tf.mean(tf.slice(out.inputs, [0, 0, 0, 0], [-1, -1, 16, -1])).dataSync()[0] ?? NaN,
        tf.mean(tf.slice(out.inputs, [0, 0, 16, 0], [-1, -1, 16, -1])).dataSync()[0] ?? NaN,
        tf.min(out.inputs).dataSync()[0] ?? NaN,
        tf.max(out.inputs).dataSync()[0] ?? NaN,
      ]);
      const pixels = Array.from(out.inputs.dataSync());
      tf.dispose([begin, out.inputs]);
      return { split: left! - right!, low: low!, high: high!, pixels };
    };
    const before = tf.memory().numTensors;
    const plain = await run();
    const same = await run(1);
    const pyramid = await run(4);
    expect(tf.memory().numTensors).toBe(before);
    weight.dispose();
    // Minimising the sum pushes the left half (weight -1) up and the right half (weight +1) down.
    expect(plain.split).toBeGreaterThan(0);
    expect(pyramid.split).toBeGreaterThan(3 * plain.split);
    expect(same.pixels).toEqual(plain.pixels);
    for (const r of [plain, pyramid]) {
      expect(r.low).toBeGreaterThanOrEqual(net.space.low[0]! - 1e-6);
      expect(r.high).toBeLessThanOrEqual(net.space.high[0]! + 1e-6);
    }
    expect(pyramidSizes(32, 32, 4)).toEqual([
      [16, 16],
      [8, 8],
      [4, 4],
    ]);
    expect(pyramidSizes(28, 28, 6)).toEqual([
      [14, 14],
      [7, 7],
      [4, 4],
      [2, 2],
    ]);
    expect(pyramidSizes(32, 32, 1)).toEqual([]);
  });

  it('coarse-to-fine keeps the frame black and the soft-target images reproducible', async () => {
    const method = getSynthesisMethod('soft-target');
    const make = () =>
      method
        .create(
          teacher,
          resolveSettings(method.fields, {
            iterations: 8,
            batchSize: 4,
            frame: true,
            coarse: 2,
            coarseShare: 0.5,
          }).settings,
        )
        .synthesize(4, 9);
    const first = await make();
    const low = Math.fround(splitTeacher(teacher).space.low[0]!);
    for (let i = 0; i < 4; i++) {
      for (let c = 0; c < 32; c++) expect(first.inputs[i * 1024 + c]).toBe(low);
    }
    expect((await make()).inputs).toEqual(first.inputs);
  });

  it('noise: unoptimised images labelled by the teacher', async () => {
    const method = getSynthesisMethod('noise');
    const out = await method.create(teacher, defaultSettings(method.fields)).synthesize(20, 1);
    const x = tf.tensor4d(out.inputs, [20, 32, 32, 1]);
    const logits = teacher.model.predict(x) as tf.Tensor;
    const expected = await logits.data();
    out.logits.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
    tf.dispose([x, logits]);
  });

  it('the student preset for a teacher can be built with the teacher input', () => {
    const student = buildPreset('lenet5-half', { seed: 1, inputShape: [...teacher.inputShape] });
    expect(student.inputs[0]!.shape).toEqual([null, 32, 32, 1]);
    student.dispose();
  });
});
