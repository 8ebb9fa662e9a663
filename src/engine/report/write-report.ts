import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { JobResult } from '../../shared/job.js';
import { renderReportHtml, type ReportAssets } from '../../shared/report/html.js';
import { readExports } from './exports.js';
import { writeFileAtomic } from '../util/atomic-fs.js';

/** Name of the report in a run folder. */
export const REPORT_FILE = 'report.html';

/** The 8 bytes every PNG file starts with. */
const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** Errors that mean "there is no grid file here", as opposed to a failing disk. */
const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/**
 * Reads the transfer set's sample grid (a PNG named by `result.transferSet.grid`,
 * relative to the run folder) as base64. A missing file, one that is not a
 * PNG, or a name pointing outside the run folder gives no image rather than
 * an error: the report is still worth having without it, and a report
 * must not embed files from elsewhere on the disk.
 */
async function readGrid(runDir: string, grid: string): Promise<string | undefined> {
  const root = path.resolve(runDir);
  const file = path.resolve(root, grid);
  if (grid === '' || !file.startsWith(root + path.sep)) return undefined;
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    if (NOT_THERE.has((error as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw error;
  }
  const isPng = bytes.length > PNG_SIGNATURE.length && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
  return isPng ? bytes.toString('base64') : undefined;
}

/**
 * Renders a finished job's report with its sample grid embedded and writes
 * it atomically as report.html in the run folder (readers never see a half
 * written page). Returns the report's path.
 */
export async function writeReport(runDir: string, result: JobResult): Promise<string> {
  const gridPngBase64 = await readGrid(runDir, result.transferSet.grid);
  const exports = await readExports(runDir);
  const assets: ReportAssets = {
    ...(gridPngBase64 === undefined ? {} : { gridPngBase64 }),
    ...(exports.length > 0 ? { exports } : {}),
  };
  const target = path.join(runDir, REPORT_FILE);
  await writeFileAtomic(target, renderReportHtml(result, assets));
  return target;
}
