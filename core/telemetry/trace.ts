import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { HubError } from '../types/errors';
import type { InboundEvent, TraceCarrier } from '../types/events';
import { hubVersion } from '../version';

export { type Span, SpanKind };

/**
 * The hub's tracer. Core code speaks only the OpenTelemetry API: without an SDK (the default) every
 * call is a no-op; app/telemetry.ts registers one when the config turns traces on. Asked for per
 * span, not kept: a tracer taken once stays bound to the first SDK, even after it is shut down.
 */
const tracer = () => trace.getTracer('omnichannel-hub', hubVersion);

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; the active context when absent. */
  parent?: Context;
}

/**
 * Run `work` in a new active span that ends when it settles. A failure marks the span with the
 * error's code only: messages can quote what a customer typed, and traces leave the hub.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes },
    parent,
    async (span) => {
      try {
        return await work(span);
      } catch (error) {
        const code = error instanceof HubError ? error.code : ((error as Error)?.name ?? 'Error');
        span.setAttribute('error.type', code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: code });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** Note a point in the active span (a dialog stage reached), if there is one. */
export function spanEvent(name: string, attributes?: Attributes): void {
  trace.getActiveSpan()?.addEvent(name, attributes);
}

/** The event with the active trace context in its `trace` field; the event itself when tracing is off. */
export function withTraceContext(event: InboundEvent): InboundEvent {
  const carrier: Partial<TraceCarrier> = {};
  propagation.inject(context.active(), carrier);
  if (!carrier.traceparent) return event;
  return {
    ...event,
    trace: {
      traceparent: carrier.traceparent,
      ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}),
    },
  };
}

/**
 * The context an event's trace field names, to parent the spans of its handling; an empty one (a
 * new trace) when it has none. Never the caller's context: an in-memory bus may run a handler
 * inside another event's ingress, and that must not become its parent.
 */
export function traceContextOf(event: InboundEvent): Context {
  return event.trace ? propagation.extract(ROOT_CONTEXT, { ...event.trace }) : ROOT_CONTEXT;
}
