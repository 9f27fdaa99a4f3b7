import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createErp, DemoErp, erpConfigSchema, type RestErp } from '../../adapters/erp';
import type { RestErpConfig } from '../../adapters/erp/rest';
import type { ErpConfig } from '../../core/config/adapters-schema';
import { OrderAccess, proofFromText } from '../../core/orders/access';
import { phonesMatch } from '../../core/orders/identity';
import { AdapterError, type ErpAdapter } from '../../core/types';
import { type ErpEmulator, startErpEmulator } from '../emulators/erp-emulator';
import { callCtx, failure } from '../support/adapter-calls';

const ctx = callCtx('read');

describe('demo ERP', () => {
  let erp: ErpAdapter;
  beforeAll(async () => {
    erp = await createErp(erpConfigSchema.parse({}));
  });

  it('reads the shipped demo orders', async () => {
    const order = await erp.getOrder('XX12345678', ctx);
    expect(order?.status).toBe('shipped');
    expect(order?.shipment?.trackingNumber).toBe('JD014600003828');
    expect(await erp.getOrder('XX00000000', ctx)).toBeUndefined();
    expect((await erp.getShipment('XX12345678', ctx))?.carrier).toBe('DHL');
  });

  it("lists a customer's orders by e-mail or phone, newest first", async () => {
    expect((await erp.listOrders({ email: 'ALEX@example.com' }, ctx)).map((o) => o.id)).toEqual([
      'XX12345678',
      'ZZ99999999',
    ]);
    expect((await erp.listOrders({ phone: '+44 20 7946 0000' }, ctx)).map((o) => o.id)).toEqual([
      'AB00000001',
      'AB00000002',
    ]);
    expect(await erp.listOrders({}, ctx)).toEqual([]);
  });

  it('decides return eligibility by delivery and window', async () => {
    const at = (iso: string) =>
      DemoErp.load('adapters/erp/demo-orders.yaml', { returnWindowDays: 30, now: () => Date.parse(iso) });
    const early = await at('2026-11-01T00:00:00Z');
    expect(await early.returnEligibility('CN20261101', ctx)).toEqual({
      eligible: true,
      reason: 'eligible',
      until: '2026-11-22',
    });
    expect((await early.returnEligibility('XX12345678', ctx)).reason).toBe('not_delivered');
    expect((await early.returnEligibility('ZZ99999999', ctx)).reason).toBe('cancelled');
    const late = await at('2026-12-01T00:00:00Z');
    expect((await late.returnEligibility('CN20261101', ctx)).reason).toBe('window_closed');
  });
});

describe('ownership', () => {
  let access: OrderAccess;
  beforeAll(async () => {
    access = new OrderAccess(await createErp(erpConfigSchema.parse({})), 1000);
  });

  it('shows an order to the e-mail or phone on it, and nothing else', async () => {
    expect((await access.lookup('XX12345678', { email: 'alex@example.com' }, 'd')).outcome).toBe('shown');
    expect(await access.lookup('XX12345678', { phone: '555 0100' }, 'd')).toMatchObject({
      outcome: 'shown',
      matchedBy: 'phone',
    });
    expect((await access.lookup('XX12345678', { email: 'sam@example.org' }, 'd')).outcome).toBe('denied');
    expect((await access.lookup('XX12345678', { phone: '0100' }, 'd')).outcome).toBe('denied');
    expect((await access.lookup('XX12345678', {}, 'd')).outcome).toBe('needs_proof');
  });

  it("does not tell a missing order from someone else's", async () => {
    const missing = await access.lookup('QQ00000000', { email: 'alex@example.com' }, 'd');
    const foreign = await access.lookup('AB00000001', { email: 'alex@example.com' }, 'd');
    expect(missing).toEqual(foreign);
  });

  it('lists only orders the proof matches', async () => {
    expect((await access.listMine({ email: 'sam@example.org' }, 'd')).map((o) => o.id)).toEqual([
      'AB00000001',
      'AB00000002',
    ]);
    expect(await access.listMine({}, 'd')).toEqual([]);
  });

  it('matches phone numbers with and without country code, never on a few digits', () => {
    expect(phonesMatch('+86 138 0013 8000', '13800138000')).toBe(true);
    expect(phonesMatch('+1 (555) 0100', '15550100')).toBe(true);
    expect(phonesMatch('+1 555 0100', '100')).toBe(false);
    expect(phonesMatch('+1 555 0100', '+1 555 0101')).toBe(false);
  });

  it('reads a typed e-mail or phone, not an order id', () => {
    expect(proofFromText('it is Alex@Example.com thanks')).toEqual({
      email: 'Alex@Example.com',
      phone: undefined,
    });
    expect(proofFromText('XX12345678 and 138-0013-8000')).toEqual({
      email: undefined,
      phone: '138-0013-8000',
    });
    expect(proofFromText('where is XX12345678')).toEqual({ email: undefined, phone: undefined });
    // A card number is not a phone: it would spend a proof attempt on a number that cannot be theirs.
    expect(proofFromText('my card is 4111 1111 1111 1111 cvv 123, where is XX12345678')).toEqual({
      email: undefined,
      phone: undefined,
    });
    expect(proofFromText('card 4111-1111-1111-1111, phone 138 0013 8000')).toEqual({
      email: undefined,
      phone: '138 0013 8000',
    });
  });
});

