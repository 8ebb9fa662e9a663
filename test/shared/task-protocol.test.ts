import { describe, expect, it } from 'vitest';
import { API, parseReply } from '../../src/shared/api.js';
import { ToTaskWorkerSchema } from '../../src/shared/task-protocol.js';

describe('the stop message', () => {
  it('is a message the task worker accepts, next to cancel', () => {
    expect(ToTaskWorkerSchema.parse({ type: 'stop' })).toEqual({ type: 'stop' });
    expect(ToTaskWorkerSchema.parse({ type: 'cancel' })).toEqual({ type: 'cancel' });
  });

  it('is told apart from anything else a worker could be sent', () => {
    for (const bad of [{ type: 'Stop' }, { type: 'stop-and-keep' }, { stop: true }, 'stop', null]) {
      expect(ToTaskWorkerSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });

  it('is asked for with runs.stop, whose params are checked like every request', () => {
    const params = API['runs.stop'].params;
    expect(params.safeParse({ projectId: 'p-abcdef', runId: 'r-123456' }).success).toBe(true);
    expect(params.safeParse({ projectId: 'p-abcdef' }).success).toBe(false);
    expect(params.safeParse({ projectId: 'p-abcdef', runId: '../../etc' }).success).toBe(false);
  });

  it('is answered with the run record, validated on arrival', () => {
    const garbled = parseReply('runs.stop', { ok: true, result: { id: 'r-123456', status: 'stopped' } });
    expect(garbled.ok).toBe(false);
    if (!garbled.ok) expect(garbled.error.code).toBe('REPLY_INVALID');
    const refused = parseReply('runs.stop', {
      ok: false,
      error: {
        code: 'RUN_NOT_STOPPABLE',
        message: 'Only a run with a time budget can stop early',
        fix: 'Cancel it',
      },
    });
    expect(refused).toMatchObject({ ok: false, error: { code: 'RUN_NOT_STOPPABLE' } });
  });
});
