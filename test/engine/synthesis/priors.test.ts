import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { initBackend } from '../../../src/engine/backend/select.js';
import { SIMD_KERNELS_ENV, simdKernelsFor } from '../../../src/engine/backend/simd-kernels.js';
import {
  blurImages,
  darkDecision,
  darknessPrior,
  DARK_IMAGES_MEAN,
  imagePrior,
  jitterer,
  pixelStatsPrior,
} from '../../../src/engine/synthesis/priors.js';
import { tf } from '../../../src/engine/tf.js';
import { Rng } from '../../../src/engine/util/rng.js';

beforeAll(async () => {
  await initBackend({ force: 'wasm' });
});

/** The priors by their definitions, with slices (what the convolutions must equal). */
function referenceTv(x: tf.Tensor4D): tf.Scalar {
  const [, h, w] = x.shape;
  const dy = tf.sub(
    tf.slice(x, [0, 1, 0, 0], [-1, h - 1, -1, -1]),
    tf.slice(x, [0, 0, 0, 0], [-1, h - 1, -1, -1]),
  );
  const dx = tf.sub(
    tf.slice(x, [0, 0, 1, 0], [-1, -1, w - 1, -1]),
    tf.slice(x, [0, 0, 0, 0], [-1, -1, w - 1, -1]),
  );
  return tf.add(tf.mean(tf.abs(dy)), tf.mean(tf.abs(dx))) as tf.Scalar;
}

function referenceShift(x: tf.Tensor4D, jitter: number, dy: number, dx: number, fill: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const padded = tf.pad(
    x,
    [
      [0, 0],
      [jitter, jitter],
      [jitter, jitter],
      [0, 0],
    ],
    fill,
  );
  return tf.slice(padded, [0, dy, dx, 0], [n, h, w, c]);
}

async function expectClose(a: tf.Tensor, b: tf.Tensor, tolerance = 1e-5): Promise<void> {
  expect(a.shape).toEqual(b.shape);
  const [va, vb] = await Promise.all([a.data(), b.data()]);
  let worst = 0;
  for (let i = 0; i < va.length; i++) worst = Math.max(worst, Math.abs((va[i] ?? 0) - (vb[i] ?? 0)));
  expect(worst).toBeLessThan(tolerance);
}

