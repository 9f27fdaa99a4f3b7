import type { InboundEvent } from './events';
import type { OutboundMessage } from './outbound';

export interface CustomerIdentity {
  channel: string;
  tenant: string;
  userId: string;
  displayName?: string;
}

export interface TranscriptEntry {
  id: string;
  conversationKey: string;
  direction: 'in' | 'out';
  text: string;
  at: string;
  inReplyTo?: string;
  payload: InboundEvent | OutboundMessage;
}

export interface HubStore {
  migrate(): Promise<void>;
  /** Find or create the customer behind a channel identity; returns the customer id. */
  upsertCustomer(identity: CustomerIdentity): Promise<string>;
  /** Idempotent on event id: `inserted` is false on a repeat. */
  recordInbound(event: InboundEvent, customerId?: string): Promise<{ inserted: boolean }>;
  /** Idempotent on message id. */
  recordOutbound(message: OutboundMessage): Promise<{ inserted: boolean }>;
  transcript(conversationKey: string, options?: { limit?: number }): Promise<TranscriptEntry[]>;
  /** Replies produced for an inbound event, in order. */
  repliesTo(inboundEventId: string): Promise<OutboundMessage[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
