import { type TurnFact, turnFact } from '../analytics/facts';
import { messagesOut, stageLatency } from '../metrics';
import type { DraftSink } from '../outbound/draft';
import type { TurnAuditRecord } from '../security/audit';
import { inboundText } from '../store/rows';
import { inSpan, type Span } from '../telemetry/trace';
import {
  type ConversationRef,
  conversationKey,
  type DeliveryContext,
  type DialogState,
  type EventHandler,
  type HubStore,
  type InboundEvent,
  type OutboundFeed,
  type OutboundMessage,
  renderAsText,
  type StateStore,
} from '../types';
import { type DialogEngine, emptyState, HANDLED_IDS_KEPT, replyIdOf, type TurnTrace } from './engine';
import { turnAuditRecord } from './turn-audit';
import type { TurnWriter } from './turn-write';

export interface TurnDeps {
  engine: DialogEngine;
  states: StateStore;
  store: HubStore;
  feed: OutboundFeed;
  /** Push the reply to its platform. Must be idempotent on `message.id`: a redelivered turn calls it again. */
  deliver?: (message: OutboundMessage) => Promise<void>;
  /** The channel's streamed draft of a reply, when it streams (Connector.openDraft); `deliver` then edits it. */
  openDraft?: (ref: ConversationRef, replyId: string, locale?: string) => DraftSink | undefined;
  /**
   * Put the turn on the audit trail (core/security/audit.ts `recordTurn`). Called after the replies
   * are stored and before the state is saved, so a turn that dies between the two is recorded by its
   * redelivery; the record is keyed by event id, so a redelivery never appends a second one.
   */
  audit?: (record: TurnAuditRecord) => Promise<unknown>;
  /**
   * Write the turn's business facts (core/analytics `createFactsWriter`), beside its audit record and
   * from the same trace; keyed by event id, so a redelivery writes nothing twice.
   */
  facts?: (fact: TurnFact) => Promise<unknown>;
  /**
   * Write the whole turn in one statement (./turn-write.ts `createTurnWriter`): the inbound
   * message, the replies, the audit record and the facts. When set, `audit` and `facts` are not
   * called and nothing is written before the engine answers: the event stays on the bus until the
   * turn ends, so a worker that dies first leaves a redelivery, and the transcript still holds
   * either the whole turn or none of it.
   */
  write?: TurnWriter;
}

/**
 * The bus consumer: one conversation turn. The transcript is the source of truth for "was this
 * event answered": replies are stored (idempotent on their id) before the state is saved and before
 * anything is sent, so a worker that dies anywhere in here leaves a redelivery that answers once.
 */
export function createTurnHandler(deps: TurnDeps): EventHandler {
  const customers = new CustomerCache(deps.store);
  return (event, ctx) =>
    inSpan(
      'dialog.turn',
      {
        attributes: {
          'hub.channel': event.ref.channel,
          'hub.event.kind': event.kind,
          'hub.event.id': event.id,
        },
      },
      (span) => runTurn(deps, customers, event, ctx, span),
    );
}

async function runTurn(
  deps: TurnDeps,
  customers: CustomerCache,
  event: InboundEvent,
  ctx: DeliveryContext,
  span: Span,
): Promise<void> {
  const startedAt = Date.now();
  const endTurn = stageLatency.startTimer({ stage: 'turn' });
  stageLatency.observe({ stage: 'queue' }, Math.max(0, Date.now() - Date.parse(event.receivedAt)) / 1000);
  const key = conversationKey(event.ref);
  // A helpdesk update is the agent's, not the customer's: no customer record for the agent.
  const customerId = event.kind === 'handoff' ? undefined : await customers.resolve(event);
  if (!deps.write) await deps.store.recordInbound(event, customerId);

  // A bus that commits the turn (ctx.turn) read the state with the event; else the store is asked.
  const state = (ctx.turn ? ctx.turn.state : await deps.states.load(key)) ?? emptyState(key);
  const handled = state.handledEventIds.includes(event.id);
  // Only a redelivery can find replies already stored: a first delivery skips the look-up. (A replayed
  // dead letter starts at attempt 1 again; recordOutbound's idempotency below still sends what is stored.)
  let replies = handled || ctx.attempt > 1 ? await deps.store.repliesTo(event.id) : [];
  if (!handled) {
    const next = replies.length > 0 ? completeFromTranscript(state, event, replies) : undefined;
    if (next) {
      const { audit, fact } = turnRecords(event, replies, state, next, startedAt);
      // The one statement that stored the replies wrote the rest: this one writes nothing new.
      if (deps.write) await deps.write({ event, customerId, replies, audit, fact });
      else {
        await deps.audit?.(audit);
        await deps.facts?.(fact);
      }
      await saveState(deps, ctx, next);
    } else {
      const turn = await respond(deps, event, state);
      let allInserted = true;
      if (deps.write) {
        // Record and fact describe the replies produced: where any was stored already, an earlier
        // attempt's statement wrote its own record and fact with them, and these are not written.
        const { inserted } = await deps.write({
          event,
          customerId,
          replies: turn.replies,
          ...turnRecords(event, turn.replies, state, turn.state, startedAt, turn.trace),
        });
        for (const [index, reply] of turn.replies.entries()) {
          if (inserted[index])
            messagesOut.inc({ channel: reply.ref.channel, source: reply.source ?? 'system' });
          allInserted &&= inserted[index] === true;
        }
      } else {
        for (const reply of turn.replies) {
          const { inserted } = await deps.store.recordOutbound(reply);
          if (inserted) messagesOut.inc({ channel: reply.ref.channel, source: reply.source ?? 'system' });
          allInserted &&= inserted;
        }
      }
      // Another worker (fenced out, or before a replay) may have stored its replies first: what is stored is what is sent.
      replies = allInserted ? turn.replies : await deps.store.repliesTo(event.id);
      if (!deps.write) {
        const { audit, fact } = turnRecords(event, replies, state, turn.state, startedAt, turn.trace);
        await deps.audit?.(audit);
        await deps.facts?.(fact);
      }
      await saveState(deps, ctx, turn.state);
    }
  }
  span.setAttributes({
    'hub.turn.redelivered': handled || ctx.attempt > 1,
    'hub.turn.replies': replies.length,
  });
  for (const [index, reply] of replies.entries()) {
    await deliverReply(deps, ctx, reply, { index, count: replies.length });
  }
  endTurn();
}

