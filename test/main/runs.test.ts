import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chromiumPdfPrinter } from '../../src/main/browser/chromium-pdf.js';
import { memoryStore } from '../../src/main/services/project-store.js';
import { Services } from '../../src/main/services/services.js';
import type { AppEvent } from '../../src/shared/api.js';
import type { Project } from '../../src/shared/project.js';
import { forkLauncher, type WorkerLauncher } from '../../src/engine/job/launcher.js';
import { call, makeServices, refused, TINY_ROUNDS, TINY_SETUP, waitFor } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function readyProject(made: ReturnType<typeof makeServices>): Promise<Project> {
  cleanups.push(made.cleanup);
  const p = await call(made.services, 'projects.create', { name: 'Digits' });
  await call(made.services, 'projects.setTeacher', {
    projectId: p.id,
    teacher: { kind: 'builtin', name: 'mnist-lenet5' },
  });
  return call(made.services, 'projects.update', { projectId: p.id, setup: { ...TINY_SETUP } });
}

async function finalRun(made: ReturnType<typeof makeServices>, projectId: string, runId: string) {
  await made.services.runs.idle();
  return (await call(made.services, 'projects.get', { projectId })).runs.find((r) => r.id === runId)!;
}

describe('runs', () => {
  it('runs a job in a worker, streams typed events, keeps them on disk, and exports report, PDF and model', async () => {
    const made = makeServices({ deps: { pdf: chromiumPdfPrinter() } });
    const project = await readyProject(made);
    const events: AppEvent[] = [];
    made.services.subscribe((e) => events.push(e));
    const started = await call(made.services, 'runs.start', { projectId: project.id });
    expect(started.status).toBe('running');
    const busy = await refused(made.services, 'runs.start', { projectId: project.id });
    expect(busy.code).toBe('RUN_BUSY');
    const run = await finalRun(made, project.id, started.id);
    expect(run.error).toBeNull();
    expect(run.status).toBe('done');
    expect(run.summary?.teacherAccuracy).toBeCloseTo(0.9825, 4);
    expect(run.summary?.studentAccuracy).toBeGreaterThanOrEqual(0);

    const runEvents = events.filter((e) => e.type === 'run-event');
    const stages = new Set(runEvents.map((e) => (e.event.type === 'progress' ? e.event.stage : null)));
    expect([...stages]).toEqual(expect.arrayContaining(['synthesize', 'distill']));
    expect(runEvents.at(-1)?.event.type).toBe('done');
    const kept = await call(made.services, 'runs.events', { projectId: project.id, runId: run.id });
    expect(kept.events.filter((e) => e.type === 'progress').length).toBe(
      runEvents.filter((e) => e.event.type === 'progress').length,
    );

    const samples = await call(made.services, 'runs.samples', { projectId: project.id, runId: run.id });
    expect(samples.dataUrl).toMatch(/^data:image\/png;base64,iVBOR/);
    expect(samples.count).toBe(TINY_SETUP.samples + TINY_SETUP.holdout);
    const report = await call(made.services, 'runs.report', { projectId: project.id, runId: run.id });
    expect(report.result.evaluation?.teacher.accuracy).toBeCloseTo(0.9825, 4);
    expect(report.html).toContain('<!doctype html>');

    const html = await call(made.services, 'export.report', {
      projectId: project.id,
      runId: run.id,
      format: 'html',
    });
    expect(readFileSync(html.path!, 'utf8')).toBe(report.html);
    const again = await call(made.services, 'export.report', {
      projectId: project.id,
      runId: run.id,
      format: 'html',
    });
    expect(again.path).not.toBe(html.path); // never overwrites an earlier export
    if (chromiumPdfPrinter()) {
      const pdf = await call(made.services, 'export.report', {
        projectId: project.id,
        runId: run.id,
        format: 'pdf',
      });
      expect(readFileSync(pdf.path!).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    }
    const model = await call(made.services, 'export.student', { projectId: project.id, runId: run.id });
    expect(existsSync(path.join(model.path!, 'model.json'))).toBe(true);
    // No caller names where an export goes: a destination is refused, and nothing is written there.
    const outside = path.join(made.workspace, '..', `ds-outside-${project.id}.html`);
    for (const method of ['export.report', 'export.student'] as const) {
      const params = { projectId: project.id, runId: run.id, format: 'html', destination: outside };
      const named = await refused(made.services, method, params as never);
      expect(named.code).toBe('INPUT_INVALID');
      expect(named.message).toMatch(/destination/);
    }
    expect(existsSync(outside)).toBe(false);

    // Desktop: the user picks in a dialog; a non-empty folder is refused, a cancel writes nothing.
    let picked: string | null = model.path!;
    const desktop = new Services({
      store: made.store,
      workspace: made.workspace,
      launch: forkLauncher,
      taskEntry: 'unused',
      shell: 'electron',
      version: 'test',
      dialogs: {
        open: async () => null,
        saveFile: async () => picked,
        chooseFolder: async () => picked,
      },
    });
    const occupied = await refused(desktop, 'export.student', { projectId: project.id, runId: run.id });
    expect(occupied.code).toBe('EXPORT_TARGET_NOT_EMPTY');
    picked = null;
    const cancelled = await call(desktop, 'export.report', {
      projectId: project.id,
      runId: run.id,
      format: 'html',
    });
    expect(cancelled.path).toBeNull();
    picked = path.join(made.workspace, 'chosen.html');
    const chosen = await call(desktop, 'export.report', {
      projectId: project.id,
      runId: run.id,
      format: 'html',
    });
    expect(chosen.path).toBe(picked);
    expect(readFileSync(picked, 'utf8')).toBe(report.html);
    desktop.shutdown();
  });

  it('marks a run whose worker dies as failed with a readable reason, and resumes it to the end', async () => {
    let kills = 1;
    const crashing: WorkerLauncher = (entry) => {
      const worker = forkLauncher(entry);
      worker.onMessage((m) => {
        const event = (m as { type?: string; event?: { type?: string; stage?: string } }).event;
        if (kills > 0 && event?.type === 'progress' && event.stage === 'distill') {
          kills--;
          worker.kill();
        }
      });
      return worker;
    };
    const made = makeServices({ launch: crashing });
    const project = await readyProject(made);
    const started = await call(made.services, 'runs.start', { projectId: project.id });
    const crashed = await finalRun(made, project.id, started.id);
    expect(crashed.status).toBe('failed');
    expect(crashed.error?.code).toBe('WORKER_CRASHED');
    expect(crashed.error?.fix).toMatch(/Resume/);
    await call(made.services, 'runs.resume', { projectId: project.id, runId: started.id });
    const resumed = await finalRun(made, project.id, started.id);
    expect(resumed.status).toBe('done');
    expect(resumed.summary?.teacherAccuracy).toBeCloseTo(0.9825, 4);
    const report = await call(made.services, 'runs.report', { projectId: project.id, runId: started.id });
    expect(report.result.transferSet.count).toBe(TINY_SETUP.samples + TINY_SETUP.holdout);
  });

  it('cancels a run at its next safe point and resumes it', async () => {
    const made = makeServices();
    const project = await readyProject(made);
    const seen: string[] = [];
    made.services.subscribe((e) => {
      if (e.type === 'run-event' && e.event.type === 'progress') seen.push(e.event.stage);
    });
    const started = await call(made.services, 'runs.start', { projectId: project.id });
    await waitFor(() => (seen.length > 0 ? true : undefined));
    // Only a run with a time budget can stop and keep its student; this one has two stages.
    const notStoppable = await refused(made.services, 'runs.stop', {
      projectId: project.id,
      runId: started.id,
    });
    expect(notStoppable.code).toBe('RUN_NOT_STOPPABLE');
    await call(made.services, 'runs.cancel', { projectId: project.id, runId: started.id });
    const cancelled = await finalRun(made, project.id, started.id);
    expect(cancelled.status).toBe('cancelled');
    const noReport = await refused(made.services, 'runs.report', {
      projectId: project.id,
      runId: started.id,
    });
    expect(noReport.code).toBe('RUN_NOT_FINISHED');
    await call(made.services, 'runs.resume', { projectId: project.id, runId: started.id });
    expect((await finalRun(made, project.id, started.id)).status).toBe('done');
    await call(made.services, 'runs.delete', { projectId: project.id, runId: started.id });
    expect(existsSync(cancelled.spec.runDir)).toBe(false);
  });

  it('stops a round run early on request and keeps its student: the run finishes with a report', async () => {
    const made = makeServices();
    const ready = await readyProject(made);
    const project = await call(made.services, 'projects.update', {
      projectId: ready.id,
      setup: { rounds: { ...TINY_ROUNDS } },
    });
    const rounds: number[] = [];
    made.services.subscribe((e) => {
      if (e.type === 'run-event' && e.event.type === 'round') rounds.push(e.event.point.round);
    });
    const started = await call(made.services, 'runs.start', { projectId: project.id });
    expect(started.spec.rounds).toEqual(TINY_ROUNDS);
    // A 10-minute budget: only the stop can end this run within the test's time.
    await waitFor(() => (rounds.length > 0 ? true : undefined));
    const stopping = await call(made.services, 'runs.stop', { projectId: project.id, runId: started.id });
    expect(stopping.status).toBe('running');
    const run = await finalRun(made, project.id, started.id);
    expect(run.error).toBeNull();
    expect(run.status).toBe('done');
    const report = await call(made.services, 'runs.report', { projectId: project.id, runId: run.id });
    expect(report.result.rounds?.stoppedEarly).toBe(true);
    expect(report.result.rounds?.count).toBeGreaterThanOrEqual(1);
    expect(report.result.rounds?.curve.map((p) => p.round)).toEqual(
      rounds.slice(0, report.result.rounds?.count),
    );
    expect(report.html).toContain('The user stopped the run early');
    const again = await refused(made.services, 'runs.stop', { projectId: project.id, runId: run.id });
    expect(again.code).toBe('RUN_NOT_RUNNING');
  });

  it('marks runs left running by a closed app as interrupted when it starts again', async () => {
    const store = memoryStore();
    const first = makeServices({ store });
    const project = await readyProject(first);
    const now = new Date().toISOString();
    first.services.projects.put({
      ...project,
      runs: [
        {
          id: 'run-left-over',
          status: 'running',
          startedAt: now,
          updatedAt: now,
          finishedAt: null,
          error: null,
          summary: null,
          spec: {
            teacher: 'builtin:mnist-lenet5',
            student: 'lenet5-half',
            method: 'noise',
            methodSettings: {},
            samples: 10,
            shardSize: 10,
            distill: TINY_SETUP.distill,
            holdout: 0,
            seed: 1,
            workers: 1,
            runDir: path.join(first.workspace, project.id, 'runs', 'run-left-over'),
          },
        },
      ],
    });
    const second = makeServices({ store });
    cleanups.push(second.cleanup);
    const run = (await call(second.services, 'projects.get', { projectId: project.id })).runs[0];
    expect(run?.status).toBe('interrupted');
    expect(run?.error?.fix).toMatch(/Resume/);
    await fs.mkdir(run!.spec.runDir, { recursive: true });
  });
});