describe('image priors', () => {
  for (const channels of [1, 3]) {
    it(`total variation and L2 equal their definitions, values and gradients (${channels} channel)`, async () => {
      const before = tf.memory().numTensors;
      const x = tf.randomNormal([3, 9, 7, channels], 0, 1, 'float32', 4) as tf.Tensor4D;
      const settings = { tv: 2.5, l2: 0.5, jitter: 0 };
      const expected = (v: tf.Tensor) =>
        tf.add(tf.mul(referenceTv(v as tf.Tensor4D), 2.5), tf.mul(tf.mean(tf.square(v)), 0.5)) as tf.Scalar;
      const got = (v: tf.Tensor) => imagePrior(v as tf.Tensor4D, settings)!;
      const [a, b] = [tf.tidy(() => got(x)), tf.tidy(() => expected(x))];
      await expectClose(a, b);
      const [ga, gb] = [tf.grad(got)(x), tf.grad(expected)(x)];
      await expectClose(ga, gb);
      // A flat image has no variation: only the L2 term remains.
      const flat = tf.fill([1, 5, 5, channels], 2) as tf.Tensor4D;
      const flatPrior = tf.tidy(() => imagePrior(flat, settings)!);
      expect((await flatPrior.data())[0]).toBeCloseTo(0.5 * 4, 5);
      tf.dispose([x, a, b, ga, gb, flat, flatPrior]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('is off (undefined) when both weights are 0, as in the paper', () => {
    const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    expect(imagePrior(x, { tv: 0, l2: 0, jitter: 2 })).toBeUndefined();
    x.dispose();
  });

  // With kernels.c the shift is one copy (wasm-shift.ts); without it, a one-hot convolution.
  for (const [channels, fill, simd] of [
    [1, 0, true],
    [3, -0.42, true],
    [1, 0, false],
    [3, -0.42, false],
  ] as const) {
    it(`jitter shifts by the seeded offsets and fills with black (${channels} channels, fill ${fill}, ${simd ? 'with' : 'without'} kernels.c)`, async () => {
      if (simd) delete process.env[SIMD_KERNELS_ENV];
      else process.env[SIMD_KERNELS_ENV] = '0';
      onTestFinished(() => {
        delete process.env[SIMD_KERNELS_ENV];
      });
      expect(simdKernelsFor(tf.backend()) !== undefined).toBe(simd);
      const before = tf.memory().numTensors;
      const jitter = 2;
      const space = {
        inputShape: [8, 6, channels] as [number, number, number],
        low: new Array<number>(channels).fill(fill),
        high: new Array<number>(channels).fill(1),
      };
      const x = tf.randomUniform([2, 8, 6, channels], 0, 1, 'float32', 9) as tf.Tensor4D;
      const shift = jitterer(space, jitter, 17);
      const offsets = new Rng(17);
      for (let call = 0; call < 4; call++) {
        const dy = offsets.int(2 * jitter + 1);
        const dx = offsets.int(2 * jitter + 1);
        const got = shift(x);
        const expected = tf.tidy(() => referenceShift(x, jitter, dy, dx, fill));
        await expectClose(got, expected);
        // The gradient flows back to the pixels that were moved, as through pad and slice.
        const weights = tf.randomNormal(x.shape, 0, 1, 'float32', call);
        const ga = tf.grad((v) =>
          tf.sum(tf.mul(jitterer(space, jitter, 17 + call)(v as tf.Tensor4D), weights)),
        )(x);
        const replay = new Rng(17 + call);
        const [ry, rx] = [replay.int(2 * jitter + 1), replay.int(2 * jitter + 1)];
        const gb = tf.grad((v) =>
          tf.sum(tf.mul(referenceShift(v as tf.Tensor4D, jitter, ry, rx, fill), weights)),
        )(x);
        await expectClose(ga, gb);
        tf.dispose([got, expected, weights, ga, gb]);
      }
      x.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('jitterer with mirror', () => {
  it('shifts as without it and mirrors left to right at about every other call, by hand', async () => {
    const jitter = 1;
    const space = { inputShape: [3, 4, 2] as [number, number, number], low: [0, 0], high: [1, 1] };
    const before = tf.memory().numTensors;
    const x = tf.tensor4d(
      Array.from({ length: 3 * 4 * 2 }, (_, i) => i / 24),
      [1, 3, 4, 2],
    );
    const move = jitterer(space, jitter, 5, true);
    const draws = new Rng(5);
    let flips = 0;
    const calls = 40;
    for (let call = 0; call < calls; call++) {
      const [dy, dx] = [draws.int(3), draws.int(3)];
      const flip = draws.int(2) === 1;
      flips += flip ? 1 : 0;
      const got = move(x);
      const shifted = tf.tidy(() => referenceShift(x, jitter, dy, dx, 0));
      const values = (await shifted.array())[0]!;
      // Mirrored by hand: column j takes column w - 1 - j.
      const expected = tf.tensor4d([flip ? values.map((row) => [...row].reverse()) : values]);
      await expectClose(got, expected);
      tf.dispose([got, shifted, expected]);
    }
    expect(flips).toBeGreaterThan(calls / 4);
    expect(flips).toBeLessThan((3 * calls) / 4);
    // Mirror alone, without shifts: each call is the image or its mirror image.
    const flipOnly = jitterer(space, 0, 5, true);
    const once = flipOnly(x);
    const same = await once.data();
    const original = await x.data();
    const reversed = tf.reverse(x, 2);
    const mirrored = await reversed.data();
    reversed.dispose();
    const matches = (a: ArrayLike<number>) => Array.from(same).every((v, i) => Math.abs(v - a[i]!) < 1e-6);
    expect(matches(original) || matches(mirrored)).toBe(true);
    once.dispose();
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('blurImages', () => {
  it('mixes in a [1 2 1]/4 binomial blur, by hand at one pixel, with black outside the image', async () => {
    const space = { inputShape: [4, 4, 2] as [number, number, number], low: [-1, 0], high: [1, 1] };
    const values = Array.from({ length: 2 * 4 * 4 * 2 }, (_, i) => ((i * 37) % 11) / 11);
    const x = tf.tensor4d(values, [2, 4, 4, 2]);
    const before = tf.memory().numTensors;
    const out = blurImages(x, space, 0.5);
    expect(tf.memory().numTensors).toBe(before + 1);
    const at = (img: number, r: number, c: number, ch: number, low: number): number =>
      r < 0 || r > 3 || c < 0 || c > 3 ? 0 : values[((img * 4 + r) * 4 + c) * 2 + ch]! - low;
    const got = (await out.array()) as number[][][][];
    for (const [img, r, c, ch] of [
      [0, 1, 2, 0],
      [1, 0, 0, 1],
      [1, 3, 2, 0],
    ] as const) {
      const low = space.low[ch]!;
      let blurred = 0;
      for (let i = -1; i <= 1; i++) {
        for (let j = -1; j <= 1; j++)
          blurred += (((2 - Math.abs(i)) * (2 - Math.abs(j))) / 16) * at(img, r + i, c + j, ch, low);
      }
      const expected = 0.5 * at(img, r, c, ch, low) + 0.5 * blurred + low;
      expect(got[img]![r]![c]![ch]).toBeCloseTo(expected, 5);
    }
    expect(blurImages(x, space, 0)).toBe(x);
    tf.dispose([x, out]);
  });
});

describe('pixelStatsPrior', () => {
  it("is the squared distance of the batch's mean and spread inside the frame from 0 and 1, by hand", async () => {
    // One channel, 2 images of 4x4, frame 2x2 in the middle: inside values 1,2,3,4 and 5,6,7,8.
    const values = new Array<number>(32).fill(9);
    const inner = [5, 6, 9, 10];
    inner.forEach((p, i) => {
      values[p] = i + 1;
      values[16 + p] = i + 5;
    });
    const x = tf.tensor4d(values, [2, 4, 4, 1]);
    const space = {
      inputShape: [4, 4, 1] as [number, number, number],
      low: [-1],
      high: [9],
      frame: { top: 1, left: 1, height: 2, width: 2 },
      hasDataStats: true,
    };
    // Mean of 1..8 = 4.5; population variance = 5.25.
    const expected = 4.5 ** 2 + (Math.sqrt(5.25) - 1) ** 2;
    const prior = pixelStatsPrior(x, space)!;
    expect(prior.dataSync()[0]).toBeCloseTo(expected, 4);
    const withSmooth = imagePrior(x, { tv: 0, l2: 0, jitter: 0, pixelStats: 2 }, space)!;
    expect(withSmooth.dataSync()[0]).toBeCloseTo(2 * expected, 3);
    // Without a frame, the unpadded images' region (the statistics were recorded on them) still
    // decides which pixels count; with neither, the whole input counts (mean 8.5 over 9s and 1..8).
    const { frame, ...unframed } = space;
    const bySource = pixelStatsPrior(x, { ...unframed, source: frame })!;
    expect(bySource.dataSync()[0]).toBeCloseTo(expected, 4);
    const all = Array.from({ length: 32 }, (_, i) => values[i]!);
    const allMean = all.reduce((a, b) => a + b, 0) / 32;
    const allStd = Math.sqrt(all.reduce((a, b) => a + (b - allMean) ** 2, 0) / 32);
    const whole = pixelStatsPrior(x, unframed)!;
    expect(whole.dataSync()[0]).toBeCloseTo(allMean ** 2 + (allStd - 1) ** 2, 3);
    tf.dispose([bySource, whole]);
    expect(pixelStatsPrior(x, { ...space, hasDataStats: false })).toBeUndefined();
    expect(imagePrior(x, { tv: 0, l2: 0, jitter: 0, pixelStats: 2 })).toBeUndefined();
    tf.dispose([x, prior, withSmooth]);
  });
});

describe('darknessPrior', () => {
  it('is the mean distance above black per channel, by hand, with the same gradient at every pixel', async () => {
    const before = tf.memory().numTensors;
    // Two channels whose black pixels sit at -1 and -2; one flat 2x2 image (no variation).
    const space = { inputShape: [2, 2, 2] as [number, number, number], low: [-1, -2], high: [3, 3] };
    const x = tf.tensor4d([0, -2, 0, -2, 0, -2, 0, -2], [1, 2, 2, 2]);
    // Distances above black: 1 (channel 0) and 0 (channel 1) at every pixel -> mean 0.5.
    const prior = darknessPrior(x, space);
    expect((await prior.data())[0]).toBeCloseTo(0.5, 6);
    const gradient = tf.grad((v) => darknessPrior(v as tf.Tensor4D, space))(x);
    expect(Array.from(await gradient.data())).toEqual(new Array<number>(8).fill(1 / 8));
    // Inside imagePrior (called in a tidy scope, as synthesis does): weighted and added to the
    // other terms (here L2: mean of 0 and 4 = 2); without a space it cannot apply.
    const combined = tf.tidy(() => imagePrior(x, { tv: 1, l2: 1, jitter: 0, dark: 4 }, space)!);
    expect((await combined.data())[0]).toBeCloseTo(2 + 4 * 0.5, 5);
    const alone = tf.tidy(() => imagePrior(x, { tv: 0, l2: 0, jitter: 0, dark: 4 }, space)!);
    expect((await alone.data())[0]).toBeCloseTo(2, 5);
    expect(imagePrior(x, { tv: 0, l2: 0, jitter: 0, dark: 4 })).toBeUndefined();
    tf.dispose([x, prior, gradient, combined, alone]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('darkDecision', () => {
  const digits = { mean: [0.131], std: [0.309] }; // mostly black images (MNIST)
  const clothing = { mean: [0.286], std: [0.353] }; // Fashion-MNIST
  const photos = { mean: [0.491, 0.482, 0.447], std: [0.247, 0.243, 0.262] }; // CIFAR-10
  const unrecorded = { mean: [0, 0, 0], std: [1, 1, 1] }; // an imported file that records nothing

  it('applies the pull on auto only for teachers whose recorded images were mostly black', () => {
    expect(DARK_IMAGES_MEAN).toBeGreaterThan(0.286);
    expect(DARK_IMAGES_MEAN).toBeLessThan(0.447);
    const auto = { dark: 500, background: 'auto' };
    expect(darkDecision(auto, digits)).toMatchObject({ weight: 500 });
    expect(darkDecision(auto, digits).note).toMatch(/on .*0\.131, mostly black/);
    expect(darkDecision(auto, clothing)).toMatchObject({ weight: 500 });
    expect(darkDecision(auto, photos)).toMatchObject({ weight: 0 });
    expect(darkDecision(auto, photos).note).toMatch(
      /off .*0\.491, 0\.482, 0\.447.*background=dark forces it/,
    );
    expect(darkDecision(auto, unrecorded)).toMatchObject({ weight: 0 });
    expect(darkDecision(auto, unrecorded).note).toMatch(/records no pixel statistics/);
    // Every channel must be dark: one bright channel of three is not a black image.
    expect(darkDecision(auto, { mean: [0.1, 0.1, 0.5], std: [0.2, 0.2, 0.2] }).weight).toBe(0);
  });

  it('dark forces it, any turns it off, and weight 0 says nothing', () => {
    expect(darkDecision({ dark: 500, background: 'dark' }, photos)).toMatchObject({ weight: 500 });
    expect(darkDecision({ dark: 500, background: 'dark' }, unrecorded).weight).toBe(500);
    expect(darkDecision({ dark: 500, background: 'any' }, digits)).toEqual({ weight: 0 });
    expect(darkDecision({ dark: 0, background: 'dark' }, digits)).toEqual({ weight: 0 });
  });
});
