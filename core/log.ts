import pino from 'pino';
import { defaultPiiMasker } from './privacy/mask';
import { isOwnOutage } from './resilience/outage';
import { HubError } from './types/errors';

/** What an error becomes in a log line: named fields only, never the objects an error drags along. */
export interface LoggedError {
  type: string;
  code?: string | number;
  /** The message, for infrastructure errors only: theirs come from drivers and servers, not customers. */
  reason?: string;
  /** Any other error's message, which may quote customer input. */
  message?: '[redacted]';
  stack?: string;
  retryable?: boolean;
  status?: number;
  syscall?: string;
  address?: string;
  port?: number;
  severity?: string;
  cause?: LoggedError;
  errors?: LoggedError[];
}

/** SQLSTATE classes of the server and the connection, not of the query's data: 08 connection, 28 auth, 3D no database, 40 rollback, 53 resources, 55 lock, 57 operator, 58 system, XX internal. */
const INFRA_SQLSTATE = /^(08|28|3D|40|53|55|57|58|XX)[0-9A-Z]{3}$/;
/** HubError areas whose messages the hub composes from configuration and driver errors alone. */
const INFRA_HUB_CODE = /^(store|storage|bus|health)\.|^config\.redis_unreachable$|\.(circuit_open|timeout)$/;
const INFRA_NAMES = new Set(['TimeoutError', 'AbortError', 'MaxRetriesPerRequestError']);
const MAX_REASON = 300;
const MAX_DEPTH = 4;
/** Enough to find the caller; a pooled driver's async frames otherwise fill a line with kilobytes. */
const MAX_FRAMES = 12;
/**
 * Fields that carry a query's data wherever they appear: a pg error's `detail` ("Failing row
 * contains (...)"), `where`, `hint`, `internalQuery`, a driver's `query` and `parameters`, and any
 * text. Never copied, also not from a plain object logged as `err`.
 */
const DATA_FIELDS = new Set([
  'detail',
  'where',
  'hint',
  'internalQuery',
  'internalPosition',
  'query',
  'parameters',
  'params',
  'values',
  'sql',
  'text',
  'message',
  'body',
  'command',
  'args',
]);

/**
 * Whether an error's own message is safe to log: a socket or system error, a PostgreSQL error of
 * the server or the connection, a client library's "connection closed", a timeout, or a hub error
 * of the storage and bus layers. Anything else may quote what a customer wrote.
 */
export function isInfrastructureError(error: Error): boolean {
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (error instanceof HubError) return INFRA_HUB_CODE.test(error.code) || isOwnOutage(error);
  if (typeof syscall === 'string') return true;
  if (typeof code === 'string' && INFRA_SQLSTATE.test(code)) return true;
  return INFRA_NAMES.has(error.name) || isOwnOutage(error);
}

const isErrorLike = (value: unknown): value is Error =>
  typeof value === 'object' && value !== null && typeof (value as Error).message === 'string';

/**
 * Errors are logged by an allow-list: type, code and the fields that locate a failure, the message
 * only where `isInfrastructureError` says so, the stack frames, and the causes the same way. So a
 * pg error never drags its client (connection parameters, password, backend cancel key) into the
 * log, nor a query error the row values in its `detail`, nor an ioredis error its command's arguments.
 */
export function serializeError(error: unknown, depth = 0): unknown {
  if (!isErrorLike(error))
    return typeof error === 'object' && error !== null ? primitiveFields(error) : error;
  const type =
    error.constructor?.name && error.constructor.name !== 'Object' ? error.constructor.name : error.name;
  const safe = isInfrastructureError(error);
  // Even a driver's message is masked: a server may quote a value in it.
  const reason = safe ? defaultPiiMasker.mask(oneLine(error.message)) : undefined;
  const e = error as Error & Record<string, unknown>;
  const logged: LoggedError = { type };
  if (typeof e.code === 'string' || typeof e.code === 'number') logged.code = e.code;
  if (reason !== undefined) logged.reason = reason;
  else logged.message = '[redacted]';
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .slice(0, MAX_FRAMES);
  logged.stack = [`${type}: ${reason ?? '[redacted]'}`, ...frames].join('\n');
  if (error instanceof HubError) Object.assign(logged, { retryable: error.retryable, status: error.status });
  if (typeof e.syscall === 'string') logged.syscall = e.syscall;
  if (typeof e.address === 'string') logged.address = e.address;
  if (typeof e.port === 'number') logged.port = e.port;
  if (typeof e.severity === 'string') logged.severity = e.severity;
  if (depth < MAX_DEPTH) {
    if (isErrorLike(error.cause)) logged.cause = serializeError(error.cause, depth + 1) as LoggedError;
    if (Array.isArray(e.errors)) {
      logged.errors = e.errors.slice(0, 5).map((inner) => serializeError(inner, depth + 1) as LoggedError);
    }
  }
  return logged;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON)}…` : line;
}

/** Something logged as `err` that is not an error: its own strings, numbers and booleans, nothing nested. */
function primitiveFields(value: object): Record<string, string | number | boolean> {
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, field] of Object.entries(value)) {
    if (DATA_FIELDS.has(key)) continue;
    if (['string', 'number', 'boolean'].includes(typeof field))
      fields[key] = field as string | number | boolean;
  }
  return fields;
}

/**
 * One logger for the process. Secrets and message bodies never reach the log: the redact paths
 * cover credentials and the fields that carry customer text or contact data.
 */
export const loggerOptions: pino.LoggerOptions = {
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  base: { service: 'hub' },
  serializers: { err: (error: unknown) => serializeError(error) },
  redact: {
    paths: [
      '*.apiKey',
      '*.token',
      '*.secret',
      '*.secretKey',
      '*.password',
      '*.connectionString',
      '*.authorization',
      'req.headers.authorization',
      'req.headers.cookie',
      '*.text',
      '*.message',
      '*.raw',
      '*.email',
      '*.phone',
      '*.detail',
      '*.where',
      '*.parameters',
    ],
    censor: '[redacted]',
  },
};

export const logger = pino(loggerOptions);

export type Logger = typeof logger;
