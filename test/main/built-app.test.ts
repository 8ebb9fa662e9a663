import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAMP_FILE, sourceStamp } from '../../bin/source-stamp.js';
import { call, makeServices, TINY_ROUNDS, TINY_SETUP } from './helpers.js';

/**
 * The processes as the desktop app runs them: electron-vite's bundles of the task worker, the
 * synthesis worker and the command line (out/main), not the TypeScript sources the other tests
 * run through tsx. A bundle can break where the sources work (a name the bundler declares
 * itself, a file found relative to a module that moved into a chunk).
 */
const repo = path.resolve(import.meta.dirname, '../..');
let out: string;

beforeAll(() => {
  // Inside the repository, as out/ is: the bundles import their dependencies from node_modules.
  mkdirSync(path.join(repo, 'test-results'), { recursive: true });
  out = mkdtempSync(path.join(repo, 'test-results', 'built-'));
  execFileSync('npx', ['electron-vite', 'build', '--outDir', out, '--logLevel', 'error'], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the built app processes', () => {
  it('record the fingerprint of the sources they were built from', () => {
    expect(readFileSync(path.join(out, 'main', STAMP_FILE), 'utf8').trim()).toBe(sourceStamp(repo));
  });

  it('run a round job to its end: the built task worker with the built synthesis workers', async () => {
    // What src/main/index.ts hands its workers.
    const env = {
      DISTILL_STUDIO_ROOT: repo,
      DISTILL_SHARD_WORKER: path.join(out, 'main', 'shard-worker.js'),
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const made = makeServices({ deps: { taskEntry: path.join(out, 'main', 'task-worker.js') } });
    try {
      const p = await call(made.services, 'projects.create', { name: 'Built' });
      await call(made.services, 'projects.setTeacher', {
        projectId: p.id,
        teacher: { kind: 'builtin', name: 'mnist-lenet5' },
      });
      await call(made.services, 'projects.update', {
        projectId: p.id,
        setup: { ...TINY_SETUP, rounds: { ...TINY_ROUNDS, maxRounds: 2 } },
      });
      const started = await call(made.services, 'runs.start', { projectId: p.id });
      expect(started.spec.workers).toBeGreaterThanOrEqual(1);
      await made.services.runs.idle();
      const run = (await call(made.services, 'projects.get', { projectId: p.id })).runs.find(
        (r) => r.id === started.id,
      )!;
      expect(run.error).toBeNull();
      expect(run.status).toBe('done');
      const report = await call(made.services, 'runs.report', { projectId: p.id, runId: run.id });
      expect(report.result.rounds?.curve.map((point) => point.images)).toEqual([20, 40]);
      expect(report.result.evaluation?.teacher.accuracy).toBeCloseTo(0.9825, 4);
    } finally {
      made.cleanup();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }, 180_000);

  it('give bin/distill-studio.js the built command line while the sources match it, else the sources', () => {
    // A copy of bin/ in a root of its own, with a stand-in for each of the two entries.
    const root = mkdtempSync(path.join(tmpdir(), 'ds-bin-'));
    try {
      cpSync(path.join(repo, 'bin'), path.join(root, 'bin'), { recursive: true });
      symlinkSync(path.join(repo, 'node_modules'), path.join(root, 'node_modules'));
      writeFileSync(path.join(root, 'package.json'), '{ "type": "module" }\n');
      mkdirSync(path.join(root, 'src', 'cli'), { recursive: true });
      writeFileSync(
        path.join(root, 'src', 'cli', 'main.ts'),
        "export async function main(args: string[]): Promise<number> { console.log('sources', args.join(' ')); return 0; }\n",
      );
      mkdirSync(path.join(root, 'out', 'main'), { recursive: true });
      writeFileSync(
        path.join(root, 'out', 'main', 'cli.js'),
        "export async function main(args) { console.log('built', args.join(' '), process.env.DISTILL_STUDIO_ROOT); return 3; }\n",
      );
      const inherited = { ...process.env };
      delete inherited.DISTILL_STUDIO_ROOT;
      const cli = (extraEnv: Record<string, string> = {}) =>
        spawnSync(process.execPath, [path.join(root, 'bin', 'distill-studio.js'), 'a', 'b'], {
          encoding: 'utf8',
          env: { ...inherited, ...extraEnv },
        });
      writeFileSync(path.join(root, 'out', 'main', STAMP_FILE), `${sourceStamp(root)}\n`);
      const built = cli();
      expect(built.stdout.trim()).toBe(`built a b ${root}`); // and where the examples are
      expect(built.status).toBe(3);
      expect(cli({ DISTILL_STUDIO_FROM_SOURCE: '1' }).stdout.trim()).toBe('sources a b');
      // An edited source: the bundle no longer matches it.
      writeFileSync(path.join(root, 'src', 'cli', 'extra.ts'), 'export {};\n');
      const edited = cli();
      expect(edited.stdout.trim()).toBe('sources a b');
      expect(edited.status).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
