import Conf from 'conf';
import type { KeyValueStore } from '../services/project-store.js';

/**
 * The settings store outside Electron: `conf`, the library electron-store is
 * built on, writing the same JSON file format (atomically) in `dir`.
 */
export function confStore(dir: string): KeyValueStore {
  const conf = new Conf<Record<string, unknown>>({
    cwd: dir,
    configName: 'distill-studio',
    accessPropertiesByDotNotation: false,
  });
  return { get: (key) => conf.get(key), set: (key, value) => conf.set(key, value) };
}
