import pino from 'pino';

/**
 * One logger for the process. Secrets and message bodies never reach the log: the redact paths
 * cover credentials and the fields that carry customer text or contact data.
 */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  base: { service: 'hub' },
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
