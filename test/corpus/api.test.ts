import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Project } from '../../src/shared/project.js';
import { call, makeServices } from '../main/helpers.js';
import { expectOneLineError } from './helpers.js';

/**
 * A corpus of malformed requests to the services (issue 11). Each is
 * refused with { ok: false } and an error with a code, a one-line message
 * and a fix; none of them may change the project store or the workspace.
 * No case reaches a worker process: every one is refused before a task starts.
 */

let made: ReturnType<typeof makeServices>;
let project: Project;
let before: { files: string[]; projects: unknown; project: Project };

const UNKNOWN_ID = 'abcdef-0123456789';
const LONG = 'x'.repeat(100_000);

/** Every file and folder under `dir`, relative, sorted. */
async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map((e) => `${path.relative(dir, path.join(e.parentPath, e.name))}${e.isDirectory() ? '/' : ''}`)
    .sort();
}

async function snapshot(): Promise<typeof before> {
  return {
    files: await listing(made.workspace),
    projects: await call(made.services, 'projects.list', {}),
    project: await call(made.services, 'projects.get', { projectId: project.id }),
  };
}

interface Case {
  name: string;
  code: string;
  /** The raw request, built once the existing project's id is known. */
  request: () => unknown;
}

const id = (): string => project.id;

const CASES: Case[] = [
  { name: 'not an object', code: 'REQUEST_INVALID', request: () => null },
  { name: 'a string', code: 'REQUEST_INVALID', request: () => 'projects.list' },
  {
    name: 'unknown method',
    code: 'REQUEST_INVALID',
    request: () => ({ method: 'projects.explode', params: {} }),
  },
  { name: 'method is a number', code: 'REQUEST_INVALID', request: () => ({ method: 42, params: {} }) },
  {
    name: 'prototype method name',
    code: 'REQUEST_INVALID',
    request: () => ({ method: '__proto__', params: {} }),
  },
  {
    name: 'params is a string',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.create', params: 'x' }),
  },
  {
    name: 'create: name missing',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.create', params: {} }),
  },
  {
    name: 'create: name is a number',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.create', params: { name: 42 } }),
  },
  {
    name: 'create: name blank',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.create', params: { name: ' \n\t ' } }),
  },
  {
    name: 'create: name 100,000 characters',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.create', params: { name: LONG } }),
  },
  {
    name: 'get: unknown project id',
    code: 'PROJECT_NOT_FOUND',
    request: () => ({ method: 'projects.get', params: { projectId: UNKNOWN_ID } }),
  },
  {
    name: 'get: path-traversal id',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.get', params: { projectId: '../../etc' } }),
  },
  {
    name: 'get: absolute path as id',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.get', params: { projectId: '/etc/passwd' } }),
  },
  {
    name: 'get: id 100,000 characters',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.get', params: { projectId: LONG } }),
  },
  {
    name: 'get: id is an array',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.get', params: { projectId: [id()] } }),
  },
  {
    name: 'rename: unknown project',
    code: 'PROJECT_NOT_FOUND',
    request: () => ({ method: 'projects.rename', params: { projectId: UNKNOWN_ID, name: 'New' } }),
  },
  {
    name: 'rename: name too long',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.rename', params: { projectId: id(), name: 'n'.repeat(81) } }),
  },
  {
    name: 'duplicate: unknown project',
    code: 'PROJECT_NOT_FOUND',
    request: () => ({ method: 'projects.duplicate', params: { projectId: UNKNOWN_ID } }),
  },
  {
    name: 'delete: unknown project',
    code: 'PROJECT_NOT_FOUND',
    request: () => ({ method: 'projects.delete', params: { projectId: UNKNOWN_ID } }),
  },
  {
    name: 'delete: traversal id',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.delete', params: { projectId: '..' } }),
  },
  {
    name: 'update: negative samples',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.update', params: { projectId: id(), setup: { samples: -100 } } }),
  },
  {
    name: 'update: negative learning rate',
    code: 'INPUT_INVALID',
    request: () => ({
      method: 'projects.update',
      params: { projectId: id(), setup: { distill: { ...project.distill, learningRate: -0.1 } } },
    }),
  },
  {
    name: 'update: negative seed',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.update', params: { projectId: id(), setup: { seed: -1 } } }),
  },
  {
    name: 'update: samples as a string',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'projects.update', params: { projectId: id(), setup: { samples: '100' } } }),
  },
  {
    name: 'update: unknown student',
    code: 'STUDENT_INVALID',
    request: () => ({ method: 'projects.update', params: { projectId: id(), setup: { student: 'vgg99' } } }),
  },
  {
    name: 'update: unknown method',
    code: 'METHOD_INVALID',
    request: () => ({ method: 'projects.update', params: { projectId: id(), setup: { method: 'magic' } } }),
  },
  {
    name: 'update: unknown method setting',
    code: 'SETTINGS_INVALID',
    request: () => ({
      method: 'projects.update',
      params: { projectId: id(), setup: { methodSettings: { sigmaa: 1 } } },
    }),
  },
  {
    name: 'update: unknown project',
    code: 'PROJECT_NOT_FOUND',
    request: () => ({
      method: 'projects.update',
      params: { projectId: UNKNOWN_ID, setup: { samples: 100 } },
    }),
  },
  {
    name: 'setTeacher: unknown kind',
    code: 'INPUT_INVALID',
    request: () => ({
      method: 'projects.setTeacher',
      params: { projectId: id(), teacher: { kind: 'url', path: 'https://example.com/model.json' } },
    }),
  },
  {
    name: 'setTeacher: folder without a path',
    code: 'INPUT_INVALID',
    request: () => ({
      method: 'projects.setTeacher',
      params: { projectId: id(), teacher: { kind: 'folder' } },
    }),
  },
  {
    name: 'setTeacher: onnx without a path',
    code: 'INPUT_INVALID',
    request: () => ({
      method: 'projects.setTeacher',
      params: { projectId: id(), teacher: { kind: 'onnx', path: '' } },
    }),
  },
  {
    name: 'setTeacher: onnx with a zero std',
    code: 'INPUT_INVALID',
    request: () => ({
      method: 'projects.setTeacher',
      params: { projectId: id(), teacher: { kind: 'onnx', path: '/m.onnx', std: [0] } },
    }),
  },
  {
    name: 'setTeacher: onnx with a mean that is not numbers',
    code: 'INPUT_INVALID',
    request: () => ({
      method: 'projects.setTeacher',
      params: { projectId: id(), teacher: { kind: 'onnx', path: '/m.onnx', mean: ['half'] } },
    }),
  },
  {
    name: 'setTeacher: unknown project',
    code: 'PROJECT_NOT_FOUND',
    request: () => ({
      method: 'projects.setTeacher',
      params: { projectId: UNKNOWN_ID, teacher: { kind: 'builtin', name: 'mnist-lenet5' } },
    }),
  },
  {
    name: 'runs.start: unknown project',
    code: 'PROJECT_NOT_FOUND',
    request: () => ({ method: 'runs.start', params: { projectId: UNKNOWN_ID } }),
  },
  {
    name: 'runs.report: unknown run',
    code: 'RUN_NOT_FOUND',
    request: () => ({ method: 'runs.report', params: { projectId: id(), runId: 'run-000000' } }),
  },
  {
    name: 'runs.events: traversal run id',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'runs.events', params: { projectId: id(), runId: '../../../etc' } }),
  },
  {
    name: 'runs.delete: unknown run',
    code: 'RUN_NOT_FOUND',
    request: () => ({ method: 'runs.delete', params: { projectId: id(), runId: 'run-000000' } }),
  },
  {
    name: 'export.report: caller names a destination',
    code: 'INPUT_INVALID',
    request: () => ({
      method: 'export.report',
      params: { projectId: id(), runId: 'run-000000', format: 'html', destination: '/tmp/evil.html' },
    }),
  },
  {
    name: 'export.report: unknown format',
    code: 'INPUT_INVALID',
    request: () => ({
      method: 'export.report',
      params: { projectId: id(), runId: 'run-000000', format: 'docx' },
    }),
  },
  {
    name: 'export.student: caller names a destination',
    code: 'INPUT_INVALID',
    request: () => ({
      method: 'export.student',
      params: { projectId: id(), runId: 'run-000000', destination: '/tmp/evil' },
    }),
  },
  {
    name: 'export.onnx: caller names a destination',
    code: 'INPUT_INVALID',
    request: () => ({
      method: 'export.onnx',
      params: { projectId: id(), runId: 'run-000000', destination: '/tmp/evil.onnx' },
    }),
  },
  {
    name: 'export.onnx: unknown run',
    code: 'RUN_NOT_FOUND',
    request: () => ({ method: 'export.onnx', params: { projectId: id(), runId: 'run-000000' } }),
  },
  {
    name: 'catalog.get: input 1024x1024x1',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'catalog.get', params: { inputShape: [1024, 1024, 1] } }),
  },
  {
    name: 'catalog.get: 5 channels',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'catalog.get', params: { inputShape: [32, 32, 5] } }),
  },
  {
    name: 'catalog.get: zero side',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'catalog.get', params: { inputShape: [0, 32, 1] } }),
  },
  {
    name: 'catalog.get: fractional side',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'catalog.get', params: { inputShape: [32.5, 32, 1] } }),
  },
  {
    name: 'catalog.get: two dimensions',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'catalog.get', params: { inputShape: [32, 32] } }),
  },
  {
    name: 'catalog.get: one class',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'catalog.get', params: { numClasses: 1 } }),
  },
  {
    name: 'catalog.get: negative classes',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'catalog.get', params: { numClasses: -10 } }),
  },
  {
    name: 'dialog.open: unknown kind',
    code: 'INPUT_INVALID',
    request: () => ({ method: 'dialog.open', params: { kind: 'anything' } }),
  },
];

beforeAll(async () => {
  made = makeServices();
  project = await call(made.services, 'projects.create', { name: 'Untouched' });
  before = await snapshot();
});

afterAll(() => made.cleanup());

describe('malformed requests to the services are refused', () => {
  it('has at least 20 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
  });

  it.each(CASES)('$name -> $code', async ({ request, code }) => {
    const reply = await made.services.handle(request());
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expectOneLineError(reply.error, code);
  });

  it('left the project store and the workspace as they were', async () => {
    expect(await snapshot()).toEqual(before);
  });
});
