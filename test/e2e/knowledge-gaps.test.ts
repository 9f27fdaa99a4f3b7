import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHub, startHub } from '../../app/hub';
import { utcDay } from '../../core/analytics';
import { hubConfigSchema } from '../../core/config/schema';
import type { KyselyStore } from '../../core/store';

/**
 * Knowledge gaps end to end on a running hub (embedded: PGlite, in-memory bus, extractive answers,
 * the hashed n-gram embedder): scripted questions the bot cannot answer → one gap with their count
 * → a draft → published → the bot answers the question from the new entry.
 */
let hub: RunningHub;
let url: string;

beforeAll(async () => {
  hub = await startHub(
    hubConfigSchema.parse({
      server: { host: '127.0.0.1', port: 0, replyTimeoutMs: 20_000 },
      database: { driver: 'pglite', dataDir: 'memory://' },
      channels: [{ id: 'rest', type: 'rest', auth: 'none', tenant: 'default' }],
    }),
  );
  url = hub.url ?? '';
}, 120_000);

afterAll(async () => {
  await hub?.stop();
});

interface Reply {
  text: string;
  citations?: Array<{ id: string; source: string; title: string }>;
}

async function ask(sender: string, message: string): Promise<Reply[]> {
  const response = await fetch(`${url}/webhooks/rest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sender, message }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Reply[];
}

/** Loopback without operators is the bootstrap admin (core/http/admin-auth.ts). */
interface Gap {
  id: string;
  tenant: string;
  language: string;
  count: number;
  open: number;
  examples: string[];
  questionIds: string[];
  trend: Array<{ day: string; count: number }>;
  drafts: Array<{ id: string; status: string }>;
}

interface AdminBody {
  gaps: Gap[];
  id: string;
  status: string;
}

async function admin(method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as AdminBody };
}

/** The bot's "I don't know" (dialog/messages: policy.dontKnow). */
const NO_ANSWER = /could not find an answer|don't know/i;

const DOG = [
  'Can I bring my dog into the showroom?',
  'Are dogs allowed in your showroom?',
  'Is my dog welcome in the showroom? Call me on 13800138000',
];

describe('knowledge gaps', { timeout: 180_000 }, () => {
  it('clusters unanswered questions, drafts, publishes, and the bot answers from the new entry', async () => {
    for (const [i, question] of DOG.entries()) {
      const [reply] = await ask(`dog-${i}`, question);
      expect(reply?.text).toMatch(NO_ANSWER);
    }
    await ask('other', 'What is the weather in Paris tomorrow?');

    const today = utcDay(new Date());
    const report = await admin('GET', `/admin/knowledge/gaps?from=${today}&to=${today}`);
    expect(report.status).toBe(200);
    const gap = report.body.gaps.find((g) => g.examples.some((e) => e.includes('showroom'))) as Gap;
    expect(gap).toMatchObject({
      count: 3,
      unanswered: 3,
      tenant: 'default',
      language: 'en',
      open: 3,
      drafts: [],
    });
    expect(gap.trend).toEqual([{ day: today, count: 3 }]);
    // Personal data never leaves masked: the phone number is a placeholder.
    expect(JSON.stringify(report.body)).not.toContain('13800138000');
    expect(gap.examples.join('\n')).toMatch(/<PHONE_1>/);
    // The weather question is a gap of its own.
    expect(report.body.gaps.some((g) => g.examples.some((e) => /weather/.test(e)))).toBe(true);

    const created = await admin('POST', '/admin/knowledge/drafts', {
      tenant: gap.tenant,
      language: gap.language,
      title: 'Can I bring my dog into the showroom?',
      questions: gap.examples,
      questionIds: gap.questionIds,
      answer: '',
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('draft');
    // A draft without an answer cannot be published.
    expect((await admin('POST', `/admin/knowledge/drafts/${created.body.id}/publish`, {})).status).toBe(400);
    const edited = await admin('PATCH', `/admin/knowledge/drafts/${created.body.id}`, {
      answer: 'Dogs on a lead are welcome in every showroom; we keep water bowls at the entrance.',
    });
    expect(edited.status).toBe(200);

    // Still unanswered until published.
    expect((await ask('dog-before', 'Are dogs allowed in your showroom?'))[0]?.text).toMatch(NO_ANSWER);

    const published = await admin('POST', `/admin/knowledge/drafts/${created.body.id}/publish`, {});
    expect(published.status).toBe(200);
    expect(published.body).toMatchObject({ status: 'published', reviewedBy: expect.any(String) });
    expect((await admin('POST', `/admin/knowledge/drafts/${created.body.id}/publish`, {})).status).toBe(409);

    const [answer] = await ask('dog-after', 'Are dogs allowed in your showroom?');
    expect(answer?.text).toMatch(/water bowls/);
    expect(answer?.citations?.[0]).toMatchObject({
      id: `kb-draft-${created.body.id}#entry`,
      source: `knowledge-drafts/${created.body.id}`,
    });

    // The gap now names its published draft, and the publish is on the audit trail.
    const after = await admin('GET', `/admin/knowledge/gaps?from=${today}&to=${today}`);
    const same = after.body.gaps.find((g) => g.examples.some((e) => e.includes('showroom')));
    // The question asked before the publish joined the cluster.
    expect(same?.count).toBe(4);
    expect(same?.open).toBe(1);
    expect(same?.drafts).toEqual([{ id: created.body.id, status: 'published' }]);
    const trail = await (hub.store as KyselyStore).auditTrail({
      subject: `knowledge:kb-draft-${created.body.id}#entry`,
    });
    expect(trail?.[0]).toMatchObject({ action: 'operator.knowledge.publish', tenant: 'default' });
  });

  it('refuses bad input with 4xx', async () => {
    expect((await admin('GET', '/admin/knowledge/gaps?from=2026-13-01')).status).toBe(400);
    expect((await admin('GET', '/admin/knowledge/gaps?from=2026-01-01&to=2025-01-01')).status).toBe(400);
    expect((await admin('POST', '/admin/knowledge/drafts', { tenant: 'default' })).status).toBe(400);
    expect(
      (
        await admin('POST', '/admin/knowledge/drafts', {
          tenant: 'default',
          language: 'en',
          title: 'Two entries?',
          answer: 'one\n## two',
        })
      ).status,
    ).toBe(400);
    expect((await admin('GET', '/admin/knowledge/drafts/not-a-uuid')).status).toBe(404);
    expect((await admin('GET', '/admin/knowledge/drafts/00000000-0000-4000-8000-000000000000')).status).toBe(
      404,
    );
  });
});
