import { connect } from 'node:net';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { type LoggedError, loggerOptions, serializeError } from '../../core/log';
import { createStore } from '../../core/store/index';
import { HubError } from '../../core/types/errors';

describe('error logging', () => {
  it('keeps the type and stack frames of an error but not its text', () => {
    const error = new Error('customer ada@example.com wrote:\n13800138000');
    const logged = serializeError(error) as { type: string; stack: string };
    expect(logged.type).toBe('Error');
    expect(logged.stack).toMatch(/^Error: \[redacted\]\n\s+at /);
    expect(logged.stack).not.toContain('ada@example.com');
    expect(logged.stack).not.toContain('13800138000');
  });
});

/** Issue 18: operators see why infrastructure failed; customers' words and credentials stay out. */
function captureLog(): { logger: pino.Logger; lines: () => string } {
  let written = '';
  const logger = pino(
    { ...loggerOptions, level: 'info' },
    {
      write: (chunk: string) => {
        written += chunk;
      },
    },
  );
  return { logger, lines: () => written };
}

const refusedConnect = () =>
  new Promise<Error>((resolve) => {
    const socket = connect(1, '127.0.0.1');
    socket.on('error', resolve);
  });

describe('infrastructure errors in the log', () => {
  it('keeps the class, code and message of a refused connection', async () => {
    const logged = serializeError(await refusedConnect()) as LoggedError;
    expect(logged).toMatchObject({ type: 'Error', code: 'ECONNREFUSED', syscall: 'connect', port: 1 });
    expect(logged.reason).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(logged.stack).toMatch(/^Error: connect ECONNREFUSED 127\.0\.0\.1:1\n\s+at /);
  });

  it("keeps PostgreSQL's shutdown error and a store.unavailable wrapper, and the message in the written line", () => {
    const shutdown = Object.assign(
      new pg.DatabaseError('terminating connection due to administrator command', 116, 'error'),
      {
        code: '57P01',
        severity: 'FATAL',
      },
    );
    const wrapped = new HubError(
      'store.unavailable',
      'PostgreSQL at postgres://db:5432/hub is unreachable.',
      {
        cause: shutdown,
        retryable: true,
      },
    );
    const { logger, lines } = captureLog();
    logger.warn({ err: wrapped }, 'database down');
    const line = JSON.parse(lines()) as { err: LoggedError };
    expect(line.err).toMatchObject({
      type: 'HubError',
      code: 'store.unavailable',
      reason: 'PostgreSQL at postgres://db:5432/hub is unreachable.',
      cause: {
        type: 'DatabaseError',
        code: '57P01',
        severity: 'FATAL',
        reason: 'terminating connection due to administrator command',
      },
    });
  });

  it('leaves out the pg client an idle-connection error carries, with its password and backend cancel key', () => {
    const client = new pg.Client({ connectionString: 'postgres://hub:s3cr3t-pw@127.0.0.1:1/hub' });
    Object.assign(client, { processID: 4242, secretKey: 987654321 });
    // pg-pool does exactly this before emitting an idle client's error on the pool.
    const error = Object.assign(new Error('Connection terminated unexpectedly'), { client });
    const { logger, lines } = captureLog();
    logger.warn({ err: error }, 'idle client failed');
    const line = lines();
    expect(line).toContain('Connection terminated unexpectedly');
    for (const leak of [
      's3cr3t-pw',
      '987654321',
      'secretKey',
      'connectionString',
      'processID',
      '[object Object]',
    ]) {
      expect(line).not.toContain(leak);
    }
    expect(line.length).toBeLessThan(2_000);
  });

  it("still hides customer text: a query error's row values, an application error's message, a plain object's nesting", () => {
    const duplicate = Object.assign(
      new pg.DatabaseError('duplicate key value violates unique constraint', 200, 'error'),
      {
        code: '23505',
        detail: 'Key (email)=(ada@example.com) already exists.',
      },
    );
    const application = new Error('customer wrote: my card 4111 1111 1111 1111', { cause: duplicate });
    const { logger, lines } = captureLog();
    logger.error({ err: application }, 'turn failed');
    logger.error(
      { err: { code: 'internal', name: 'Error', nested: { text: 'hello from ada' } } },
      'request failed',
    );
    const written = lines();
    for (const leak of ['ada@example.com', '4111', 'hello from ada', 'duplicate key']) {
      expect(written).not.toContain(leak);
    }
    const first = JSON.parse(written.split('\n')[0] ?? '{}') as { err: LoggedError };
    expect(first.err).toMatchObject({
      type: 'Error',
      message: '[redacted]',
      cause: { type: 'DatabaseError', code: '23505' },
    });
  });

  it('redacts a secretKey or connectionString logged as a field', () => {
    const { logger, lines } = captureLog();
    logger.info({ pg: { secretKey: 123456789, connectionString: 'postgres://u:pw@h/db' } }, 'connected');
    expect(lines()).not.toContain('123456789');
    expect(lines()).not.toContain('u:pw');
  });

  it("leaves a message's card number out of the line when storing it fails (a constraint's detail, where, parameters)", async () => {
    const store = await createStore(hubConfigSchema.parse({ database: { dataDir: 'memory://' } }));
    try {
      // A check that refuses the row: PostgreSQL answers with the whole row in `detail`.
      await sql`alter table messages add constraint refuses_messages check (kind <> 'message')`.execute(
        store.db,
      );
      const text = 'my card 4111 1111 1111 1111, CVV 987, call 13800138000';
      const failure = await store
        .recordInbound({
          id: 'log:1',
          kind: 'message',
          ref: { channel: 'rest', tenant: 'default', conversation: 'c1' },
          sender: { id: 'ada' },
          receivedAt: '2026-12-06T10:00:00Z',
          text,
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      const pgError = failure as Record<string, unknown>;
      expect(pgError).toMatchObject({ code: '23514' });
      // The row is sealed at rest, so the server's own detail holds ciphertext, not the card number.
      expect(String(pgError.detail)).toContain('Failing row');
      expect(String(pgError.detail)).not.toContain('4111');
      // A failure can still carry the text (a driver or a column in clear would); the log line must not.
      Object.assign(pgError, {
        detail: `Failing row contains (log:1, ${text})`,
        where: `while inserting "${text}"`,
        parameters: [text],
        query: `insert ... '${text}'`,
      });
      expect(JSON.stringify(pgError.detail)).toContain('4111');
      const { logger, lines } = captureLog();
      logger.error({ err: failure }, 'message not stored');
      logger.error(
        { err: new HubError('store.unavailable', 'store failed', { cause: failure }) },
        'turn failed',
      );
      logger.error({ err: { ...pgError } }, 'as a plain object');
      const written = lines();
      for (const leak of ['4111', '13800138000', '987', 'Failing row', 'insert ...'])
        expect(written).not.toContain(leak);
      expect(JSON.parse(written.split('\n')[0] ?? '{}').err).toMatchObject({
        code: '23514',
        message: '[redacted]',
      });
    } finally {
      await store.close();
    }
  });
});
