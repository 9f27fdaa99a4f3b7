import type { EventEmitter } from 'node:events';
import { logger as defaultLogger, type Logger } from '../core/log';
import { errors } from '../core/metrics';
import { connectionErrorCode } from '../core/resilience/connection-errors';
import { isOutage } from '../core/resilience/outage';

/**
 * What `hub start` does with an error nobody caught.
 *
 * Keep serving (log with its cause, count `hub_errors_total{stage="process"}`):
 * - every unhandled promise rejection: a piece of async work failed with nobody awaiting it; the
 *   stack unwound normally, and the bus redelivers a turn that did not finish;
 * - an uncaught exception that is a connection failure (`isOutage`: a socket reset, PostgreSQL's
 *   57P01 on a restart, Redis gone): the broken connection is dropped by its pool or reconnects,
 *   and nothing else was touched.
 *
 * Exit with code 70 (the supervisor restarts the process: compose `restart: unless-stopped`,
 * Kubernetes `restartPolicy: Always`), state unknown:
 * - any other uncaught exception: a handler threw half-way through a callback, so what it was
 *   changing is in an unknown state;
 * - a WebAssembly RuntimeError, rejected or thrown: the embedded database's engine aborted and
 *   answers nothing more in this process.
 * Accepted messages wait in the bus and are answered by the restarted (or another) process.
 */
export type FaultVerdict = 'keep-serving' | 'exit';

export const STATE_UNKNOWN_EXIT_CODE = 70;

export function judgeProcessFault(
  kind: 'uncaughtException' | 'unhandledRejection',
  error: unknown,
): FaultVerdict {
  if (error instanceof Error && error.name === 'RuntimeError') return 'exit';
  if (kind === 'unhandledRejection') return 'keep-serving';
  return isOutage(error) ? 'keep-serving' : 'exit';
}

export interface ProcessFaultDeps {
  target?: Pick<EventEmitter, 'on' | 'off'>;
  log?: Pick<Logger, 'error' | 'fatal'>;
  exit?: (code: number) => void;
  /** The one line an operator reads in `docker logs` or `kubectl logs --previous`. */
  say?: (line: string) => void;
}

/** Install the policy above on the process; returns a function that removes it. */
export function installProcessFaultPolicy({
  target = process,
  log = defaultLogger,
  exit = (code) => process.exit(code),
  say = (line) => console.error(line),
}: ProcessFaultDeps = {}): () => void {
  const handle = (kind: 'uncaughtException' | 'unhandledRejection') => (error: unknown) => {
    const code = connectionErrorCode(error);
    errors.inc({ stage: 'process', code });
    if (judgeProcessFault(kind, error) === 'keep-serving') {
      log.error({ err: error, kind, code }, `${kind} (${code}); the process keeps serving`);
      return;
    }
    log.fatal({ err: error, kind, code }, `${kind} (${code}); process state unknown, exiting`);
    say(
      `hub: fatal: ${kind} (${code}) left the process in an unknown state; exiting with ${STATE_UNKNOWN_EXIT_CODE} ` +
        'so the supervisor restarts it (accepted messages wait in the bus). The log line before this one has the cause.',
    );
    exit(STATE_UNKNOWN_EXIT_CODE);
  };
  const onException = handle('uncaughtException');
  const onRejection = handle('unhandledRejection');
  target.on('uncaughtException', onException);
  target.on('unhandledRejection', onRejection);
  return () => {
    target.off('uncaughtException', onException);
    target.off('unhandledRejection', onRejection);
  };
}
