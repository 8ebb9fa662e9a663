import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Project, RunRecord } from '../../shared/project.js';
import type { Handlers, ServiceContext } from './context.js';
import { UserError } from '../../shared/errors.js';

/** The export requests: the report (HTML or PDF), the student as ONNX, the student's model folder. */
export function exportHandlers(
  ctx: ServiceContext,
): Handlers<'export.report' | 'export.onnx' | 'export.student'> {
  return {
    'export.report': async ({ projectId, runId, format }) => {
      const project = ctx.project(projectId);
      const run = ctx.finishedRun(projectId, runId);
      const html = path.join(run.spec.runDir, 'report.html');
      const pdf = format === 'pdf' ? ctx.deps.pdf : undefined;
      if (format === 'pdf' && !pdf) {
        throw new UserError(
          'PDF_UNAVAILABLE',
          'PDF export needs the desktop app or a Chromium browser installed on this computer',
          'Export the report as HTML and print it to PDF from your browser, or install Chromium',
        );
      }
      const target = await exportTarget(ctx, project, run, `report.${format}`, {
        name: format === 'pdf' ? 'PDF document' : 'Web page',
        extensions: [format],
      });
      if (!target) return { path: null };
      if (pdf) await pdf.print(html, target.path);
      // Into the exports folder: a new file, never over an existing one (a save dialog has asked).
      else await fs.copyFile(html, target.path, target.chosen ? 0 : fs.constants.COPYFILE_EXCL);
      return { path: target.path };
    },
    'export.onnx': async ({ projectId, runId }) => {
      const project = ctx.project(projectId);
      const run = ctx.finishedRun(projectId, runId);
      const file = await exportTarget(ctx, project, run, 'student.onnx', {
        name: 'ONNX model',
        extensions: ['onnx'],
      });
      if (!file) return { path: null };
      // Without a dialog the name is new (freshExportPath); the worker writes it only after the check.
      const reply = await ctx.runTask(
        {
          type: 'export-onnx',
          modelDir: path.join(run.spec.runDir, 'student'),
          target: file.path,
          testData: run.spec.testData ?? null,
          runDir: run.spec.runDir,
        },
        'onnx-exported',
      );
      return { path: reply.path, note: reply.note };
    },
    'export.student': async ({ projectId, runId }) => {
      const project = ctx.project(projectId);
      const run = ctx.finishedRun(projectId, runId);
      const target = await exportTarget(ctx, project, run, 'student', null);
      if (!target) return { path: null };
      if (existsSync(target.path) && (await fs.readdir(target.path)).length > 0) {
        throw new UserError(
          'EXPORT_TARGET_NOT_EMPTY',
          `The folder ${target.path} is not empty`,
          'Choose a new or empty folder for the model',
        );
      }
      await fs.cp(path.join(run.spec.runDir, 'student'), target.path, {
        recursive: true,
        errorOnExist: true,
        force: false,
      });
      return { path: target.path };
    },
  };
}

/**
 * Where an export goes: the path the user picked in a save dialog
 * (`chosen`; null if cancelled), or, without dialogs (browser mode), a new
 * name in the project's exports folder. Callers never name it.
 */
async function exportTarget(
  ctx: ServiceContext,
  project: Project,
  run: RunRecord,
  what: string,
  filter: { name: string; extensions: string[] } | null,
): Promise<{ path: string; chosen: boolean } | null> {
  const number = project.runs.findIndex((r) => r.id === run.id) + 1;
  const base = `${project.name}-run-${number}-${what}`;
  const dialogs = ctx.deps.dialogs;
  if (dialogs) {
    const suggested = path.join(ctx.workspace.exportsDir(project.id), base.replace(/[^a-zA-Z0-9._-]+/g, '-'));
    const picked = filter ? await dialogs.saveFile(suggested, filter) : await dialogs.chooseFolder(suggested);
    return picked ? { path: picked, chosen: true } : null;
  }
  const extension = filter ? `.${filter.extensions[0]}` : '';
  const fresh = await ctx.workspace.freshExportPath(project.id, base.replace(/\.[a-z]+$/, ''), extension);
  return { path: fresh, chosen: false };
}
