import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SapErp } from '../../adapters/erp';
import { type SapEmulator, startSapEmulator } from '../emulators/sap-emulator';
import { callCtx, erpUnderTest, failure } from '../support/adapter-calls';

const ctx = callCtx('read');

describe('SAP S/4HANA ERP adapter against an emulated OData v2 service', () => {
  let emulator: SapEmulator;
  const { erp } = erpUnderTest<SapErp>('sap', () => ({
    baseUrl: emulator.url,
    client: '100',
    auth: { type: 'basic', username: 'HUB_COMM_USER', password: 's3cret' },
    // SAP numbers 12345; customers quote SO00012345.
    orderId: { hubPrefix: 'SO' },
    rateLimit: { maxWaitMs: 3_000 },
  }));

  beforeAll(async () => {
    emulator = await startSapEmulator({ username: 'HUB_COMM_USER', password: 's3cret', client: '100' });
  });
  afterAll(async () => emulator?.close());

  it('maps a sales order with items and the sold-to party’s e-mail and phone', async () => {
    const sap = await erp();
    expect(await sap.getOrder('SO00012345', ctx)).toEqual({
      id: 'SO00012345',
      status: 'shipped',
      placedAt: '2026-10-28T00:00:00.000Z',
      customer: { email: 'Alex@Example.com', phone: '+15550100', name: 'Alex Demo' },
      lines: [{ sku: 'KB-01', name: 'Mechanical keyboard', quantity: 2 }],
      total: { amount: 89, currency: 'EUR' },
      shipment: { status: 'shipped' },
    });
    const call = emulator.requests.find((r) => r.path.endsWith("A_SalesOrder('12345')"));
    expect(call?.query.get('$expand')).toBe('to_Item');
    expect(call?.query.get('sap-client')).toBe('100');
  });

  it('maps processing, delivery and rejection codes, with overrides from statusMap', async () => {
    const sap = await erp();
    expect((await sap.getOrder('SO00012346', ctx))?.status).toBe('confirmed');
    const delivered = await sap.getOrder('SO00012347', ctx);
    expect([delivered?.status, delivered?.total]).toEqual(['delivered', { amount: 15.5, currency: 'GBP' }]);
    // The mobile number wins over the landline; the default e-mail over the first.
    expect(delivered?.customer).toEqual({
      email: 'sam@example.org',
      phone: '+447946000000',
      name: 'Sam Sample',
    });
    expect((await sap.getOrder('SO00012348', ctx))?.status).toBe('cancelled');
    const overridden = await erp({ statusMap: { 'B/C': 'processing' } });
    expect((await overridden.getOrder('SO00012345', ctx))?.status).toBe('processing');
  });

  it('finds an order by the customer reference (PurchaseOrderByCustomer)', async () => {
    const sap = await erp({ orderId: { field: 'PurchaseOrderByCustomer' } });
    const order = await sap.getOrder('XX12345678', ctx);
    expect([order?.id, order?.status]).toEqual(['XX12345678', 'shipped']);
    expect(emulator.requests.at(-2)?.query.get('$filter')).toBe("PurchaseOrderByCustomer eq 'XX12345678'");
  });

  it("lists a customer's orders by e-mail, newest first; phone alone finds nothing", async () => {
    const sap = await erp();
    expect((await sap.listOrders({ email: 'Alex@Example.com' }, ctx)).map((o) => o.id)).toEqual([
      'SO00012346',
      'SO00012345',
    ]);
    expect(await sap.listOrders({ email: 'nobody@example.com' }, ctx)).toEqual([]);
    expect(await sap.listOrders({ phone: '+1 555 0100' }, ctx)).toEqual([]);
  });

  it('answers undefined for an unknown order (404), and an empty contact for an unknown partner', async () => {
    const sap = await erp();
    expect(await sap.getOrder('SO00099999', ctx)).toBeUndefined();
    expect(await sap.getOrder('XX12345678', ctx)).toBeUndefined();
    expect((await sap.getOrder('SO00012349', ctx))?.customer).toEqual({});
    const plain = await erp({ contacts: 'none' });
    const before = emulator.requests.length;
    expect((await plain.getOrder('SO00012345', ctx))?.customer).toEqual({});
    expect(emulator.requests.length - before).toBe(1);
  });

  it('refuses wrong credentials with a non-retryable auth error that names the fix', async () => {
    const sap = await erp({ auth: { type: 'basic', username: 'HUB_COMM_USER', password: 'nope' } });
    const error = await failure(sap.getOrder('SO00012345', ctx));
    expect([error.code, error.retryable, error.status]).toEqual(['adapter.auth', false, 401]);
    expect(error.message).toMatch(/SAP credentials/);
  });

  it('waits out a 429 Retry-After, then succeeds', async () => {
    const sap = await erp();
    emulator.fail({ status: 429, retryAfter: 1 });
    const started = performance.now();
    expect((await sap.getOrder('SO00012345', ctx))?.id).toBe('SO00012345');
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('turns 5xx into a retryable error and a hang into a timeout', async () => {
    const sap = await erp({}, 300);
    emulator.fail({ status: 502 });
    const down = await failure(sap.getOrder('SO00012345', ctx));
    expect([down.code, down.retryable]).toEqual(['adapter.unavailable', true]);
    emulator.fail({ hang: true });
    const started = performance.now();
    const hung = await failure(sap.getOrder('SO00012345', ctx));
    expect([hung.code, hung.retryable]).toEqual(['adapter.timeout', true]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('stops a Retry-After wait when the caller’s deadline passes', async () => {
    const sap = await erp({ rateLimit: { maxWaitMs: 10_000 } });
    emulator.fail({ status: 429, retryAfter: 5 });
    const started = performance.now();
    const error = await failure(sap.getOrder('SO00012345', { ...ctx, signal: AbortSignal.timeout(400) }));
    expect([error.code, error.retryable]).toEqual(['adapter.timeout', true]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('fails fast on a status map value the hub does not know', async () => {
    await expect(erp({ statusMap: { 'C/C': 'done' } })).rejects.toThrow(
      /erp\.sap\.statusMap\["C\/C"\].*one of/,
    );
  });

  it('maps an unexpected 409 to a retryable conflict and a 422 to a non-retryable invalid request', async () => {
    const sap = await erp({}, 300);
    emulator.fail({ status: 409 });
    const conflict = await failure(sap.getOrder('SO00012345', ctx));
    expect([conflict.code, conflict.retryable]).toEqual(['adapter.conflict', true]);
    emulator.fail({ status: 422 });
    const invalid = await failure(sap.getOrder('SO00012345', ctx));
    expect([invalid.code, invalid.retryable]).toEqual(['adapter.invalid', false]);
  });
});
