import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../../core/channels/types';
import { hubConfigSchema } from '../../core/config/schema';
import { buildServer } from '../../core/http/server';
import { createStore, type KyselyStore } from '../../core/store';
import { HubError } from '../../core/types';

/** An operator's file download is on the audit trail before the bytes leave; a refused one is not. */
const config = hubConfigSchema.parse({ database: { driver: 'pglite', dataDir: 'memory://' } });
let store: KyselyStore;
let app: FastifyInstance;

// A throw-away channel with files, defined here: the route, not a platform, is under test.
const filesChannel: Connector = {
  id: 'files',
  type: 'test-files',
  register: async () => {},
  fetchFile: async ({ fileId }) => {
    if (fileId !== 'receipt-1') throw new HubError('file.not_found', 'No such file', { status: 404 });
    return {
      body: Buffer.from('%PDF-1.7 receipt'),
      mimeType: 'application/pdf',
      name: 'receipt.pdf',
      size: 16,
    };
  },
};

beforeAll(async () => {
  delete process.env.HUB_ADMIN_TOKEN;
  store = await createStore(config);
  app = await buildServer({ config, connectors: [filesChannel], readiness: [], audit: store });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await store?.close();
});

describe('GET /admin/channels/<id>/files/<fileId> on the audit trail', () => {
  it('records who downloaded which file', async () => {
    const response = await app.inject({ method: 'GET', url: '/admin/channels/files/files/receipt-1' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('%PDF-1.7 receipt');
    const [record, ...more] = await store.auditTrail({ subject: 'file:files:receipt-1' });
    expect(more).toHaveLength(0);
    expect(record).toMatchObject({
      actor: 'admin-token',
      action: 'operator.file.download',
      details: { channel: 'files', name: 'receipt.pdf', size: 16, mimeType: 'application/pdf' },
    });
    expect(await store.auditLog.verify()).toMatchObject({ ok: true, checked: 1 });
  });

  it('records nothing for a file that was not served', async () => {
    const response = await app.inject({ method: 'GET', url: '/admin/channels/files/files/nope' });
    expect(response.statusCode).toBe(404);
    expect(await store.auditTrail({ subject: 'file:files:nope' })).toEqual([]);
  });
});
