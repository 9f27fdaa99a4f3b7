import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErp, erpConfigSchema, ShopifyErp } from '../../adapters/erp';
import { type ShopifyEmulator, startShopifyEmulator } from '../emulators/shopify-emulator';
import { callCtx, erpUnderTest, failure } from '../support/adapter-calls';

const ctx = callCtx('read');

describe('Shopify ERP adapter against an emulated Admin GraphQL API', () => {
  let emulator: ShopifyEmulator;
  const { config, erp } = erpUnderTest<ShopifyErp>('shopify', () => ({
    shopUrl: emulator.url,
    accessToken: 'shpat_test',
    apiVersion: '2025-10',
    // Shopify names #1001; customers quote SH00001001.
    orderId: { hubPrefix: 'SH', systemPrefix: '#' },
    rateLimit: { maxWaitMs: 3_000 },
  }));

  beforeAll(async () => {
    emulator = await startShopifyEmulator({ accessToken: 'shpat_test', restoreRate: 20 });
  });
  afterAll(async () => emulator?.close());

  it('maps an order found by name, keeping only the exact match of the loose search', async () => {
    const shop = await erp();
    expect(await shop.getOrder('SH00001001', ctx)).toEqual({
      id: 'SH00001001',
      status: 'shipped',
      placedAt: '2026-10-28T09:14:00Z',
      customer: { email: 'Alex@Example.com', phone: '+15550100', name: 'Alex Demo' },
      lines: [
        { sku: 'KB-01', name: 'Mechanical keyboard', quantity: 1 },
        { sku: '', name: 'Gift wrap', quantity: 2 },
      ],
      total: { amount: 89.5, currency: 'EUR' },
      shipment: {
        carrier: 'DHL Express',
        trackingNumber: 'JD014600003828',
        trackingUrl: 'https://www.dhl.com/track?AWB=JD014600003828',
        status: 'IN_TRANSIT',
        shippedAt: '2026-10-29T15:30:00Z',
        estimatedDelivery: '2026-11-03T00:00:00Z',
      },
      deliveredAt: undefined,
    });
    const last = emulator.requests.at(-1);
    expect(last?.path).toBe('/admin/api/2025-10/graphql.json');
    expect(last?.variables.query).toBe('name:"#1001"');
  });

  it('maps cancelled, delivered, payment-pending and unfulfilled orders', async () => {
    const shop = await erp();
    expect((await shop.getOrder('SH00010010', ctx))?.status).toBe('confirmed');
    expect((await shop.getOrder('SH00001002', ctx))?.status).toBe('cancelled');
    const delivered = await shop.getOrder('SH00001003', ctx);
    expect([delivered?.status, delivered?.deliveredAt]).toEqual(['delivered', '2026-08-04T09:00:00Z']);
    expect((await shop.getOrder('SH00001004', ctx))?.status).toBe('pending');
  });

  it('finds an order by a tag holding the hub id', async () => {
    const shop = await erp({ orderId: { field: 'tag' } });
    const order = await shop.getOrder('XX12345678', ctx);
    expect([order?.id, order?.shipment?.trackingNumber]).toEqual(['XX12345678', 'JD014600003828']);
    expect(await shop.getOrder('XX00000000', ctx)).toBeUndefined();
  });

  it("lists a customer's orders by e-mail, or by phone through the customer, newest first", async () => {
    const shop = await erp();
    expect((await shop.listOrders({ email: 'alex@example.com' }, ctx)).map((o) => o.id)).toEqual([
      'SH00010010',
      'SH00001001',
    ]);
    expect((await shop.listOrders({ phone: '+44 7946 000000' }, ctx)).map((o) => o.id)).toEqual([
      'SH00001002',
      'SH00001004',
      'SH00001003',
    ]);
    expect(await shop.listOrders({ phone: '+1 999 000 0000' }, ctx)).toEqual([]);
    expect(await shop.listOrders({}, ctx)).toEqual([]);
  });

  it('answers undefined for an unknown order and for an id of another format', async () => {
    const shop = await erp();
    expect(await shop.getOrder('SH00009999', ctx)).toBeUndefined();
    expect(await shop.getOrder('XX12345678', ctx)).toBeUndefined();
  });

  it('decides return eligibility from the delivery date', async () => {
    const parsed = config();
    const shop = new ShopifyErp(parsed.shopify as NonNullable<typeof parsed.shopify>, parsed, () =>
      Date.parse('2026-08-10T00:00:00Z'),
    );
    expect(await shop.returnEligibility('SH00001003', ctx)).toEqual({
      eligible: true,
      reason: 'eligible',
      until: '2026-09-03',
    });
    expect((await shop.returnEligibility('SH00001001', ctx)).reason).toBe('not_delivered');
  });

  it('refuses a wrong access token with a non-retryable auth error', async () => {
    const error = await failure((await erp({ accessToken: 'shpat_wrong' })).getOrder('SH00001001', ctx));
    expect([error.code, error.retryable, error.status]).toEqual(['adapter.auth', false, 401]);
    expect(error.message).not.toMatch(/shpat_wrong/);
  });

  it('waits for the bucket to refill after a THROTTLED answer, then succeeds', async () => {
    const shop = await erp();
    emulator.drain(0);
    const before = emulator.requests.length;
    const started = performance.now();
    expect((await shop.getOrder('SH00001001', ctx))?.id).toBe('SH00001001');
    const elapsed = performance.now() - started;
    const sent = emulator.requests.slice(before);
    expect(sent.map((r) => r.throttled)).toEqual([true, false]);
    // Query cost 12 at 20 points/second: 600 ms.
    expect(elapsed).toBeGreaterThanOrEqual(550);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('waits out an HTTP 429 Retry-After, then succeeds', async () => {
    const shop = await erp();
    emulator.fail({ status: 429, retryAfter: 1 });
    const started = performance.now();
    expect((await shop.getOrder('SH00001001', ctx))?.id).toBe('SH00001001');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('turns 5xx into a retryable error and a hang into a timeout', async () => {
    const shop = await erp({}, 300);
    emulator.fail({ status: 503 });
    const down = await failure(shop.getOrder('SH00001001', ctx));
    expect([down.code, down.retryable]).toEqual(['adapter.unavailable', true]);
    emulator.fail({ hang: true });
    const started = performance.now();
    const hung = await failure(shop.getOrder('SH00001001', ctx));
    expect([hung.code, hung.retryable]).toEqual(['adapter.timeout', true]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('reports a missing access scope (ACCESS_DENIED) as a non-retryable auth error naming the scope', async () => {
    const narrow = await startShopifyEmulator({ accessToken: 'shpat_test', scopes: ['read_orders'] });
    try {
      const shop = await createErp(config({ shopUrl: narrow.url }));
      const error = await failure(shop.listOrders({ phone: '+15550100' }, ctx));
      expect([error.code, error.retryable]).toEqual(['adapter.auth', false]);
      expect(error.message).toMatch(/read_customers/);
    } finally {
      await narrow.close();
    }
  });

  it('checks the config: an api version of the wrong shape, a missing block', () => {
    expect(() => config({ apiVersion: 'latest' })).toThrow(/2025-10/);
    expect(() => erpConfigSchema.parse({ driver: 'shopify' })).toThrow(
      /erp\.shopify\.shopUrl and accessToken/,
    );
  });

  it('maps an unexpected 409 to a retryable conflict and a 422 to a non-retryable invalid request', async () => {
    const shop = await erp({}, 300);
    emulator.fail({ status: 409 });
    const conflict = await failure(shop.getOrder('SH00001001', ctx));
    expect([conflict.code, conflict.retryable]).toEqual(['adapter.conflict', true]);
    emulator.fail({ status: 422 });
    const invalid = await failure(shop.getOrder('SH00001001', ctx));
    expect([invalid.code, invalid.retryable]).toEqual(['adapter.invalid', false]);
  });
});
