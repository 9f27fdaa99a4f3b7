import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineErp, erps } from '../../adapters/erp';
import { OrderBasedErp } from '../../adapters/erp/orders';
import { defineHelpdesk, describeTicket, helpdesks } from '../../adapters/ticketing';
import { startBackOffice } from '../../app/back-office';
import { builtinPlugins, type Plugins, validatePlugins } from '../../app/plugins';
import { hubConfigSchema } from '../../core/config/schema';
import { emptyState } from '../../core/dialog/engine';
import { embeddingText } from '../../core/rag/embedder';
import type { KnowledgeIndex } from '../../core/rag/knowledge-index';
import { baseLanguage, detectLanguage } from '../../core/rag/language';
import { defineRetriever, type RetrieverContext, retrievers } from '../../core/rag/retrievers';
import {
  type AdapterCallContext,
  AdapterError,
  AdapterErrorCodes,
  type CustomerLookup,
  type HubError,
  type InboundEvent,
  type KnowledgeChunk,
  type Order,
  type Passage,
  type SearchOptions,
  type Ticket,
  type TicketComment,
  type TicketDraft,
  type TicketingAdapter,
  type TicketRef,
  type TicketStatus,
} from '../../core/types';
import { retrieverConformance } from '../conformance/retriever-contract';
import { ticketingContract } from '../conformance/ticketing-contract';
import { openTestStore, type TestStore } from '../support/postgres';
import { draft } from '../support/ticket-draft';

/*
 * A helpdesk, an ERP and a retriever that exist only in this file, each one descriptor registered
 * with one line, pass the shared suites and run in a back office as the built-in ones do.
 */

/** A helpdesk that keeps its tickets in a Map. */
class MemoryHelpdesk implements TicketingAdapter {
  readonly name = 'memory';
  readonly tickets = new Map<string, Ticket>();
  private readonly byKey = new Map<string, string>();

  constructor(private readonly prefix: string) {}

  async createTicket(ticket: TicketDraft, ctx: AdapterCallContext): Promise<TicketRef> {
    const known = this.byKey.get(ctx.idempotencyKey);
    if (known) return { externalId: known };
    const externalId = `${this.prefix}${this.tickets.size + 1}`;
    this.byKey.set(ctx.idempotencyKey, externalId);
    this.tickets.set(externalId, {
      externalId,
      subject: ticket.subject,
      status: 'new',
      priority: ticket.priority,
      tags: ticket.tags,
      comments: [{ author: 'bot', text: describeTicket(ticket), public: false }],
    });
    return { externalId };
  }

  async addComment(externalId: string, comment: TicketComment): Promise<void> {
    this.existing(externalId).comments.push(comment);
  }

  async getTicket(externalId: string): Promise<Ticket | undefined> {
    return this.tickets.get(externalId);
  }

  async setStatus(externalId: string, status: TicketStatus): Promise<void> {
    this.existing(externalId).status = status;
  }

  private existing(externalId: string): Ticket {
    const ticket = this.tickets.get(externalId);
    if (!ticket) throw new AdapterError(AdapterErrorCodes.notFound, `no ticket ${externalId}`);
    return ticket;
  }
}

const memoryHelpdesk = defineHelpdesk({
  name: 'memory',
  options: z.object({
    prefix: z
      .string()
      .regex(/^[A-Z]+-$/)
      .default('MEM-'),
  }),
  create: (options) => new MemoryHelpdesk(options.prefix),
});

/** An ERP whose orders are written in its config block. */
class MemoryErp extends OrderBasedErp {
  readonly name = 'memory';

  constructor(
    private readonly orders: Order[],
    returnWindowDays: number,
  ) {
    super(returnWindowDays, Date.now);
  }

  async getOrder(orderId: string): Promise<Order | undefined> {
    return this.orders.find((order) => order.id === orderId);
  }

  async listOrders(customer: CustomerLookup): Promise<Order[]> {
    return this.orders.filter((order) => customer.email && order.customer.email === customer.email);
  }
}

const memoryOrderSchema = z.object({
  id: z.string().regex(/^[A-Z]{2}\d{8}$/),
  status: z.enum(['pending', 'confirmed', 'processing', 'shipped', 'delivered', 'cancelled', 'returned']),
  placedAt: z.string(),
  email: z.string().email(),
  trackingNumber: z.string().optional(),
});

const memoryErp = defineErp({
  name: 'memory',
  options: z.object({ orders: z.array(memoryOrderSchema).min(1) }),
  requires: 'set erp.memory.orders',
  create: (options, erp) =>
    new MemoryErp(
      options.orders.map((o) => ({
        id: o.id,
        status: o.status,
        placedAt: o.placedAt,
        customer: { email: o.email },
        lines: [],
        ...(o.trackingNumber
          ? { shipment: { carrier: 'Memory Post', trackingNumber: o.trackingNumber } }
          : {}),
      })),
      erp.returnWindowDays,
    ),
});

/** Brute-force cosine over the embedder's vectors; a new generation is swapped in whole. */
class CosineIndex implements KnowledgeIndex {
  readonly name = 'cosine';
  private entries = new Map<string, { chunk: KnowledgeChunk; vector: number[] }>();

  constructor(private readonly context: RetrieverContext) {}

  async index(chunks: KnowledgeChunk[]): Promise<void> {
    this.entries = new Map([...this.entries, ...(await this.embedded(chunks))]);
  }

  async remove(ids: string[]): Promise<void> {
    const next = new Map(this.entries);
    for (const id of ids) next.delete(id);
    this.entries = next;
  }

