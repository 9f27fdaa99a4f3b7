import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsStore, type TurnFact } from '../../core/analytics';
import { parseConfig } from '../../core/config/load';
import {
  clusterByCentroid,
  entryChunks,
  KnowledgeDraftStore,
  KnowledgeGaps,
} from '../../core/knowledge-gaps';
import { PiiMasker } from '../../core/privacy/mask';
import { createKnowledge, HashEmbedder, type KnowledgeSource } from '../../core/rag';
import type { InboundEvent, KnowledgeChunk, OutboundMessage } from '../../core/types';
import { createElasticsearchEmulator } from '../emulators/elasticsearch-emulator';
import { openTestStore, type TestStore } from '../support/postgres';

/** Clustering, the gap report on facts and messages written directly, drafts, and a knowledge source. */

const T0 = Date.parse('2026-11-02T08:00:00Z');
const MIN = 60_000;

let test: TestStore;
let analytics: AnalyticsStore;
let root: string;

beforeAll(async () => {
  test = await openTestStore('pglite');
  analytics = new AnalyticsStore(test.store.db, 30, randomBytes(32));
  root = await mkdtemp(path.join(tmpdir(), 'kb-gaps-'));
});

afterAll(async () => {
  await test?.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('clusterByCentroid', () => {
  const v = (...values: number[]) => {
    const norm = Math.hypot(...values);
    return { vector: values.map((x) => x / norm) };
  };

  it('groups by cosine to the moving centroid, deterministically, with the most central member as representative', () => {
    const items = [v(1, 0, 0), v(0.9, 0.1, 0), v(0, 1, 0), v(0.95, 0.05, 0), v(0, 0.9, 0.1)];
    const clusters = clusterByCentroid(items, 0.8);
    expect(clusters.map((c) => c.items.map((i) => items.indexOf(i)))).toEqual([
      [0, 1, 3],
      [2, 4],
    ]);
    expect(items.indexOf(clusters[0]?.representative as (typeof items)[number])).toBe(3);
    expect(clusterByCentroid(items, 0.8)).toEqual(clusters);
    // A threshold above every similarity keeps each item alone.
    expect(clusterByCentroid(items, 1.01)).toHaveLength(5);
  });
});

let seq = 0;
function inbound(conversation: string, text: string, minute: number): InboundEvent {
  return {
    id: `gap-e${++seq}`,
    kind: 'message',
    ref: { channel: 'rest', tenant: 'acme', conversation },
    sender: { id: conversation },
    receivedAt: new Date(T0 + minute * MIN).toISOString(),
    text,
  } as InboundEvent;
}

function fact(event: InboundEvent, extra: Partial<TurnFact>): TurnFact {
  return {
    eventId: event.id,
    conversationKey: `rest:acme:${event.ref.conversation}`,
    tenant: 'acme',
    channel: 'rest',
    customer: true,
    language: 'en',
    answerRan: true,
    unanswered: false,
    surveyAsked: false,
    handoff: false,
    withBotBefore: true,
    replies: 1,
    at: new Date(event.receivedAt),
    ...extra,
  };
}

function agentReply(event: InboundEvent, text: string, minute: number): OutboundMessage {
  return {
    id: `gap-out${++seq}`,
    ref: event.ref,
    content: { type: 'text', text },
    createdAt: new Date(T0 + minute * MIN).toISOString(),
    source: 'agent',
  } as OutboundMessage;
}

describe('the gap report', () => {
  it('clusters unanswered and unhelpful questions, masks them, and suggests an agent reply', async () => {
    const store = test.store;
    const asked = async (event: InboundEvent, extra: Partial<TurnFact>) => {
      await store.recordInbound(event);
      await analytics.record(fact(event, extra), new Date(Date.parse(event.receivedAt) + 500));
    };
    // Two customers cannot get an answer about the warranty; one of them reaches an agent.
    const w1 = inbound('c1', 'How long is the warranty on the blender?', 0);
    await asked(w1, { unanswered: true });
    await store.recordOutbound(
      agentReply(w1, 'The blender has a two-year warranty, mail me at help@shop.example', 5),
    );
    const w2 = inbound('c2', 'What warranty does the blender have? My email is ann@example.com', 60 * 24);
    await asked(w2, { unanswered: true });
    // A third was answered, then said "no" to "did that help?": the answered question is the gap.
    const w3 = inbound('c3', 'Is there a warranty for my blender?', 60 * 24 + 1);
    await asked(w3, {});
    const no = inbound('c3', 'no', 60 * 24 + 2);
    await asked(no, { answerRan: false, feedback: 'unhelpful' });
    // Another topic, another tenant: neither in acme's blender cluster.
    await asked(inbound('c4', 'Do you sell spare parts for old mixers?', 10), { unanswered: true });

    const gaps = new KnowledgeGaps(store.db, analytics, new HashEmbedder(512), new PiiMasker());
    const report = await gaps.report({ from: '2026-11-01', to: '2026-11-03', tenants: ['acme'] });
    expect(report).toMatchObject({ questions: 4, truncated: false, embedder: 'hash-ngram', similarity: 0.4 });
    const [blender, parts] = report.gaps;
    expect(blender).toMatchObject({ count: 3, unanswered: 2, unhelpful: 1, tenant: 'acme', language: 'en' });
    expect(blender?.trend).toEqual([
      { day: '2026-11-01', count: 0 },
      { day: '2026-11-02', count: 1 },
      { day: '2026-11-03', count: 2 },
    ]);
    expect(blender?.examples).toHaveLength(3);
    expect(blender?.examples[0]).toBe('Is there a warranty for my blender?');
    expect(blender?.examples.join('\n')).not.toContain('ann@example.com');
    expect(blender?.examples.join('\n')).toContain('<EMAIL_1>');
    expect(blender?.suggestedAnswer?.text).toBe('The blender has a two-year warranty, mail me at <EMAIL_1>');
    expect(blender?.questionIds).toHaveLength(3);
    expect(blender?.questionIds.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);
    expect(parts).toMatchObject({ count: 1, question: 'Do you sell spare parts for old mixers?' });
    expect(parts?.suggestedAnswer).toBeUndefined();

    // Out of scope and out of range: nothing.
    expect((await gaps.report({ from: '2026-11-01', to: '2026-11-03', tenants: ['other'] })).gaps).toEqual(
      [],
    );
    expect((await gaps.report({ from: '2026-10-01', to: '2026-10-02' })).gaps).toEqual([]);
  });
});

describe('drafts and the knowledge source', () => {
  it('publishes an entry into a running index at once, and loads it again at the next start', async () => {
    const drafts = new KnowledgeDraftStore(test.store.db);
    const config = parseConfig(
      {
        knowledge: {
          dir: path.join(process.cwd(), 'knowledge'),
          storeDir: path.join(root, 'store'),
          calibration: { enabled: false },
        },
      },
      {},
    );
    const knowledge = await createKnowledge(config, { watchMs: 0, sources: [drafts.source()] });
    const ask = async (q: string) =>
      (await knowledge.retriever.search(q, { tenant: 'acme', language: 'en', k: 1 }))[0];
    try {
      const question = 'How long is the warranty on the blender?';
      expect((await ask(question))?.id ?? '').not.toMatch(/^kb-draft-/);
      const draft = await drafts.create(
        {
          tenant: 'acme',
          language: 'en',
          title: question,
          questions: ['Is there a warranty for my blender?'],
          answer: 'Every blender has a two-year warranty from the day of delivery.',
        },
        { actor: 'operator:1', name: 'Amy Agent' },
      );
      const before = await drafts.version();
      const published = await drafts.publish(draft.id, { actor: 'operator:2', name: 'Sam Supervisor' });
      expect(published).toMatchObject({
        status: 'published',
        createdByName: 'Amy Agent',
        reviewedBy: 'operator:2',
        reviewedByName: 'Sam Supervisor',
      });
      // Other processes poll this.
      expect(await drafts.version()).not.toBe(before);
      const hit = await ask('Is there a warranty for my blender?');
      expect(hit).toMatchObject({ id: `kb-draft-${draft.id}#entry`, source: `knowledge-drafts/${draft.id}` });
      expect(hit?.text).toContain('two-year warranty');
      // Another tenant does not see acme's entry.
      const other = await knowledge.retriever.search(question, { tenant: 'globex', language: 'en', k: 3 });
      expect(other.map((p) => p.id)).not.toContain(`kb-draft-${draft.id}#entry`);
      await expect(
        drafts.update(draft.id, { answer: 'changed' }, { actor: 'operator:1', name: 'Amy Agent' }),
      ).rejects.toMatchObject({
        status: 409,
      });
    } finally {
      await knowledge.close();
    }
    // A fresh process: the published entry comes from the table with the folder.
    const again = await createKnowledge(config, { watchMs: 0, sources: [drafts.source()] });
    try {
      expect(again.chunks.some((c) => c.id.startsWith('kb-draft-'))).toBe(true);
    } finally {
      await again.close();
    }
  });

  it("polls a source's version and takes in what another process published", async () => {
    const chunk = (text: string): KnowledgeChunk => ({
      id: 'remote#entry',
      docId: 'remote',
      title: 'Do you repair vintage typewriters?',
      text,
      language: 'en',
      source: 'remote',
      tags: [],
    });
    let version = 1;
    let held: KnowledgeChunk[] = [];
    const source: KnowledgeSource = {
      name: 'remote',
      chunks: async () => held,
      version: async () => String(version),
    };
    const config = parseConfig(
      {
        knowledge: {
          dir: path.join(process.cwd(), 'knowledge'),
          storeDir: path.join(root, 'store2'),
          calibration: { enabled: false },
        },
      },
      {},
    );
    const knowledge = await createKnowledge(config, { watchMs: 50, sources: [source] });
    try {
      const find = async () =>
        (await knowledge.retriever.search('Do you repair vintage typewriters?', { language: 'en', k: 1 }))[0];
      expect((await find())?.id).not.toBe('remote#entry');
      held = [chunk('Yes, our workshop repairs vintage typewriters of every make.')];
      version = 2;
      await expect.poll(async () => (await find())?.id, { timeout: 10_000 }).toBe('remote#entry');
      held = [];
      version = 3;
      await expect.poll(async () => (await find())?.id, { timeout: 10_000 }).not.toBe('remote#entry');
    } finally {
      await knowledge.close();
    }
  });

  it('indexes the sources over an Elasticsearch index that outlives the process', async () => {
    const es = createElasticsearchEmulator({ licence: 'enterprise' });
    let held: KnowledgeChunk[] = [];
    const source: KnowledgeSource = { name: 'drafts', chunks: async () => held, version: async () => '1' };
    const config = parseConfig(
      {
        knowledge: {
          retriever: 'elasticsearch',
          dir: path.join(process.cwd(), 'knowledge'),
          storeDir: path.join(root, 'store3'),
          calibration: { enabled: false },
        },
      },
      {},
    );
    const open = () =>
      createKnowledge(config, {
        watchMs: 0,
        sources: [source],
        embedder: new HashEmbedder(128),
        elasticsearchClient: es.client,
      });
    // The first start builds the cluster (kept open: closing the index closes the shared client).
    const first = await open();
    // The cluster is built now: a later start serves it as it is, and adds what the source holds.
    held = [
      {
        id: 'kb-draft-x#entry',
        docId: 'kb-draft-x',
        title: 'Do you repair vintage typewriters?',
        text: 'Yes, our workshop repairs vintage typewriters of every make.',
        language: 'en',
        source: 'knowledge-drafts/x',
        tags: [],
      },
    ];
    const second = await open();
    try {
      const [hit] = await second.retriever.search('Do you repair vintage typewriters?', {
        language: 'en',
        k: 1,
      });
      expect(hit?.id).toBe('kb-draft-x#entry');
      expect(second.chunks.map((c) => c.id)).toEqual(['kb-draft-x#entry']);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('refuses an entry that is not one entry', () => {
    const base = { id: 'x', tenant: 'acme', language: 'en', title: 'Q?', questions: [] };
    expect(() => entryChunks({ ...base, answer: '' })).toThrow(/needs an answer/);
    expect(() => entryChunks({ ...base, answer: 'a\n## b' })).toThrow(/headings/);
    expect(entryChunks({ ...base, answer: 'A.\n\n### Details\nMore.' })).toHaveLength(1);
  });
});
