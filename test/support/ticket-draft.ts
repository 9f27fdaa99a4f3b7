import type { TicketDraft } from '../../core/types';

/** A ticket as the handoff command builds it, for adapter and outbox tests. */
export function draft(overrides: Partial<TicketDraft> = {}): TicketDraft {
  const ref = { channel: 'webchat', tenant: 'default', conversation: 'c1' };
  return {
    subject: '[webchat] Where is my parcel?',
    summary: 'The customer asked to talk to a person.',
    transcript: [
      { role: 'customer', text: 'Where is my parcel XX12345678?', at: '2026-11-01T10:00:00.000Z' },
    ],
    intent: 'human_handoff',
    slots: { 'order.id': 'XX12345678' },
    entities: { order_id: ['XX12345678'] },
    customer: { channel: 'webchat', tenant: 'default', userId: 'u1', email: 'alex@example.com' },
    conversation: ref,
    conversationKey: 'webchat:default:c1',
    priority: 'normal',
    category: 'orders',
    tags: ['hub', 'handoff'],
    ...overrides,
  };
}
