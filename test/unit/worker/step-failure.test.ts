// Which failures of a step are for good and which are retried (act-step.ts).
import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../src/kube/errors.ts';
import { failureIsPermanent } from '../../../src/worker/act-step.ts';

describe('failureIsPermanent', () => {
  it('is for good: a request the apiserver will never accept (400, 422), a bad command', () => {
    expect(failureIsPermanent(new PermanentError('x', { status: 422 }))).toBe(true);
    expect(failureIsPermanent(new PermanentError('x', { status: 400 }))).toBe(true);
    expect(failureIsPermanent(Object.assign(new Error('no provider'), { code: 'PERMANENT' }))).toBe(
      true,
    );
  });

  it('is retried: 401 and 403 (a restarted apiserver before its RBAC cache syncs), 5xx, the network', () => {
    expect(failureIsPermanent(new PermanentError('forbidden', { status: 403 }))).toBe(false);
    expect(failureIsPermanent(new PermanentError('unauthorized', { status: 401 }))).toBe(false);
    expect(failureIsPermanent(new TransientError('x', { status: 503 }))).toBe(false);
    expect(failureIsPermanent(new Error('socket hang up'))).toBe(false);
  });
});
