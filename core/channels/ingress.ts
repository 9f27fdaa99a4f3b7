import { duplicatesDropped, errors, messagesIn, timed } from '../metrics';
import { inSpan, SpanKind, withTraceContext } from '../telemetry/trace';
import type { EventBus, InboundEvent, PublishResult } from '../types';
import { HubError } from '../types/errors';
import { cleanDeep } from './clean-text';
import { assertEventShape } from './event-shape';

export type Publish = (event: InboundEvent) => Promise<PublishResult>;

/** The one error a connector sees when the bus cannot take an event now: answer 503 so the platform resends. */
export const INGRESS_UNAVAILABLE = 'ingress.unavailable';

/**
 * Publish on the bus, timed as the ingress stage and counted: messages in by kind, duplicates
 * dropped. Traced as `ingress <channel>`, the root of the message's trace (or a child of the
 * caller's span): its context rides in the event's `trace` field to the worker that handles it.
 */
export function countedPublish(bus: Pick<EventBus, 'publish'>): Publish {
  return (event) =>
    inSpan(
      `ingress ${event.ref.channel}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.operation.type': 'send',
          'messaging.message.id': event.id,
          'hub.channel': event.ref.channel,
          'hub.event.kind': event.kind,
        },
      },
      async (span) => {
        const result = await timed('ingress', () => bus.publish(withTraceContext(event)));
        span.setAttribute('hub.duplicate', !result.accepted);
        if (result.accepted) messagesIn.inc({ channel: event.ref.channel, kind: event.kind });
        else duplicatesDropped.inc({ channel: event.ref.channel });
        return result;
      },
    );
}

/**
 * ChannelContext.accept over a publish (bolt's processEvent), the one place every channel's event
 * passes: its strings cleaned (core/channels/clean-text.ts: NUL, control characters and lone
 * surrogates out, raw payload included), its shape checked (a 400 `ingress.invalid_event`, never
 * published, when a field the worker reads has the wrong type), then published. A failure of the
 * publish becomes one coded, retryable 503, counted, whatever the bus threw; the connector does
 * not acknowledge the update.
 */
export function channelIngress(publish: Publish): Publish {
  return async (event) => {
    const clean = cleanDeep(event) as InboundEvent;
    assertEventShape(clean);
    try {
      return await publish(clean);
    } catch (cause) {
      errors.inc({ stage: 'ingress', code: INGRESS_UNAVAILABLE });
      throw new HubError(INGRESS_UNAVAILABLE, 'Could not accept the event now; send it again', {
        cause,
        retryable: true,
        status: 503,
      });
    }
  };
}
