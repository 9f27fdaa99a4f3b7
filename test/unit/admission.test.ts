import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../core/bus/memory';
import { Admission, type AdmissionConfig, INGRESS_BUSY } from '../../core/channels/admission';
import { channelIngress, countedPublish } from '../../core/channels/ingress';
import { hubConfigSchema } from '../../core/config/schema';
import { logger } from '../../core/log';
import { admissionOutcomes } from '../../core/metrics';
import { MemoryKeyValueStore } from '../../core/storage';
import type { InboundEvent, OutboundMessage } from '../../core/types';
import { HubError } from '../../core/types/errors';
import { counterValue } from '../support/channel-context';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function admissionConfig(input: Record<string, unknown>): AdmissionConfig {
  return hubConfigSchema.parse({ bus: { admission: input } }).bus.admission;
}

/** A bus nobody consumes (the workers are behind), and what the customers were sent. */
function harness(input: Record<string, unknown>) {
  const bus = new MemoryBus({ ...hubConfigSchema.parse({}).bus, dedupeWindowMs: 60_000 });
  const sent: OutboundMessage[] = [];
  const admission = new Admission({
    bus,
    config: admissionConfig(input),
    storage: new MemoryKeyValueStore(),
    notify: async (message) => void sent.push(message),
    logger,
  });
  const accept = channelIngress(countedPublish(bus));
  return {
    bus,
    sent,
    admission,
    rest: admission.wrap(accept, { id: 'api', type: 'rest' }),
    telegram: admission.wrap(accept, { id: 'tg', type: 'telegram' }),
  };
}

let n = 0;
function message(conversation: string, text = 'Where is my parcel?', tenant = 'acme'): InboundEvent {
  n += 1;
  return {
    id: `e-${n}`,
    kind: 'message',
    ref: { channel: 'tg', tenant, conversation },
    sender: { id: conversation },
    receivedAt: new Date().toISOString(),
    text,
  };
}

const texts = (sent: OutboundMessage[]) =>
  sent.filter((m) => m.content.type === 'text').map((m) => [m.ref.conversation, m.locale]);

describe('admission control per tenant', () => {
  it('refuses the REST message past maxBacklog with 503 ingress.busy and Retry-After, and enqueues nothing', async () => {
    const { bus, rest, admission } = harness({ maxBacklog: 3, retryAfterSeconds: 7 });
    for (let i = 0; i < 3; i++) expect(await rest(message(`c${i}`))).toEqual({ accepted: true });
    const refusedBefore = await counterValue(admissionOutcomes, { channel: 'api', outcome: 'refused' });
    const error = await rest(message('c3')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({ code: INGRESS_BUSY, status: 503, retryAfterSeconds: 7, retryable: true });
    expect(await bus.pending()).toBe(3);
    expect(await counterValue(admissionOutcomes, { channel: 'api', outcome: 'refused' })).toBe(
      refusedBefore + 1,
    );
    // Another tenant has its own backlog.
    expect(await rest(message('other', 'hi', 'globex'))).toEqual({ accepted: true });
    admission.close();
  });

  it('refuses past maxQueueAgeMs too, and takes messages again once the backlog is handled', async () => {
    const { bus, rest, admission } = harness({ maxQueueAgeMs: 100 });
    await rest(message('a'));
    await sleep(120);
    const refused = message('b');
    await expect(rest(refused)).rejects.toMatchObject({ code: INGRESS_BUSY });
    await bus.consume(async () => {});
    await sleep(20);
    // Not accepted means not seen either: the client's retry of the same message is taken, not dropped as a duplicate.
    expect(await rest(refused)).toEqual({ accepted: true });
    admission.close();
  });

  it('per-tenant limits replace the defaults', async () => {
    const { rest, admission } = harness({ maxBacklog: 100, tenants: { tiny: { maxBacklog: 1 } } });
    await rest(message('a', 'hi', 'tiny'));
    await expect(rest(message('b', 'hi', 'tiny'))).rejects.toMatchObject({ code: INGRESS_BUSY });
    expect(await rest(message('c', 'hi', 'acme'))).toEqual({ accepted: true });
    admission.close();
  });

  it('accepts a chat message past the limit and tells its conversation once per busy period, in its language', async () => {
    const { bus, telegram, sent, admission } = harness({ maxBacklog: 1, typingAfterMs: 0 });
    await telegram(message('alice'));
    expect(sent).toEqual([]);
    for (const text of ['Hello?', 'Anyone there?', 'Please answer']) {
      expect(await telegram(message('alice', text))).toEqual({ accepted: true });
    }
    await telegram(message('bob', '我的订单到哪里了？'));
    await sleep(20);
    expect(await bus.pending()).toBe(5);
    expect(texts(sent)).toEqual([
      ['alice', 'en'],
      ['bob', 'zh'],
    ]);
    const [toAlice, toBob] = sent;
    expect(toAlice?.content).toMatchObject({
      text: expect.stringMatching(/busier than usual.*in the queue/),
    });
    expect(toBob?.content).toMatchObject({ text: expect.stringContaining('排队') });
    expect(toAlice?.source).toBe('system');
    admission.close();
  });

  it('sends a typing indicator to a push-channel message that waits, renewed until it is handled', async () => {
    const { bus, telegram, rest, sent, admission } = harness({ typingAfterMs: 50, typingRefreshMs: 60 });
    await telegram(message('alice'));
    // Nobody waits yet: the first message of an idle queue gets no indicator.
    await sleep(20);
    expect(sent).toEqual([]);
    await sleep(60);
    await telegram(message('bob'));
    await rest(message('carol'));
    await sleep(150);
    const typing = sent.filter((m) => m.content.type === 'typing');
    expect(typing.length).toBeGreaterThanOrEqual(2);
    // Only the push channel's customer, never the REST caller, and never a text.
    expect(new Set(typing.map((m) => m.ref.conversation))).toEqual(new Set(['bob']));
    expect(texts(sent)).toEqual([]);
    await bus.consume(async () => {});
    await sleep(150);
    const after = sent.length;
    await sleep(150);
    expect(sent.length).toBe(after);
    admission.close();
  });

  it('costs nothing when no limit and no typing indicator is configured', async () => {
    const bus = new MemoryBus({ ...hubConfigSchema.parse({}).bus, dedupeWindowMs: 60_000 });
    let reads = 0;
    const counting = Object.assign(Object.create(bus) as MemoryBus, {
      tenantBacklog: async (tenant: string) => {
        reads += 1;
        return bus.tenantBacklog(tenant);
      },
    });
    const admission = new Admission({
      bus: counting,
      config: admissionConfig({ typingAfterMs: 0 }),
      storage: new MemoryKeyValueStore(),
      notify: async () => {},
      logger,
    });
    const accept = admission.wrap(channelIngress(countedPublish(bus)), { id: 'tg', type: 'telegram' });
    await accept(message('a'));
    expect(reads).toBe(0);
  });
});
