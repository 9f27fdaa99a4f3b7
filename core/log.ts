import pino from 'pino';

/**
 * An error's message can quote customer input, and its stack starts with that message: keep the
 * type and the frames, drop the text (the `*.message` redact path covers the message field itself).
 */
export function serializeError(error: unknown) {
  const serialized = pino.stdSerializers.err(error as Error);
  if (!serialized?.stack) return serialized;
  const frames = serialized.stack.split('\n').filter((line) => /^\s+at /.test(line));
  return { ...serialized, stack: [`${serialized.type}: [redacted]`, ...frames].join('\n') };
}

/**
 * One logger for the process. Secrets and message bodies never reach the log: the redact paths
 * cover credentials and the fields that carry customer text or contact data.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  base: { service: 'hub' },
  serializers: { err: serializeError },
  redact: {
    paths: [
      '*.apiKey',
      '*.token',
      '*.secret',
      '*.password',
      '*.authorization',
      'req.headers.authorization',
      'req.headers.cookie',
      '*.text',
      '*.message',
      '*.raw',
      '*.email',
      '*.phone',
    ],
    censor: '[redacted]',
  },
});

export type Logger = typeof logger;
