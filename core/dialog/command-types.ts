import type { DialogState, InboundEvent } from '../types';
import type { Language } from './language';

export interface CommandInput {
  event: InboundEvent;
  text: string;
  language: Language;
  /** The next state; a command changes its slots and handoff. */
  state: DialogState;
  /** The turn's clock (ISO-8601); default now. */
  now?: string;
}

export interface CommandReply {
  text: string;
  /** What happened: the flows branch on it (config/flows/order-status.yaml). */
  outcome?: 'shown' | 'verify' | 'locked' | 'unavailable' | 'ticket';
}
