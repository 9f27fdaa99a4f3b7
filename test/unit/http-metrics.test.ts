import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { buildServer } from '../../core/http/server';

/** hub_http_request_duration_seconds: one series per method, route pattern and status, never per URL. */
let app: Awaited<ReturnType<typeof buildServer>>;

beforeAll(async () => {
  app = await buildServer({ config: hubConfigSchema.parse({}), connectors: [], readiness: [] });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
});

const series = async () =>
  (await app.inject({ method: 'GET', url: '/metrics' })).body
    .split('\n')
    .filter((line) => line.startsWith('hub_http_request_duration_seconds'));

const count = (lines: string[], labels: string) =>
  Number(
    lines
      .find((line) => line.startsWith(`hub_http_request_duration_seconds_count{${labels}}`))
      ?.split(' ')[1] ?? 0,
  );

describe('HTTP request duration histogram', () => {
  it('labels requests by the route pattern, the method and the status code', async () => {
    const before = await series();
    for (const fileId of ['a1', 'b2', 'c3']) {
      const response = await app.inject({ method: 'GET', url: `/admin/channels/nope/files/${fileId}` });
      expect(response.statusCode).toBe(404);
    }
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const after = await series();
    const files = 'method="GET",route="/admin/channels/:channel/files/:fileId",status_code="404"';
    expect(count(after, files) - count(before, files)).toBe(3);
    const healthz = 'method="GET",route="/healthz",status_code="200"';
    expect(count(after, healthz) - count(before, healthz)).toBe(1);
    expect(after.some((line) => line.includes('/files/a1'))).toBe(false);
    expect(after).toContainEqual(
      expect.stringMatching(
        /^hub_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/healthz"/,
      ),
    );
  });

  it('puts requests that match no route under one label, whatever their URL', async () => {
    const unmatched = 'method="POST",route="unmatched",status_code="404"';
    const before = count(await series(), unmatched);
    for (const url of ['/wp-login.php', '/.env', '/x/y/z'])
      expect((await app.inject({ method: 'POST', url })).statusCode).toBe(404);
    const after = await series();
    expect(count(after, unmatched) - before).toBe(3);
    expect(after.some((line) => line.includes('wp-login'))).toBe(false);
  });

  it('measures how long a request took', async () => {
    const lines = await series();
    const sum = Number(
      lines
        .find((line) =>
          line.startsWith('hub_http_request_duration_seconds_sum{method="GET",route="/healthz"'),
        )
        ?.split(' ')[1],
    );
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(5);
  });
});
