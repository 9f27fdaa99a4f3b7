import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErp, erpConfigSchema, type OdooErp } from '../../adapters/erp';
import { OrderAccess } from '../../core/orders/access';
import { type OdooEmulator, startOdooEmulator } from '../emulators/odoo-emulator';
import { callCtx, erpUnderTest, failure } from '../support/adapter-calls';

const ctx = callCtx('read');

describe('Odoo ERP adapter against an emulated Odoo (JSON-RPC)', () => {
  let emulator: OdooEmulator;
  const { config, erp } = erpUnderTest<OdooErp>('odoo', () => ({
    baseUrl: emulator.url,
    db: 'shop',
    login: 'hub@example.com',
    apiKey: 'key-123',
    // Odoo names S00042; customers quote SO00000042.
    orderId: { hubPrefix: 'SO', systemPrefix: 'S', systemDigits: 5 },
    partnerPhoneFields: ['phone', 'mobile'],
    rateLimit: { maxWaitMs: 3_000 },
  }));

  beforeAll(async () => {
    emulator = await startOdooEmulator({ db: 'shop', login: 'hub@example.com', apiKey: 'key-123' });
  });
  afterAll(async () => emulator?.close());

  it('maps a sale order with partner, lines, total and its outgoing delivery', async () => {
    const odoo = await erp();
    expect(await odoo.getOrder('SO00000042', ctx)).toEqual({
      id: 'SO00000042',
      status: 'shipped',
      placedAt: '2026-10-28T09:14:00Z',
      customer: { email: 'Alex@Example.com', phone: '+1 555-0100', name: 'Alex Demo' },
      lines: [
        { sku: 'KB-01', name: 'Mechanical keyboard', quantity: 1 },
        { sku: '', name: 'Gift wrap', quantity: 2 },
      ],
      total: { amount: 89.5, currency: 'EUR' },
      shipment: {
        carrier: 'DHL Express',
        trackingNumber: 'JD014600003828',
        trackingUrl: 'https://www.dhl.com/track?AWB=JD014600003828',
        status: 'done',
        shippedAt: '2026-10-29T15:30:00Z',
      },
      deliveredAt: undefined,
    });
    // One login for many calls.
    await odoo.getOrder('SO00000043', ctx);
    expect(emulator.calls.filter((c) => c.method === 'authenticate')).toHaveLength(1);
  });

  it('maps quotation and cancelled states, and the ownership check works on the result', async () => {
    const odoo = await erp();
    expect((await odoo.getOrder('SO00000043', ctx))?.status).toBe('pending');
    expect((await odoo.getOrder('SO00000044', ctx))?.status).toBe('cancelled');
    const access = new OrderAccess(odoo, 5_000);
    expect((await access.lookup('SO00000042', { phone: '+1 555 0199' }, 'd')).outcome).toBe('denied');
    expect((await access.lookup('SO00000042', { phone: '+1 555 0100' }, 'd')).outcome).toBe('shown');
    expect((await access.lookup('SO00000042', { email: 'sam@example.org' }, 'd')).outcome).toBe('denied');
  });

  it("lists a customer's orders by e-mail or by any configured phone field, newest first", async () => {
    const odoo = await erp();
    expect((await odoo.listOrders({ email: 'alex@EXAMPLE.com' }, ctx)).map((o) => o.id)).toEqual([
      'SO00000043',
      'SO00000042',
    ]);
    expect((await odoo.listOrders({ phone: '+44 20 7946 0000' }, ctx)).map((o) => o.id)).toEqual([
      'SO00000044',
    ]);
    // Same last four digits, different number: found by the loose search, dropped by the exact match.
    expect(await odoo.listOrders({ phone: '+49 30 1234 0100' }, ctx)).toEqual([]);
    expect(await odoo.listOrders({}, ctx)).toEqual([]);
  });

  it('answers undefined for an unknown order (an empty search) and for ids of another format', async () => {
    const odoo = await erp();
    expect(await odoo.getOrder('SO00000999', ctx)).toBeUndefined();
    const before = emulator.calls.length;
    expect(await odoo.getOrder('XX12345678', ctx)).toBeUndefined();
    expect(emulator.calls.length).toBe(before);
    expect(await odoo.returnEligibility('SO00000999', ctx)).toEqual({ eligible: false, reason: 'not_found' });
  });

  it('reports a validated delivery as delivered when configured, and decides return eligibility', async () => {
    const odoo = (await createErp(
      erpConfigSchema.parse({ ...config({ doneMeansDelivered: true }), returnWindowDays: 30 }),
    )) as OdooErp;
    const order = await odoo.getOrder('SO00000042', ctx);
    expect([order?.status, order?.deliveredAt]).toEqual(['delivered', '2026-10-29T15:30:00Z']);
    expect((await odoo.returnEligibility('SO00000042', ctx)).reason).toMatch(/^(eligible|window_closed)$/);
  });

  it('finds orders by the customer reference when that field holds the id', async () => {
    const odoo = await erp({ orderId: { field: 'client_order_ref' } });
    expect((await odoo.getOrder('WEB-9', ctx))?.lines).toHaveLength(2);
  });

  it('refuses a wrong API key with a non-retryable auth error that names the fix', async () => {
    const error = await failure((await erp({ apiKey: 'wrong' })).getOrder('SO00000042', ctx));
    expect([error.code, error.retryable]).toEqual(['adapter.auth', false]);
    expect(error.message).toMatch(/erp\.odoo\.apiKey/);
    expect(error.message).not.toMatch(/wrong/);
  });

  it("turns Odoo's AccessDenied error object into an auth error and logs in again next time", async () => {
    const odoo = await erp();
    await odoo.getOrder('SO00000042', ctx);
    emulator.fail({ rpcError: { name: 'odoo.exceptions.AccessDenied', message: 'Access Denied' } });
    const error = await failure(odoo.getOrder('SO00000042', ctx));
    expect([error.code, error.retryable]).toEqual(['adapter.auth', false]);
    const logins = emulator.calls.filter((c) => c.method === 'authenticate').length;
    expect((await odoo.getOrder('SO00000042', ctx))?.id).toBe('SO00000042');
    expect(emulator.calls.filter((c) => c.method === 'authenticate').length).toBe(logins + 1);
  });

  it('waits out a 429 Retry-After, then succeeds', async () => {
    const odoo = await erp();
    await odoo.getOrder('SO00000042', ctx);
    emulator.fail({ status: 429, retryAfter: 1 });
    const started = performance.now();
    expect((await odoo.getOrder('SO00000042', ctx))?.id).toBe('SO00000042');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('does not sit out a Retry-After longer than configured', async () => {
    const odoo = await erp();
    emulator.fail({ status: 429, retryAfter: 60 });
    const error = await failure(odoo.getOrder('SO00000042', ctx));
    expect([error.code, error.retryable, error.retryAfterMs]).toEqual(['adapter.rate_limited', true, 60_000]);
  });

  it('turns 5xx and server exceptions into retryable errors', async () => {
    const odoo = await erp();
    await odoo.getOrder('SO00000042', ctx);
    emulator.fail({ status: 503 });
    const down = await failure(odoo.getOrder('SO00000042', ctx));
    expect([down.code, down.retryable]).toEqual(['adapter.unavailable', true]);
    emulator.fail({
      rpcError: { name: 'psycopg2.OperationalError', message: 'server closed the connection' },
    });
    const db = await failure(odoo.getOrder('SO00000042', ctx));
    expect([db.code, db.retryable]).toEqual(['adapter.unavailable', true]);
  });

  it('gives up with a timeout error when Odoo does not answer', async () => {
    const odoo = await erp({}, 300);
    await odoo.getOrder('SO00000042', ctx);
    emulator.fail({ hang: true });
    const started = performance.now();
    const error = await failure(odoo.getOrder('SO00000042', ctx));
    expect([error.code, error.retryable]).toEqual(['adapter.timeout', true]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('names the fix when the Delivery module is missing, and works without tracking', async () => {
    const bare = await startOdooEmulator({
      db: 'shop',
      login: 'hub@example.com',
      apiKey: 'key-123',
      missingFields: { 'stock.picking': ['carrier_id', 'carrier_tracking_ref', 'carrier_tracking_url'] },
    });
    try {
      const base = config();
      const odoo = base.odoo as NonNullable<typeof base.odoo>;
      const error = await failure(
        (await createErp({ ...base, odoo: { ...odoo, baseUrl: bare.url } })).getOrder('SO00000042', ctx),
      );
      expect([error.code, error.retryable]).toEqual(['adapter.invalid', false]);
      expect(error.message).toMatch(/erp\.odoo\.tracking: false/);
      const plain = await createErp({ ...base, odoo: { ...odoo, baseUrl: bare.url, tracking: false } });
      expect((await plain.getOrder('SO00000042', ctx))?.shipment).toEqual({
        carrier: undefined,
        trackingNumber: undefined,
        trackingUrl: undefined,
        status: 'done',
        shippedAt: '2026-10-29T15:30:00Z',
      });
    } finally {
      await bare.close();
    }
  });

  it('fails fast on a config without the odoo block', () => {
    expect(() => erpConfigSchema.parse({ driver: 'odoo' })).toThrow(
      /erp\.odoo\.baseUrl, db, login and apiKey/,
    );
  });

  it('maps an unexpected 409 to a retryable conflict and a 422 to a non-retryable invalid request', async () => {
    const odoo = await erp();
    emulator.fail({ status: 409 });
    const conflict = await failure(odoo.getOrder('SO00000042', ctx));
    expect([conflict.code, conflict.retryable]).toEqual(['adapter.conflict', true]);
    emulator.fail({ status: 422 });
    const invalid = await failure(odoo.getOrder('SO00000042', ctx));
    expect([invalid.code, invalid.retryable]).toEqual(['adapter.invalid', false]);
  });
});
