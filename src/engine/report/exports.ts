import { promises as fs } from 'node:fs';
import path from 'node:path';
import { JobResultSchema } from '../../shared/job.js';
import { ExportRecordsSchema, type ExportRecord } from '../../shared/report/exports.js';
import { writeFileAtomic } from '../util/atomic-fs.js';
import { writeReport } from './write-report.js';

/**
 * The run folder's record of where its student was exported for other apps
 * (exports.json), which the report shows. Exports happen after the job, so
 * recording one also renders the run's report again.
 */

/** Name of the record in a run folder. */
export const EXPORTS_FILE = 'exports.json';

/** The run's exports, oldest first; none when the file is missing or unreadable (the report does without). */
export async function readExports(runDir: string): Promise<ExportRecord[]> {
  let text: string;
  try {
    text = await fs.readFile(path.join(runDir, EXPORTS_FILE), 'utf8');
  } catch {
    return [];
  }
  try {
    const parsed = ExportRecordsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/**
 * Adds `record` to the run folder's exports.json and renders its report
 * again with it. A folder without a finished job (no result.json) is left
 * alone: there is no report to tell.
 */
export async function recordExport(runDir: string, record: ExportRecord): Promise<boolean> {
  let resultText: string;
  try {
    resultText = await fs.readFile(path.join(runDir, 'result.json'), 'utf8');
  } catch {
    return false;
  }
  let json: unknown;
  try {
    json = JSON.parse(resultText);
  } catch {
    return false;
  }
  const result = JobResultSchema.safeParse(json);
  if (!result.success) return false;
  const records = [...(await readExports(runDir)), record];
  await writeFileAtomic(path.join(runDir, EXPORTS_FILE), JSON.stringify(records, null, 2) + '\n');
  await writeReport(runDir, result.data);
  return true;
}
