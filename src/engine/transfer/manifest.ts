import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ShardEntrySchema } from '../../shared/shard-protocol.js';
import { UserError } from '../../shared/errors.js';
import { canonicalJson } from '../util/canonical-json.js';

/**
 * What a transfer set is made from: everything that decides its content.
 * A run folder resumed with a different plan would mix two sets, so the
 * store refuses it (see TransferSetStore.open).
 */
export interface TransferPlan {
  inputShape: [number, number, number];
  numClasses: number;
  /** All images of the set, including any held back from training. */
  totalSamples: number;
  /** Images per shard file: the unit of resumption and of parallel work. */
  shardSize: number;
  method: string;
  /** The method's settings after defaults were applied. */
  settings: Record<string, unknown>;
  seed: number;
  teacherFingerprint: string;
}

/** One finished shard as recorded in the manifest. */
export interface ShardEntry {
  index: number;
  count: number;
  /** File name relative to the transfer-set folder. */
  file: string;
  sha256: string;
  seed: number;
  seconds: number;
  metrics: Record<string, number>;
  /** The teacher's logits on every shift of each image (transfer/shift-file.ts), where made. */
  shifts?: { file: string; sha256: string; maxShift: number };
}

/**
 * manifest.json of a transfer-set folder: the plan, who made it, and the
 * shards finished so far. Only the coordinating process writes it.
 */
export interface TransferManifest extends TransferPlan {
  format: 'distill-studio/transfer-set';
  version: 1;
  /** Backends that wrote shards, comma separated (a resumed run may use another one). */
  backend: string;
  appVersion: string;
  shards: ShardEntry[];
}

const positiveInt = z.number().int().positive();

/** Parses manifest.json; the worker protocol's ShardEntrySchema keeps both in step. */
export const TransferManifestSchema = z.object({
  format: z.literal('distill-studio/transfer-set'),
  version: z.literal(1),
  backend: z.string(),
  appVersion: z.string(),
  inputShape: z.tuple([positiveInt, positiveInt, positiveInt]),
  numClasses: positiveInt,
  totalSamples: positiveInt,
  shardSize: positiveInt,
  method: z.string(),
  settings: z.record(z.string(), z.unknown()),
  seed: z.number().int(),
  teacherFingerprint: z.string(),
  shards: z.array(ShardEntrySchema),
}) satisfies z.ZodType<TransferManifest>;

const PLAN_FIELDS = [
  'inputShape',
  'numClasses',
  'totalSamples',
  'shardSize',
  'method',
  'settings',
  'seed',
  'teacherFingerprint',
] as const satisfies readonly (keyof TransferPlan)[];

/** Only the plan's fields, as they will look after a JSON round trip. */
export function planOf(plan: TransferPlan): TransferPlan {
  const picked = Object.fromEntries(PLAN_FIELDS.map((key) => [key, plan[key]]));
  return JSON.parse(JSON.stringify(picked)) as TransferPlan;
}

/**
 * Lists how `now` differs from `before`, one readable item per field
 * ("shardSize (was 100, now 50)"); settings are compared key by key so the
 * user sees which setting changed.
 */
export function planDifferences(before: TransferPlan, now: TransferPlan): string[] {
  const was = planOf(before);
  const is = planOf(now);
  const show = (v: unknown): string => (v === undefined ? 'unset' : canonicalJson(v));
  const differences: string[] = [];
  for (const key of PLAN_FIELDS) {
    if (key === 'settings') {
      const names = [...new Set([...Object.keys(was.settings), ...Object.keys(is.settings)])].sort();
      for (const name of names) {
        const a = was.settings[name];
        const b = is.settings[name];
        if (canonicalJson(a) !== canonicalJson(b))
          differences.push(`settings.${name} (was ${show(a)}, now ${show(b)})`);
      }
    } else if (canonicalJson(was[key]) !== canonicalJson(is[key])) {
      differences.push(`${key} (was ${show(was[key])}, now ${show(is[key])})`);
    }
  }
  return differences;
}

/**
 * Reads and validates a manifest.json; null when there is none yet. Invalid
 * JSON or content throws UserError TRANSFER_MANIFEST_INVALID.
 */
export async function readTransferManifest(file: string): Promise<TransferManifest | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const fix = `Delete the folder ${path.dirname(file)} to make the transfer set again, or use a new run folder`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError('TRANSFER_MANIFEST_INVALID', `${file} is not valid JSON`, fix, { cause: error });
  }
  const parsed = TransferManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'manifest';
    throw new UserError(
      'TRANSFER_MANIFEST_INVALID',
      `${file} is not a transfer-set manifest this version can read: ${where}: ${issue?.message ?? 'invalid'}`,
      fix,
    );
  }
  return parsed.data;
}
