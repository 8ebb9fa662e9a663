// The fingerprint of the sources the command line is built from: the bundle
// electron-vite builds (out/main/cli.js) records it, and bin/distill-studio.js
// runs that bundle only while the sources still match it.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The source folders the command line's bundle is built from. */
const FOLDERS = ['src/cli', 'src/engine', 'src/shared', 'src/worker'];

/** The file the build writes the fingerprint to, beside the bundle. */
export const STAMP_FILE = 'sources.sha256';

/**
 * SHA-256 over the path and contents of every file in those folders under
 * `root`, in a fixed order (about 7 ms for 150 files).
 * @param {string} root
 * @returns {string}
 */
export function sourceStamp(root) {
  const hash = createHash('sha256');
  for (const folder of FOLDERS) {
    const dir = path.join(root, folder);
    if (!existsSync(dir)) continue;
    const files = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
      .sort();
    for (const file of files) {
      hash.update(`${file}\0`);
      hash.update(readFileSync(path.join(root, file)));
    }
  }
  return hash.digest('hex');
}
