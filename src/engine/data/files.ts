import type { Dirent } from 'node:fs';
import { promises as fs } from 'node:fs';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { formatBytes } from '../../shared/format.js';
import { LIMITS } from '../../shared/limits.js';
import { UserError } from '../../shared/errors.js';

const gunzipAsync = promisify(gunzip);

/** Which split of a dataset to read. */
export type Split = 'train' | 'test';

/** What a path on disk is, without throwing for a missing one. */
export async function pathKind(target: string): Promise<'file' | 'folder' | 'missing' | 'other'> {
  try {
    const stat = await fs.stat(target);
    return stat.isFile() ? 'file' : stat.isDirectory() ? 'folder' : 'other';
  } catch {
    return 'missing';
  }
}

/**
 * Reads a whole data file. A missing or unreadable file becomes a UserError
 * naming the file and `what` it should have been, because Node's own ENOENT
 * message does not tell the user which argument was wrong.
 */
export async function readDataFile(file: string, what: string): Promise<Buffer> {
  try {
    const { size } = await fs.stat(file);
    if (size > LIMITS.dataFileBytes) throw tooLarge(file, what, size);
    return await fs.readFile(file);
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UserError(
        'DATA_NOT_FOUND',
        `The ${what} ${file} does not exist`,
        'Check the path (and its spelling); relative paths start from the current folder',
        { cause: error },
      );
    }
    if (code === 'EISDIR') {
      throw new UserError(
        'DATA_NOT_FOUND',
        `The ${what} ${file} is a folder, not a file`,
        `Pass the ${what} itself`,
        { cause: error },
      );
    }
    throw new UserError(
      'DATA_UNREADABLE',
      `The ${what} ${file} cannot be read (${code ?? 'unknown error'})`,
      'Check that the file exists and that you may read it',
      { cause: error },
    );
  }
}

function tooLarge(file: string, what: string, size: number): UserError {
  return new UserError(
    'DATA_TOO_LARGE',
    `The ${what} ${file} is ${formatBytes(size)}; one data file may be at most ${formatBytes(LIMITS.dataFileBytes)}`,
    'Check that this is the right file; split a larger dataset into several files or an image folder',
  );
}

/** Lists a folder's entries sorted by name, or throws a UserError naming it. */
export async function listFolder(folder: string, what: string): Promise<Dirent[]> {
  try {
    const entries = await fs.readdir(folder, { withFileTypes: true });
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'ENOTDIR'
          ? 'is a file, not a folder'
          : `cannot be read (${code ?? 'unknown error'})`;
    throw new UserError(
      'DATA_NOT_FOUND',
      `The ${what} ${folder} ${problem}`,
      `Pass the folder that holds the ${what}'s files`,
      { cause: error },
    );
  }
}

/** Hidden files (".DS_Store", "._x.png") are never data. */
export function isHidden(name: string): boolean {
  return name.startsWith('.');
}

/** True when the bytes start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Returns the bytes, decompressed when they are gzip. Detection is by magic
 * bytes, not by the ".gz" name, because datasets are often renamed or
 * decompressed in place by browsers and tools.
 */
export async function gunzipIfNeeded(
  bytes: Buffer,
  file: string,
  maxBytes: number = LIMITS.dataFileBytes,
): Promise<Buffer> {
  if (!isGzip(bytes)) return bytes;
  try {
    // Bounded: a small archive can unpack to gigabytes (a "zip bomb").
    return await gunzipAsync(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new UserError(
        'DATA_TOO_LARGE',
        `${file} unpacks to more than ${formatBytes(maxBytes)}, more than one data file of this app may hold`,
        'Check that this is the right file; split a larger dataset into several files or an image folder',
        { cause: error },
      );
    }
    throw new UserError(
      'DATA_DAMAGED',
      `${file} is gzip-compressed but damaged or truncated (${(error as Error).message})`,
      'Copy the file again from its source, or pass the decompressed file',
      { cause: error },
    );
  }
}

/**
 * Checks that every label is a class index of the task. Returns quietly or
 * throws a UserError naming the file, the first bad label and its position.
 */
export function checkLabelRange(labels: Uint8Array, numClasses: number, file: string, fix: string): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] ?? 0;
    if (label >= numClasses) {
      throw new UserError(
        'LABEL_OUT_OF_RANGE',
        `${file}: label ${label} of image ${i} is outside the classes 0..${numClasses - 1}`,
        fix,
      );
    }
  }
}
