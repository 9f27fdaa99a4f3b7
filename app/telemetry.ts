import type { TelemetryConfig } from '../core/config/telemetry-schema';
import { logger } from '../core/log';
import { HubError } from '../core/types';
import type { Tracing } from './tracing-sdk';

export type { Tracing, TracingSetup } from './tracing-sdk';

const DEFAULT_SERVICE_NAME = 'omnichannel-hub';

/**
 * Traces as `telemetry.traces` and the standard OTEL_* variables ask: undefined (nothing
 * registered, every span a no-op) unless the exporter is `otlp`. OTEL_SDK_DISABLED=true wins.
 */
export async function startTracing(
  config: TelemetryConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const { traces } = config;
  const exporter = traces.exporter ?? tracesExporterFromEnv(env.OTEL_TRACES_EXPORTER);
  if (exporter === 'none') return undefined;
  const url = traces.endpoint ? tracesUrl(traces.endpoint) : undefined;
  const serviceName = traces.serviceName ?? (env.OTEL_SERVICE_NAME || DEFAULT_SERVICE_NAME);
  const { registerOtlpTracing } = await import('./tracing-sdk');
  // Without a url the exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and _HEADERS itself.
  const tracing = registerOtlpTracing({
    serviceName,
    sampleRatio: traces.sampleRatio,
    ...(url ? { url } : {}),
  });
  logger.info({ exporter, endpoint: url ?? 'from OTEL_EXPORTER_OTLP_*', serviceName }, 'tracing on');
  return tracing;
}

function tracesExporterFromEnv(value: string | undefined): 'none' | 'otlp' {
  const names = (value ?? 'none')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  if (names.length === 0 || names.every((name) => name === 'none')) return 'none';
  if (names.includes('otlp')) return 'otlp';
  throw new HubError(
    'config.invalid',
    `OTEL_TRACES_EXPORTER is "${value}"; the hub exports traces by "otlp" only. Set OTEL_TRACES_EXPORTER=otlp, or none (or unset it) for no traces.`,
  );
}

/** A base URL as OTEL_EXPORTER_OTLP_ENDPOINT has it gets the traces path; a full one stays. */
function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}
