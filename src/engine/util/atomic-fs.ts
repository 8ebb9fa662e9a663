import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** A unique sibling path used for temporary files and folders. */
function siblingTemp(target: string, tag: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.${tag}-${randomBytes(4).toString('hex')}`,
  );
}

/**
 * Writes a file so that readers see either the old or the new content, never
 * a half-written one: write a temporary sibling, fsync it, then rename.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = siblingTemp(target, 'tmp');
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, target);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Creates a folder's content in a temporary sibling through `fill`, then
 * swaps it into place. If `fill` throws, the existing folder is untouched.
 * An existing folder at `target` is replaced only after the new one is
 * complete, and is removed only after the swap succeeded.
 */
export async function replaceDirAtomic(
  target: string,
  fill: (tmpDir: string) => Promise<void>,
): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = siblingTemp(target, 'new');
  await fs.mkdir(tmp);
  try {
    await fill(tmp);
  } catch (error) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw error;
  }
  const old = siblingTemp(target, 'old');
  let hadOld = false;
  try {
    await fs.rename(target, old);
    hadOld = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      await fs.rm(tmp, { recursive: true, force: true });
      throw error;
    }
  }
  try {
    await fs.rename(tmp, target);
  } catch (error) {
    if (hadOld) await fs.rename(old, target);
    await fs.rm(tmp, { recursive: true, force: true });
    throw error;
  }
  if (hadOld) await fs.rm(old, { recursive: true, force: true });
}

/**
 * Undoes a replaceDirAtomic interrupted between its two renames (a kill at
 * exactly that moment leaves the old folder under its temporary name and
 * nothing at `target`): puts the old folder back. Harmless otherwise.
 */
export async function recoverDir(target: string): Promise<void> {
  try {
    await fs.access(target);
    return;
  } catch {
    // missing: look for an old copy
  }
  const prefix = `.${path.basename(target)}.old-`;
  const siblings = await fs.readdir(path.dirname(target)).catch(() => [] as string[]);
  const old = siblings.find((name) => name.startsWith(prefix));
  if (old) await fs.rename(path.join(path.dirname(target), old), target);
}
