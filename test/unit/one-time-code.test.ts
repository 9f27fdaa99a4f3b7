import { describe, expect, it } from 'vitest';
import { OneTimeCodes } from '../../core/orders/one-time-code';
import type { Order } from '../../core/types';

const order: Order = {
  id: 'XX12345678',
  status: 'shipped',
  placedAt: '2026-10-28T09:14:00Z',
  customer: { email: 'alex@example.com', phone: '+1 555 0100' },
  lines: [],
};

/** The code travels through the provider boundary; the test reads it there, as the customer would. */
function setup(now = { t: 0 }) {
  const sent: Array<{ to: { kind: string; address: string }; code: string }> = [];
  const codes = new OneTimeCodes(async (to, code) => void sent.push({ to, code }), {
    ttlMs: 60_000,
    attempts: 3,
    now: () => now.t,
  });
  return { codes, sent, now };
}

describe('one-time codes', () => {
  it('sends a code to the e-mail on the order and accepts it once', async () => {
    const { codes, sent } = setup();
    const challenge = await codes.issue(order);
    expect(sent[0]?.to).toEqual({ kind: 'email', address: 'alex@example.com' });
    expect(sent[0]?.code).toMatch(/^\d{6}$/);
    expect(challenge?.masked).toBe('a***@example.com');
    expect(JSON.stringify(challenge)).not.toContain(sent[0]?.code);
    const checked = codes.verify(challenge as never, ` ${sent[0]?.code} `);
    expect(checked.result).toBe('valid');
    expect(codes.verify(checked.challenge, sent[0]?.code ?? '').result).toBe('exhausted');
  });

  it('counts wrong codes and expires', async () => {
    const { codes, sent, now } = setup();
    let challenge = (await codes.issue({ ...order, customer: { phone: '+1 555 0100' } })) as never;
    expect(sent[0]?.to.kind).toBe('phone');
    const wrong = sent[0]?.code === '000000' ? '111111' : '000000';
    for (const left of [2, 1, 0]) {
      const checked = codes.verify(challenge, wrong);
      expect(checked.result).toBe('wrong');
      expect(checked.challenge.attemptsLeft).toBe(left);
      challenge = checked.challenge as never;
    }
    expect(codes.verify(challenge, sent[0]?.code ?? '').result).toBe('exhausted');

    const fresh = (await codes.issue(order)) as never;
    now.t = 61_000;
    expect(codes.verify(fresh, sent[1]?.code ?? '').result).toBe('expired');
  });

  it('does not accept a code issued for another order', async () => {
    const { codes, sent } = setup();
    await codes.issue(order);
    const other = (await codes.issue({ ...order, id: 'ZZ99999999' })) as never;
    if (sent[0]?.code !== sent[1]?.code)
      expect(codes.verify(other, sent[0]?.code ?? '').result).toBe('wrong');
    expect(await codes.issue({ ...order, customer: {} })).toBeUndefined();
  });
});
