import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AnyHelpdeskDescriptor,
  createTicketing,
  type HelpdeskRegistry,
  helpdesks,
} from '../../adapters/ticketing';
import { type TicketingConfig, ticketingSectionSchema } from '../../core/config/adapters-schema';
import type { TicketDatabase } from '../../core/tickets/schema';
import { AdapterError, type TicketingAdapter } from '../../core/types';
import { callCtx as ctx } from '../support/adapter-calls';
import { draft } from '../support/ticket-draft';

export interface HelpdeskUnderTest {
  /** The helpdesk's block, `ticketing.<name>`, as a hub.yaml holds it. */
  options: Record<string, unknown>;
  /** The hub's database, for a helpdesk that keeps its tickets there. */
  db?: Kysely<TicketDatabase>;
  teardown(): Promise<void>;
}

/** The `ticketing:` section of a hub.yaml that picks `name` with this block. */
export function ticketingSection(name: string, options: Record<string, unknown>, timeoutMs = 5_000) {
  return ticketingSectionSchema.parse({ driver: name, timeoutMs, [name]: options }) as TicketingConfig;
}

/** The adapter a hub builds from that section, through the registry as at start-up. */
export function helpdeskFromConfig(
  name: string,
  helpdesk: Omit<HelpdeskUnderTest, 'teardown'>,
  timeoutMs = 5_000,
  registry: HelpdeskRegistry = helpdesks,
): TicketingAdapter {
  // Only a helpdesk that keeps its tickets in the hub's database reads `db`.
  const db = helpdesk.db ?? (undefined as unknown as Kysely<TicketDatabase>);
  return createTicketing(ticketingSection(name, helpdesk.options, timeoutMs), { db }, registry);
}

/**
 * One contract every helpdesk passes, built from its descriptor as a hub builds it: demo (hub
 * database), Zendesk and the others (emulators), Request Tracker 5 (real), and any helpdesk a
 * deployment or a test registers (`helpdesks.with(descriptor)`).
 */
export function ticketingContract(
  descriptor: AnyHelpdeskDescriptor,
  setup: () => Promise<HelpdeskUnderTest>,
  registry: HelpdeskRegistry = helpdesks,
) {
  const { name } = descriptor;
  describe(`ticketing contract: ${name}`, () => {
    let adapter: TicketingAdapter;
    let teardown: () => Promise<void>;
    beforeAll(async () => {
      const helpdesk = await setup();
      teardown = helpdesk.teardown;
      adapter = helpdeskFromConfig(name, helpdesk, 5_000, registry);
    }, 120_000);
    afterAll(async () => teardown?.());

    it('is registered under its name, and its adapter says that name', () => {
      expect(registry.get(name)).toBe(descriptor);
      // The outbox and the handoff receiver key tickets by the adapter's name.
      expect(adapter.name).toBe(name);
    });

    it('creates a ticket once per idempotency key', async () => {
      const key = `HUB-${name.toUpperCase().slice(0, 2)}${Date.now().toString(36).toUpperCase()}`;
      const first = await adapter.createTicket(draft(), ctx(key));
      const second = await adapter.createTicket(draft(), ctx(key));
      expect(second.externalId).toBe(first.externalId);
      const other = await adapter.createTicket(draft({ subject: 'Another question' }), ctx(`${key}X`));
      expect(other.externalId).not.toBe(first.externalId);
    });

    it('reads back the subject, the description with transcript and entities, and comments', async () => {
      const ref = await adapter.createTicket(
        draft(),
        ctx(`HUB-READ${Date.now().toString(36).toUpperCase()}`),
      );
      await adapter.addComment(
        ref.externalId,
        { author: 'bot', text: 'Customer sent a photo.', public: false },
        ctx('c1'),
      );
      await adapter.addComment(
        ref.externalId,
        { author: 'agent', text: 'We are on it.', public: true },
        ctx('c2'),
      );
      const ticket = await adapter.getTicket(ref.externalId, ctx('read'));
      expect(ticket?.subject).toContain('Where is my parcel?');
      const texts = ticket?.comments.map((c) => c.text) ?? [];
      expect(texts[0]).toContain('customer: Where is my parcel XX12345678?');
      expect(texts[0]).toContain('Entity order_id: XX12345678');
      expect(texts.slice(1)).toEqual(['Customer sent a photo.', 'We are on it.']);
      expect(ticket?.comments.slice(1).map((c) => c.public)).toEqual([false, true]);
    });

    it('changes the status', async () => {
      const ref = await adapter.createTicket(
        draft(),
        ctx(`HUB-STAT${Date.now().toString(36).toUpperCase()}`),
      );
      await adapter.setStatus(ref.externalId, 'solved', ctx('s'));
      expect((await adapter.getTicket(ref.externalId, ctx('read')))?.status).toBe('solved');
    });

    it('answers undefined for an unknown ticket and a coded error for writing to one', async () => {
      expect(await adapter.getTicket('987654', ctx('read'))).toBeUndefined();
      const error = await adapter
        .addComment('987654', { author: 'bot', text: 'x', public: false }, ctx('c'))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AdapterError);
      expect((error as AdapterError).retryable).toBe(false);
    });
  });
}
