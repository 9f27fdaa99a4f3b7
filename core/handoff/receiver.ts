import type { HubConfig } from '../config/schema';
import type { Logger } from '../log';
import type { KyselyStore } from '../store';
import { TicketOutbox, type TicketRequest } from '../tickets/outbox';
import type { InboundEvent, PublishResult, Retriever } from '../types';
import { handoffEvent } from './events';
import { helpdeskUpdates } from './metrics';
import type { Interpretation, ParsedUpdate } from './payload';

export interface HandoffDeps {
  config: HubConfig;
  store: KyselyStore;
  /**
   * The hub's one ingress call, as connectors get it (core/channels/ingress.ts): dedupe on the event
   * id, enqueue in conversation order; a bus failure arrives as the retryable 503 `ingress.unavailable`.
   */
  accept(event: InboundEvent): Promise<PublishResult>;
  logger: Logger;
  /** Bearer token of the admin routes; `HUB_ADMIN_TOKEN` when not given. */
  adminToken?: string;
  /**
   * The knowledge base, for replies an agent may send (the agent workspace's suggestions): the
   * workers' index where this process runs them, else built on first use. Absent: no suggestions.
   */
  knowledge?: () => Promise<Retriever>;
}

export type Outcome =
  | { status: 'accepted' | 'duplicate'; eventId: string; request: TicketRequest }
  | { status: 'ignored'; reason: string }
  | { status: 'unknown_ticket'; ticketId: string };

/**
 * Turn one interpreted helpdesk change into a bus event for the conversation its ticket came
 * from. Quick by design: a look-up and a publish; the dialog workers do the rest.
 */
export class HandoffReceiver {
  readonly outbox: TicketOutbox;

  constructor(private readonly deps: HandoffDeps) {
    this.outbox = new TicketOutbox(deps.store.db);
  }

  async receive(source: string, interpretation: Interpretation): Promise<Outcome> {
    const log = this.deps.logger;
    if ('ignored' in interpretation) {
      helpdeskUpdates.inc({ source, outcome: 'ignored' });
      log.info({ source, reason: interpretation.ignored }, 'helpdesk update ignored');
      return { status: 'ignored', reason: interpretation.ignored };
    }
    const { update } = interpretation;
    const request = await this.find(update.adapter, update.ticketId, interpretation.hubReference);
    if (!request) {
      helpdeskUpdates.inc({ source, outcome: 'unknown_ticket' });
      log.info(
        { source, adapter: update.adapter, ticketId: update.ticketId.slice(0, 64), change: update.change },
        'helpdesk update for a ticket the hub did not open; ignored',
      );
      return { status: 'unknown_ticket', ticketId: update.ticketId };
    }
    return this.publish(source, interpretation, request);
  }

  /** Publish an update whose ticket request is already known. */
  async publish(source: string, parsed: ParsedUpdate, request: TicketRequest): Promise<Outcome> {
    const event = handoffEvent(parsed, request, source);
    let result: PublishResult;
    try {
      result = await this.deps.accept(event);
    } catch (error) {
      helpdeskUpdates.inc({ source, outcome: 'unavailable' });
      throw error;
    }
    const status = result.accepted ? 'accepted' : 'duplicate';
    helpdeskUpdates.inc({ source, outcome: status });
    this.deps.logger.info(
      { source, eventId: event.id, change: parsed.update.change, requestId: request.id, status },
      'helpdesk update published',
    );
    return { status, eventId: event.id, request };
  }

  /** By the helpdesk's id; else by the hub reference the helpdesk stored, if it is ours. */
  async find(adapter: string, ticketId: string, hubReference?: string): Promise<TicketRequest | undefined> {
    const byExternal = await this.outbox.findByExternalId(adapter, ticketId);
    if (byExternal) return byExternal;
    if (!hubReference || !/^HUB-[0-9A-Z]{8}$/.test(hubReference)) return undefined;
    const byReference = await this.outbox.get(hubReference);
    // The reference must belong to this ticket: a forged or stale pair must not reach a conversation.
    return byReference?.adapter === adapter &&
      (byReference.externalId === undefined || byReference.externalId === ticketId)
      ? byReference
      : undefined;
  }
}