describe('REST ERP adapter against an emulated ERP', () => {
  let emulator: ErpEmulator;
  let erp: RestErp;
  // Generous for calls that must succeed on a loaded machine; the hang test uses its own short one.
  const config = (timeoutMs = 5_000): ErpConfig & { rest?: RestErpConfig } =>
    erpConfigSchema.parse({
      driver: 'rest',
      timeoutMs,
      rest: {
        baseUrl: emulator.url,
        auth: {
          type: 'oauth2',
          tokenUrl: `${emulator.url}/oauth/token`,
          clientId: 'hub',
          clientSecret: 's3cret',
        },
        getOrder: { path: '/api/v1/sales-orders/{orderId}', select: '$.data' },
        listOrders: {
          path: '/api/v1/sales-orders?customerEmail={email}&customerPhone={phone}',
          select: '$.data.results[*]',
        },
        fields: {
          id: '$.header.number',
          status: '$.header.state',
          placedAt: '$.header.created',
          deliveredAt: '$.header.closed',
          email: '$.buyer.mail',
          phone: '$.buyer.mobile',
          name: '$.buyer.fullName',
          lines: '$.items[*]',
          lineSku: '$.article',
          lineName: '$.title',
          lineQuantity: '$.qty',
          totalAmount: '$.amount.gross',
          totalCurrency: '$.amount.cur',
          carrier: '$.delivery.forwarder',
          trackingNumber: '$.delivery.trackingId',
          estimatedDelivery: '$.delivery.eta',
        },
        statusMap: { SHIPPED_PARTIAL: 'shipped', CLOSED: 'delivered' },
      },
    });
  beforeAll(async () => {
    emulator = await startErpEmulator({ clientId: 'hub', clientSecret: 's3cret' });
  });
  beforeEach(async () => {
    erp = (await createErp(config())) as RestErp;
  });
  afterAll(async () => emulator?.close());

  it('maps an order by JSONPath, with one OAuth2 token for many calls', async () => {
    const before = emulator.tokensIssued;
    const order = await erp.getOrder('XX12345678', ctx);
    expect(order).toEqual({
      id: 'XX12345678',
      status: 'shipped',
      placedAt: '2026-10-28T09:14:00Z',
      customer: { email: 'Alex@Example.com', phone: '+1 555 0100', name: 'Alex Demo' },
      lines: [{ sku: 'KB-01', name: 'Mechanical keyboard', quantity: 1 }],
      total: { amount: 89, currency: 'USD' },
      shipment: { carrier: 'DHL', trackingNumber: 'JD014600003828', estimatedDelivery: '2026-11-03' },
      deliveredAt: undefined,
    });
    await erp.getOrder('AB00000002', ctx);
    expect(emulator.tokensIssued - before).toBe(1);
    expect(emulator.requests.at(-1)?.authorization).toMatch(/^Bearer tok-/);
  });

  it('lists by customer and answers undefined for an unknown order', async () => {
    expect((await erp.listOrders({ email: 'alex@example.com' }, ctx)).map((o) => o.id)).toEqual([
      'XX12345678',
    ]);
    expect(await erp.getOrder('QQ00000000', ctx)).toBeUndefined();
    const eligibility = await erp.returnEligibility('AB00000002', ctx);
    expect(eligibility.reason).toBe('window_closed');
  });

  it('fetches a new token once when the ERP rejects the cached one', async () => {
    await erp.getOrder('XX12345678', ctx);
    const before = emulator.tokensIssued;
    emulator.revokeTokens();
    expect((await erp.getOrder('XX12345678', ctx))?.id).toBe('XX12345678');
    expect(emulator.tokensIssued - before).toBe(1);
  });

  it('turns 429, 5xx and a hang into retryable coded errors', async () => {
    await erp.getOrder('XX12345678', ctx); // token first, so failures hit the API call
    emulator.fail({ status: 429, retryAfter: 3 });
    const limited = await failure(erp.getOrder('XX12345678', ctx));
    expect([limited.code, limited.retryable, limited.retryAfterMs]).toEqual([
      'adapter.rate_limited',
      true,
      3000,
    ]);
    emulator.fail({ status: 503 });
    const down = await failure(erp.getOrder('XX12345678', ctx));
    expect([down.code, down.retryable]).toEqual(['adapter.unavailable', true]);
    const impatient = (await createErp(config(300))) as RestErp;
    await impatient.getOrder('XX12345678', ctx); // its own token first
    emulator.fail({ hang: true });
    const hung = await failure(impatient.getOrder('XX12345678', ctx));
    expect([hung.code, hung.retryable]).toEqual(['adapter.timeout', true]);
  });

  it('refuses wrong client credentials with a non-retryable auth error', async () => {
    const wrong = config();
    if (wrong.rest?.auth.type === 'oauth2') wrong.rest.auth.clientSecret = 'nope';
    const error = await failure((await createErp(wrong)).getOrder('XX12345678', ctx));
    expect(error).toBeInstanceOf(AdapterError);
    expect([error.code, error.retryable]).toEqual(['adapter.auth', false]);
  });

  it('names the fix when a status is not mapped', async () => {
    const unmapped = config();
    if (unmapped.rest) unmapped.rest.statusMap = {};
    const error = await failure((await createErp(unmapped)).getOrder('XX12345678', ctx));
    expect(error.message).toMatch(/SHIPPED_PARTIAL.*erp\.rest\.statusMap/);
  });
});