/** The turn's audit record and business fact for the replies it stands by, as it leaves the state. */
function turnRecords(
  event: InboundEvent,
  replies: OutboundMessage[],
  before: DialogState,
  after: DialogState,
  startedAt: number,
  trace?: TurnTrace,
): { audit: TurnAuditRecord; fact: TurnFact } {
  return {
    audit: turnAuditRecord(event, replies, startedAt, trace),
    fact: { ...turnFact(event, replies, before, after, trace), latencyMs: Date.now() - startedAt },
  };
}

/** To the bus, which saves it with the event's settlement, or to the store now. */
async function saveState(deps: TurnDeps, ctx: DeliveryContext, state: DialogState): Promise<void> {
  if (ctx.turn) ctx.turn.saveState(state);
  else await deps.states.save(state, { fencingToken: ctx.fencingToken });
}

/**
 * One reply to the feed (web chat, REST) and to its platform, as the `outbound.deliver` span. The
 * feed's copy says its place among the turn's replies: every reply is stored before the first is
 * published, so a waiter that has `count` of them has the whole turn.
 */
function deliverReply(
  deps: TurnDeps,
  ctx: DeliveryContext,
  reply: OutboundMessage,
  turnReplies: NonNullable<OutboundMessage['turnReplies']>,
): Promise<void> {
  const attributes = { 'hub.channel': reply.ref.channel, 'hub.message.id': reply.id };
  return inSpan('outbound.deliver', { attributes }, async () => {
    // A bus that commits the turn publishes with the settlement: a holder that was taken over publishes nothing.
    if (ctx.turn) ctx.turn.publish({ ...reply, turnReplies });
    else await deps.feed.publish({ ...reply, turnReplies });
    await deps.deliver?.(reply);
  });
}

/** Ask the engine, streaming the answer into the channel's draft where the channel has one. */
async function respond(deps: TurnDeps, event: InboundEvent, state: DialogState) {
  const answerable = event.kind === 'message' || event.kind === 'action';
  const draft = answerable ? deps.openDraft?.(event.ref, replyIdOf(event), event.locale) : undefined;
  if (!draft) return deps.engine.respond(event, state);
  try {
    return await deps.engine.respond(event, state, { onDraft: (text) => draft.update(text) });
  } finally {
    // The final delivery edits the draft: no draft call may still be on its way then.
    await draft.settle();
  }
}

/** The replies were stored but the worker died before saving the state: finish the turn from them. */
function completeFromTranscript(
  state: DialogState,
  event: InboundEvent,
  replies: OutboundMessage[],
): DialogState {
  const at = new Date().toISOString();
  return {
    ...state,
    history: [
      ...state.history,
      // A button or card submit reads as its title (or id), as the transcript stores it.
      { role: 'user' as const, text: inboundText(event), at: event.receivedAt, eventId: event.id },
      // As the render stage writes it: the words the customer was shown, not a text fallback of buttons.
      ...replies.map((reply) => ({
        role: 'assistant' as const,
        text: reply.content.type === 'choices' ? reply.content.text : renderAsText(reply.content),
        at,
      })),
    ],
    handledEventIds: [...state.handledEventIds, event.id].slice(-HANDLED_IDS_KEPT),
    updatedAt: at,
  };
}

/**
 * Channel identity → customer id, remembered for a while so that a conversation's later turns skip
 * the upsert (a committed write per message otherwise). Upserting again after expiry is harmless.
 */
class CustomerCache {
  private readonly ids = new Map<string, { id: string; until: number }>();

  constructor(
    private readonly store: HubStore,
    private readonly ttlMs = 10 * 60_000,
    private readonly size = 10_000,
  ) {}

  async resolve(event: InboundEvent): Promise<string> {
    const key = JSON.stringify([event.ref.channel, event.ref.tenant, event.sender.id]);
    const hit = this.ids.get(key);
    if (hit && hit.until > Date.now()) return hit.id;
    const id = await this.store.upsertCustomer({
      channel: event.ref.channel,
      tenant: event.ref.tenant,
      userId: event.sender.id,
      displayName: event.sender.name,
    });
    this.ids.delete(key);
    this.ids.set(key, { id, until: Date.now() + this.ttlMs });
    if (this.ids.size > this.size) this.ids.delete(this.ids.keys().next().value as string);
    return id;
  }
}
