import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { TelemetryConfig } from '../core/config/telemetry-schema';
import { logger } from '../core/log';
import { HubError } from '../core/types';
import { hubVersion } from '../core/version';

export interface Tracing {
  /** Export what is buffered, then stop: the last thing a stopping process does. */
  shutdown(): Promise<void>;
}

export interface TracingSetup {
  spanProcessors: SpanProcessor[];
  serviceName: string;
  /** Share of new traces kept (default 1); a span with a parent follows the parent's decision. */
  sampleRatio?: number;
}

const DEFAULT_SERVICE_NAME = 'omnichannel-hub';

/**
 * Register the OpenTelemetry SDK for this process: the tracer the hub's spans go to, the
 * AsyncLocalStorage context that parents them, and the W3C propagator that writes an event's
 * `trace` field. One per process; `shutdown()` unregisters it again.
 */
export function registerTracing(setup: TracingSetup): Tracing {
  const ratio = setup.sampleRatio ?? 1;
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ 'service.name': setup.serviceName, 'service.version': hubVersion }),
    ),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }),
    spanProcessors: setup.spanProcessors,
  });
  provider.register();
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/**
 * Traces as `telemetry.traces` and the standard OTEL_* variables ask: undefined (nothing
 * registered, every span a no-op) unless the exporter is `otlp`. OTEL_SDK_DISABLED=true wins.
 */
export function startTracing(
  config: TelemetryConfig,
  env: NodeJS.ProcessEnv = process.env,
): Tracing | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const { traces } = config;
  const exporter = traces.exporter ?? tracesExporterFromEnv(env.OTEL_TRACES_EXPORTER);
  if (exporter === 'none') return undefined;
  const url = traces.endpoint ? tracesUrl(traces.endpoint) : undefined;
  const serviceName = traces.serviceName ?? (env.OTEL_SERVICE_NAME || DEFAULT_SERVICE_NAME);
  const tracing = registerTracing({
    serviceName,
    sampleRatio: traces.sampleRatio,
    // Without a url the exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and _HEADERS itself.
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(url ? { url } : {}))],
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
