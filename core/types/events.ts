import type { ConversationRef } from './conversation';

export type InboundKind =
  | 'message'
  | 'edit'
  | 'action'
  | 'membership'
  | 'reaction'
  | 'status'
  /** From a helpdesk, not the customer: an agent replied, took over, or solved/closed the ticket. */
  | 'handoff';

export type AttachmentKind =
  | 'image'
  | 'audio'
  | 'voice'
  | 'video'
  | 'file'
  | 'sticker'
  | 'location'
  | 'contacts';

export interface Attachment {
  kind: AttachmentKind;
  /** Platform file id; fetch through the connector. */
  fileId?: string;
  url?: string;
  name?: string;
  mimeType?: string;
  sizeBytes?: number;
  caption?: string;
  location?: { latitude: number; longitude: number; name?: string; address?: string };
  contacts?: Array<{ name: string; phones: string[] }>;
}

export interface Mention {
  id: string;
  text?: string;
  isBot?: boolean;
}

export interface Sender {
  /** Platform user id, unique within the channel and tenant. */
  id: string;
  name?: string;
  isBot?: boolean;
}

/** One normalized event from any channel. `raw` keeps the platform payload; extras live in `channelData`. */
export interface InboundEvent {
  /** Globally unique and stable across platform retries: the bus dedupes on it. */
  id: string;
  kind: InboundKind;
  ref: ConversationRef;
  sender: Sender;
  /** ISO-8601 time the hub accepted the event. */
  receivedAt: string;
  text?: string;
  /** BCP-47 language when the platform tells it (e.g. "zh-CN"); the dialog engine detects it otherwise. */
  locale?: string;
  attachments?: Attachment[];
  mentions?: Mention[];
  /** True when the bot was addressed (DM, or mentioned in a group). */
  addressedToBot?: boolean;
  /** Platform message id, for edits and replies. */
  platformMessageId?: string;
  replyToMessageId?: string;
  action?: { id: string; title?: string; value?: unknown };
  membership?: { change: 'joined' | 'left'; memberIds: string[]; botIncluded: boolean };
  reaction?: { name: string; messageId: string; added: boolean };
  status?: { messageId: string; state: 'sent' | 'delivered' | 'read' | 'failed'; error?: string };
  /**
   * kind "handoff": what the helpdesk said about the conversation's ticket. `ref` is the customer's
   * conversation (from the ticket's outbox row), `sender` the agent. An agent's `reply` reaches the
   * customer on the original channel and makes the human the owner; `solved`/`closed` returns the
   * conversation to the bot.
   */
  handoff?: HandoffUpdate;
  /** Per-channel extras, namespaced by channel type. */
  channelData?: Record<string, unknown>;
  raw?: unknown;
  /**
   * The W3C trace context of the ingress that accepted the event, set only while tracing is on. It
   * travels with the event through the bus, so the turn a worker runs (in any process) joins the
   * trace of the request that brought the message.
   */
  trace?: TraceCarrier;
}

/** W3C Trace Context headers (https://www.w3.org/TR/trace-context/), as strings. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

export interface HandoffUpdate {
  change: 'reply' | 'assigned' | 'solved' | 'closed';
  /** The helpdesk adapter id (config `ticketing.adapters[].id`) and its ticket id. */
  adapter: string;
  ticketId: string;
  /** The agent's public reply (change "reply"); internal notes never get here. */
  text?: string;
  agentName?: string;
}