  async replaceAll(chunks: KnowledgeChunk[]): Promise<void> {
    this.entries = new Map(await this.embedded(chunks));
  }

  async count(): Promise<number> {
    return this.entries.size;
  }

  async close(): Promise<void> {}

  async search(query: string, options: SearchOptions = {}): Promise<Passage[]> {
    const k = options.k ?? 4;
    const entries = [...this.entries.values()];
    const [vector = []] = await this.context.embedder.embed([query]);
    const language = options.language ? baseLanguage(options.language) : detectLanguage(query);
    const scored = entries
      .filter(({ chunk }) => !chunk.tenant || chunk.tenant === options.tenant)
      .filter(({ chunk }) => !options.tags?.length || chunk.tags.some((tag) => options.tags?.includes(tag)))
      .map(({ chunk, vector: v }) => ({
        ...chunk,
        score: v.reduce((sum, x, i) => sum + x * (vector[i] ?? 0), 0),
      }))
      .filter((passage) => passage.score > 0.01)
      .sort((a, b) => b.score - a.score);
    const first = scored.filter((p) => p.language === language);
    return [...first, ...scored.filter((p) => p.language !== language)].slice(0, k);
  }

  /** In batches, as an embeddings server takes them; searches go on against the old entries meanwhile. */
  private async embedded(chunks: KnowledgeChunk[]) {
    const entries: Array<readonly [string, { chunk: KnowledgeChunk; vector: number[] }]> = [];
    for (let start = 0; start < chunks.length; start += 16) {
      const batch = chunks.slice(start, start + 16);
      const vectors = await this.context.embedder.embed(batch.map(embeddingText));
      for (const [i, chunk] of batch.entries()) entries.push([chunk.id, { chunk, vector: vectors[i] ?? [] }]);
    }
    return entries;
  }
}

const cosineRetriever = defineRetriever({
  name: 'cosine',
  options: z.object({}),
  create: (_options, context) => new CosineIndex(context),
  defaultMinScore: 0.2,
});

// The one line each that registers them.
const plugins: Plugins = {
  helpdesks: helpdesks.with(memoryHelpdesk),
  erps: erps.with(memoryErp),
  retrievers: retrievers.with(cosineRetriever),
};

ticketingContract(memoryHelpdesk, async () => ({ options: {}, teardown: async () => {} }), plugins.helpdesks);

retrieverConformance(
  'cosine (defined in this test)',
  cosineRetriever,
  { fresh: () => ({}) },
  plugins.retrievers,
);

describe('a back office with an ERP and a helpdesk registered in one line each', () => {
  const config = hubConfigSchema.parse({
    erp: {
      driver: 'memory',
      memory: {
        orders: [
          {
            id: 'ME00000001',
            status: 'shipped',
            placedAt: '2026-11-01T10:00:00Z',
            email: 'alex@example.com',
            trackingNumber: 'MP123',
          },
        ],
      },
    },
    ticketing: { driver: 'memory', memory: { prefix: 'TT-' }, outbox: { pollMs: 50 } },
  });
  let test: TestStore;
  let backOffice: Awaited<ReturnType<typeof startBackOffice>>;
  beforeAll(async () => {
    test = await openTestStore('postgres', 'hub_plugins');
    backOffice = await startBackOffice(config, test.store, plugins);
  });
  afterAll(async () => {
    await backOffice?.close();
    await test?.dispose();
  });

  it('validates their blocks with their own schemas, and only once they are registered', () => {
    expect(() => validatePlugins(config, plugins)).not.toThrow();
    const unregistered = (() => {
      try {
        validatePlugins(config, builtinPlugins);
      } catch (error) {
        return error as HubError;
      }
    })();
    expect(unregistered?.code).toBe('config.invalid');
    expect(unregistered?.message).toContain('erp.driver: unknown ERP "memory"; use one of demo, rest');
    expect(unregistered?.message).toContain('ticketing.driver: unknown helpdesk "memory"');
    const broken = hubConfigSchema.parse({
      erp: { driver: 'memory' },
      ticketing: { driver: 'memory', memory: { prefix: 'lower' } },
    });
    expect(() => validatePlugins(broken, plugins)).toThrow(
      /erp\.memory: erp\.driver is "memory" but erp\.memory is missing; set erp\.memory\.orders[\s\S]*ticketing\.memory\.prefix/,
    );
  });

  it('looks an order up through the registered ERP', async () => {
    expect(backOffice.erp.name).toBe('memory');
    const event: InboundEvent = {
      id: 'e-plugin-1',
      kind: 'message',
      ref: { channel: 'webchat', tenant: 'default', conversation: 'plugins' },
      sender: { id: 'u-plugins' },
      receivedAt: new Date().toISOString(),
      text: 'ME00000001 alex@example.com',
    };
    const reply = await backOffice.commands.lookupOrder(
      { event, text: event.text ?? '', language: 'en', state: emptyState('webchat:default:plugins') },
      'ME00000001',
    );
    expect(reply.text).toContain('Order ME00000001 is');
    expect(reply.text).toContain('tracking number MP123');
  });

  it('delivers a ticket to the registered helpdesk through the outbox', async () => {
    const helpdesk = backOffice.ticketing as MemoryHelpdesk;
    expect(helpdesk).toBeInstanceOf(MemoryHelpdesk);
    const { request } = await backOffice.tickets.open(draft(), 'plugins:ticket-1');
    await expect
      .poll(async () => (await backOffice.outbox.get(request.id))?.externalId, { timeout: 10_000 })
      .toBe('TT-1');
    expect(helpdesk.tickets.get('TT-1')?.subject).toContain('Where is my parcel?');
  });
});
