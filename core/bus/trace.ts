import { inSpan, SpanKind, traceContextOf } from '../telemetry/trace';
import type { EventHandler } from '../types';

/**
 * The handler inside a `bus.handle` span whose parent is the ingress that published the event (its
 * `trace` field), so a turn run by a worker process joins the trace of the request that brought it.
 * Each delivery is one span; a redelivery is another in the same trace.
 */
export function tracedHandler(handler: EventHandler, system: 'memory' | 'bullmq'): EventHandler {
  return (event, delivery) =>
    inSpan(
      'bus.handle',
      {
        kind: SpanKind.CONSUMER,
        parent: traceContextOf(event),
        attributes: {
          'messaging.system': system,
          'messaging.operation.type': 'process',
          'messaging.message.id': event.id,
          'hub.channel': event.ref.channel,
          'hub.event.kind': event.kind,
          'hub.bus.attempt': delivery.attempt,
        },
      },
      () => handler(event, delivery),
    );
}
