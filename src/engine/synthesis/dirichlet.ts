import type { Rng } from '../util/rng.js';

/**
 * Gamma(shape, 1) sample by Marsaglia and Tsang (2000); shapes below 1 use
 * the boost Gamma(a) = Gamma(a + 1) * U^(1/a).
 */
export function sampleGamma(shape: number, rng: Rng): number {
  if (shape < 1) {
    const u = Math.max(rng.next(), 1e-300);
    return sampleGamma(shape + 1, rng) * Math.pow(u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(Math.max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** One Dirichlet(alpha) sample: normalised independent Gamma(alpha_i) draws. */
export function sampleDirichlet(alpha: ArrayLike<number>, rng: Rng): Float64Array {
  const out = new Float64Array(alpha.length);
  let sum = 0;
  for (let i = 0; i < alpha.length; i++) {
    out[i] = sampleGamma(alpha[i] ?? 1, rng);
    sum += out[i] ?? 0;
  }
  if (!(sum > 0)) {
    // Every draw underflowed (tiny concentrations): fall back to the largest alpha's class.
    let best = 0;
    for (let i = 1; i < alpha.length; i++) if ((alpha[i] ?? 0) > (alpha[best] ?? 0)) best = i;
    out.fill(0);
    out[best] = 1;
    return out;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) / sum;
  return out;
}
