import { describe, expect, it } from 'vitest';
import type { Caller } from '../../core/security/caller';
import { maskPii } from '../../core/security/pii-mask';
import { transcriptView } from '../../core/security/transcripts';

const caller = (role: Caller['role']): Caller => ({
  kind: 'operator',
  id: `op-${role}`,
  name: role,
  role,
  tenants: ['default'],
});

const transcript = [
  {
    role: 'customer' as const,
    text: 'Order AB12345678, my e-mail is alex.wong@example.com',
    at: '2026-11-20T10:00:00Z',
  },
  {
    role: 'customer' as const,
    text: '手机 138-0013-8000，卡号 4111 1111 1111 1111',
    at: '2026-11-20T10:01:00Z',
  },
  {
    role: 'bot' as const,
    text: 'Your order shipped on 2026-11-18 for 129.00 CNY.',
    at: '2026-11-20T10:01:05Z',
  },
];

describe('transcripts an operator reads', () => {
  it('masks e-mail, phone and card numbers for an analyst, keeping what follows the conversation', () => {
    const seen = transcriptView(caller('analyst'), transcript).map((line) => line.text);
    expect(seen).toEqual([
      'Order AB12345678, my e-mail is <EMAIL …@example.com>',
      '手机 <PHONE …00>，卡号 <CARD …1111>',
      'Your order shipped on 2026-11-18 for 129.00 CNY.',
    ]);
    expect(seen.join(' ')).not.toMatch(/alex\.wong|13800138000|138-0013-8000|4111 1111/);
  });

  it('shows the transcript as stored to the roles that answer the customer', () => {
    for (const role of ['agent', 'supervisor', 'admin'] as const) {
      expect(transcriptView(caller(role), transcript)).toEqual(transcript);
    }
  });

  it('masks international numbers, and leaves digits that are no card (Luhn) or phone alone', () => {
    expect(maskPii('call +1 415 555 2671 or +65 6123 4567')).toBe('call <PHONE …71> or <PHONE …67>');
    expect(maskPii('ticket 4111 1111 1111 1112 and invoice INV-2026-1120')).toBe(
      'ticket 4111 1111 1111 1112 and invoice INV-2026-1120',
    );
  });
});
