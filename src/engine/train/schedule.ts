import { canFuseAdam, fusedAdamUpdate, type AdamSlot } from '../backend/wasm-adam.js';
import { cosineShare } from '../../shared/learning-rate.js';
import { tf } from '../tf.js';

/** tfjs's private AdamOptimizer state, which the fused update reads and keeps as tfjs does. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
}

/**
 * Adam whose learning rate can change between steps. tfjs reads the
 * protected `learningRate` field on every update, so a subclass can expose a
 * setter instead of rebuilding the optimizer (which would lose its moments).
 */
export class ScheduledAdam extends tf.AdamOptimizer {
  constructor(learningRate: number) {
    super(learningRate, 0.9, 0.999, 1e-7);
  }

  setLearningRate(value: number): void {
    this.learningRate = value;
  }

  /**
   * tfjs's Adam step, fused into one kernels.c call per variable where the wasm backend runs
   * it (src/engine/backend/wasm-adam.ts); elsewhere, or for anything that call refuses,
   * tfjs's own. The moments are created, named and saved exactly as tfjs does, so checkpoints
   * are the same either way.
   */
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!canFuseAdam()) return super.applyGradients(variableGradients);
    const named = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const own = this as unknown as AdamState;
    const slots: AdamSlot[] = [];
    for (const [i, { name, tensor }] of named.entries()) {
      const value = tf.engine().registeredVariables[name];
      if (!value || !tensor) return super.applyGradients(variableGradients);
      own.accumulatedFirstMoment[i] ??= {
        originalName: `${name}/m`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      own.accumulatedSecondMoment[i] ??= {
        originalName: `${name}/v`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      const firstMoment = own.accumulatedFirstMoment[i].variable;
      const secondMoment = own.accumulatedSecondMoment[i].variable;
      slots.push({ value, firstMoment, secondMoment, gradient: tensor });
    }
    // 1 - beta^t in float32, as tfjs's sub(1, accBeta) gives them.
    const [correction1, correction2] = [own.accBeta1, own.accBeta2].map((b) =>
      Math.fround(1 - (b.dataSync()[0] ?? 0)),
    ) as [number, number];
    const fused = fusedAdamUpdate(slots, {
      learningRate: own.learningRate,
      beta1: own.beta1,
      beta2: own.beta2,
      epsilon: own.epsilon,
      correction1,
      correction2,
    });
    if (!fused) return super.applyGradients(variableGradients);
    tf.tidy(() => {
      own.accBeta1.assign(tf.mul(own.accBeta1, own.beta1));
      own.accBeta2.assign(tf.mul(own.accBeta2, own.beta2));
    });
    this.incrementIterations();
  }

  /**
   * Adam's running powers beta1^t and beta2^t. tfjs keeps them private and,
   * on setWeights, recomputes them with pow(), which differs in the last bits
   * from the running product; a checkpoint saves them so that a resumed run
   * continues bit for bit.
   */
  async betaPowers(): Promise<[number, number]> {
    const own = this as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
    return [(await own.accBeta1.data())[0] ?? 1, (await own.accBeta2.data())[0] ?? 1];
  }

  /** Restores the values betaPowers() returned (after setWeights). */
  restoreBetaPowers([beta1Power, beta2Power]: [number, number]): void {
    const own = this as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
    tf.tidy(() => {
      own.accBeta1.assign(tf.scalar(beta1Power));
      own.accBeta2.assign(tf.scalar(beta2Power));
    });
  }
}

/** Cosine decay from `base` to `base * floor` over `total` steps. */
export function cosineRate(base: number, step: number, total: number, floor = 0.01): number {
  return base * cosineShare(step / Math.max(1, total), floor);
}
