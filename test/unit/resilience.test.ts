import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoffDelay } from '../../core/resilience/backoff';
import { constantTimeEqual } from '../../core/resilience/constant-time';
import { isOutage } from '../../core/resilience/outage';
import { sleep } from '../../core/resilience/sleep';
import { formatIssues, issueLines } from '../../core/resilience/zod-issues';
import { HubError } from '../../core/types/errors';

describe('backoffDelay', () => {
  const policy = { baseMs: 100, maxMs: 1_000 };

  it('doubles from the base per failure and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((failures) => backoffDelay(policy, failures))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    // A first failure counted from 0 waits the base too.
    expect(backoffDelay(policy, 0)).toBe(100);
  });

  it('spreads the step by the chosen jitter, from the injected random source', () => {
    const at = (random: number, jitter: 'full' | 'equal' | { spread: number }) =>
      backoffDelay({ ...policy, jitter, random: () => random }, 3);
    expect([at(0, 'full'), at(0.5, 'full'), at(0.999, 'full')]).toEqual([0, 200, 399]);
    expect([at(0, 'equal'), at(0.5, 'equal'), at(1, 'equal')]).toEqual([200, 300, 400]);
    expect(at(0, { spread: 0.2 })).toBeCloseTo(320);
    expect(at(0.5, { spread: 0.2 })).toBe(400);
    expect(at(1, { spread: 0.2 })).toBeCloseTo(480);
  });

  it('waits at least what Retry-After asks, never shortened by jitter, cut to its cap', () => {
    const jittery = { ...policy, jitter: 'full' as const, random: () => 0 };
    expect(backoffDelay(jittery, 1, 700)).toBe(700);
    expect(backoffDelay({ ...policy, random: () => 0.5 }, 4, 10)).toBe(800);
    expect(backoffDelay(policy, 1, 60_000)).toBe(1_000);
    expect(backoffDelay({ ...policy, maxRetryAfterMs: 5_000 }, 1, 60_000)).toBe(5_000);
  });
});

describe('constantTimeEqual', () => {
  it('compares strings and buffers, and refuses a different length', () => {
    expect(constantTimeEqual('s3cret-token', 's3cret-token')).toBe(true);
    expect(constantTimeEqual('s3cret-token', 's3cret-tokeN')).toBe(false);
    expect(constantTimeEqual('s3cret-token', 's3cret')).toBe(false);
    expect(constantTimeEqual(Buffer.from('ab', 'hex'), Buffer.from([0xab]))).toBe(true);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});

describe('zod issue formatting', () => {
  const schema = z.object({ server: z.object({ port: z.number() }), name: z.string() });
  const error = schema.safeParse({ server: { port: 'x' } }).error as z.ZodError;

  it('lists each issue by its key path', () => {
    expect(issueLines(error).map(({ path }) => path)).toEqual(['server.port', 'name']);
    expect(formatIssues(error, { hint: (key) => (key === 'name' ? 'give the hub a name' : undefined) })).toBe(
      [
        '  - server.port: Invalid input: expected number, received string',
        '  - name: Invalid input: expected string, received undefined. Fix: give the hub a name',
      ].join('\n'),
    );
  });

  it('labels an issue with the whole value', () => {
    const whole = z.string().safeParse(1).error as z.ZodError;
    expect(issueLines(whole)[0]?.path).toBe('(root)');
    expect(issueLines(whole, '(block)')[0]?.path).toBe('(block)');
  });
});

describe('isOutage', () => {
  const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

  it('recognises a database or Redis that is down, and an open breaker', () => {
    const outages = [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('the database system is shutting down', '57P03'),
      withCode('connection failure', '08006'),
      withCode('sorry, too many clients already', '53300'),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      new Error('Connection is closed.'),
      new Error('LOADING Redis is loading the dataset in memory'),
      new HubError('store.unavailable', 'The postgres database does not answer'),
      new HubError('llm.circuit_open', 'LLM circuit breaker llm is open; failing fast', { retryable: true }),
      new HubError('adapter.circuit_open', 'ERP demo: circuit open after repeated failures'),
    ];
    expect(outages.filter((error) => !isOutage(error)).map((error) => error.message)).toEqual([]);
  });

  it('looks through causes and aggregated connection attempts', () => {
    const refused = new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], '');
    expect(isOutage(refused)).toBe(true);
    expect(
      isOutage(new HubError('turn.failed', 'wrapped', { cause: new Error('Connection is closed.') })),
    ).toBe(true);
  });

  it('does not take a bad request or a plain failure for an outage', () => {
    const failures = [
      new Error('cannot parse order number'),
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('syntax error at or near "selct"', '42601'),
      new HubError('state.fenced', 'refusing an older lock holder'),
      new HubError('adapter.invalid', 'the payload is wrong'),
      'a string',
      undefined,
    ];
    expect(failures.filter((error) => isOutage(error))).toEqual([]);
  });
});

describe('sleep', () => {
  it('ends at once with the caller’s error when the caller aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const waiting = sleep(5_000, controller.signal, () => new HubError('test.aborted', 'caller gave up'));
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'test.aborted' });
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(sleep(5)).resolves.toBeUndefined();
  });
});
