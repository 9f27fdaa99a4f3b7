import { EventEmitter } from 'node:events';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  installProcessFaultPolicy,
  judgeProcessFault,
  STATE_UNKNOWN_EXIT_CODE,
} from '../../app/process-faults';
import { registry } from '../../core/metrics';

/** Issue 18: what `hub start` does with an error nobody caught. */
const adminShutdown = () =>
  Object.assign(new pg.DatabaseError('terminating connection due to administrator command', 116, 'error'), {
    code: '57P01',
  });
const socketReset = () =>
  Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
const wasmAbort = () => Object.assign(new Error('unreachable'), { name: 'RuntimeError' });

describe('process fault policy', () => {
  it('keeps serving after a dropped connection thrown uncaught, and after any unhandled rejection', () => {
    expect(judgeProcessFault('uncaughtException', adminShutdown())).toBe('keep-serving');
    expect(judgeProcessFault('uncaughtException', socketReset())).toBe('keep-serving');
    expect(judgeProcessFault('unhandledRejection', new TypeError('x is undefined'))).toBe('keep-serving');
    expect(judgeProcessFault('unhandledRejection', adminShutdown())).toBe('keep-serving');
  });

  it('exits when the state is unknown: a programming error thrown uncaught, or the embedded engine aborted', () => {
    expect(judgeProcessFault('uncaughtException', new TypeError('x is undefined'))).toBe('exit');
    expect(judgeProcessFault('uncaughtException', 'a string')).toBe('exit');
    expect(judgeProcessFault('uncaughtException', wasmAbort())).toBe('exit');
    expect(judgeProcessFault('unhandledRejection', wasmAbort())).toBe('exit');
  });

  it('logs with the cause and counts what it survives, and exits with a clear line otherwise', async () => {
    const target = new EventEmitter();
    const logged: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
    const log = {
      error: (fields: Record<string, unknown>, message: string) =>
        logged.push({ level: 'error', fields, message }),
      fatal: (fields: Record<string, unknown>, message: string) =>
        logged.push({ level: 'fatal', fields, message }),
    };
    const exits: number[] = [];
    const said: string[] = [];
    const uninstall = installProcessFaultPolicy({
      target,
      log: log as never,
      exit: (code) => exits.push(code),
      say: (line) => said.push(line),
    });

    target.emit('uncaughtException', adminShutdown());
    target.emit('unhandledRejection', new TypeError('x is undefined'));
    expect(exits).toEqual([]);
    expect(logged.map((entry) => [entry.level, entry.fields.code, entry.message])).toEqual([
      ['error', '57P01', 'uncaughtException (57P01); the process keeps serving'],
      ['error', 'TypeError', 'unhandledRejection (TypeError); the process keeps serving'],
    ]);
    expect(logged[0]?.fields.err).toBeInstanceOf(pg.DatabaseError);
    const metrics = await registry.getSingleMetricAsString('hub_errors_total');
    expect(metrics).toContain('hub_errors_total{stage="process",code="57P01"}');

    target.emit('uncaughtException', new TypeError('x is undefined'));
    expect(exits).toEqual([STATE_UNKNOWN_EXIT_CODE]);
    expect(logged.at(-1)?.level).toBe('fatal');
    expect(said[0]).toMatch(
      /^hub: fatal: uncaughtException \(TypeError\) left the process in an unknown state; exiting with 70/,
    );

    uninstall();
    expect(target.listenerCount('uncaughtException')).toBe(0);
    expect(target.listenerCount('unhandledRejection')).toBe(0);
  });
});
