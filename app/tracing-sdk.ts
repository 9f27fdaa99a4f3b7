/**
 * The OpenTelemetry SDK part of tracing (app/telemetry.ts decides whether it is wanted): loaded only
 * when traces are exported, so a hub without tracing never loads the SDK and its OTLP exporter
 * (with the metrics SDK it pulls in, about 150 modules).
 */
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

/** The SDK with a batching OTLP/HTTP exporter; without a url it reads OTEL_EXPORTER_OTLP_* itself. */
export function registerOtlpTracing(setup: {
  serviceName: string;
  sampleRatio?: number;
  url?: string;
}): Tracing {
  return registerTracing({
    serviceName: setup.serviceName,
    ...(setup.sampleRatio === undefined ? {} : { sampleRatio: setup.sampleRatio }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(setup.url ? { url: setup.url } : {}))],
  });
}
