import type { SettingFields, SettingValues } from '../../shared/settings.js';
import type { Classifier } from '../models/classifier.js';
import type { tf } from '../tf.js';

/** Synthesized inputs with the teacher's outputs on them: one piece of a transfer set. */
export interface TransferBatch {
  count: number;
  /** count x h x w x c model inputs (normalised units), NHWC. */
  inputs: Float32Array;
  /** count x K teacher logits on those inputs (distillation softens them at its own temperature). */
  logits: Float32Array;
  /** Final values of the method's losses and checks, averaged over batches. */
  metrics: Record<string, number>;
}

/** Reported while a method optimises a batch. */
export interface SynthesisProgress {
  /** Images finished so far in this call, and how many were asked for. */
  done: number;
  total: number;
  /** Size of the batch being optimised now. */
  batch: number;
  iteration: number;
  iterations: number;
  /** Current values of the method's loss terms (e.g. kl, activation). */
  losses: Record<string, number>;
}

export interface SynthesizeOptions {
  onProgress?: (progress: SynthesisProgress) => void;
  signal?: AbortSignal;
  /** The current student: images are also pushed to where it disagrees with the teacher. */
  student?: StudentAwareness;
  /**
   * Starting images (flat NHWC, normalised units) for k images of the call, spread evenly over
   * it (startSlot), replacing the method's own starts there; the rest start as the method does.
   */
  starts?: Float32Array;
}

/**
 * Student-aware synthesis (Adaptive DeepInversion, Yin 2020): the loss also
 * subtracts weight * JS(softmax(teacher(x) / T), softmax(student(x) / T)),
 * so new images land where the student does not yet answer like the teacher.
 */
export interface StudentAwareness {
  logits(x: tf.Tensor4D): tf.Tensor2D;
  weight: number;
  temperature: number;
}

/** A configured method bound to one teacher. */
export interface Synthesizer {
  /** Makes `count` inputs; the same seed gives the same inputs on the same backend. */
  synthesize(count: number, seed: number, options?: SynthesizeOptions): Promise<TransferBatch>;
}

/**
 * A transfer-set synthesis method (DataFree's BaseSynthesis): a name, its
 * settings declaration, and a factory. Methods are looked up by name in
 * registry.ts; nothing dispatches on names elsewhere.
 */
export interface SynthesisMethod<F extends SettingFields = SettingFields> {
  name: string;
  /** Short title for menus, e.g. "Soft-targeted synthesis (Wang 2021)". */
  title: string;
  /** One or two sentences a non-specialist can follow. */
  description: string;
  fields: F;
  /** True when the method needs the teacher's dense head (soft-target and zskd do). */
  needsDenseHead: boolean;
  /**
   * Settings that replace the paper's defaults unless the paper's
   * configuration is asked for by name, each because it won at equal
   * budget (see the method's module for the measurements).
   */
  recommended: Partial<SettingValues<F>>;
  /** Binds the method to a teacher; throws UserError if this teacher cannot be used. */
  create(teacher: Classifier, settings: SettingValues<F>): Synthesizer;
  /** What the settings decide for this teacher that the user should know (one sentence each, for the log). */
  notes?(teacher: Classifier, settings: SettingValues<F>): string[];
}
