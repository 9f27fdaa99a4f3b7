import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import { DialogEngine, emptyState } from '../../core/dialog/engine';
import { loadDialogKit } from '../../core/dialog/setup';
import { HashEmbedder } from '../../core/rag/hash-embedder';
import { createKnowledge } from '../../core/rag/index';
import { ingest } from '../../core/rag/ingest/ingest';
import { KnowledgeStore } from '../../core/rag/ingest/store';
import type { InboundEvent } from '../../core/types';
import { createElasticsearchEmulator } from '../emulators/elasticsearch-emulator';

/** Ingest → ask → cited answer through the dialog engine, on both retrievers. */
const HTML = `<html lang="en"><head><title>Jacket care</title><link rel="canonical" href="https://shop.example/care"></head>
<body><h2>How do I wash the down jacket?</h2><p>Wash the down jacket at 30 degrees on a gentle cycle, then tumble dry low with two tennis balls.</p></body></html>`;
const CSV =
  'question,answer,url\n羽绒服怎么洗？,羽绒服请用30度温水轻柔洗涤，低温烘干时放两个网球。,https://shop.example/zh/care\n';

let seq = 0;
const ask = (text: string): InboundEvent => ({
  id: `kb-e2e-${seq++}`,
  kind: 'message',
  ref: { channel: 'rest', tenant: 'default', conversation: `c${seq}` },
  sender: { id: 'u1' } as InboundEvent['sender'],
  receivedAt: new Date().toISOString(),
  text,
});

describe('ingest → ask → cited answer', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'kb-e2e-'));
    await mkdir(path.join(root, 'docs'));
    await mkdir(path.join(root, 'empty'));
    await writeFile(path.join(root, 'docs', 'care.html'), HTML);
    await writeFile(path.join(root, 'docs', 'care-zh.csv'), CSV);
    await ingest(path.join(root, 'docs'), new KnowledgeStore(path.join(root, 'store')));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  for (const retriever of ['embedded', 'elasticsearch'] as const) {
    it(`answers from ingested documents with a linked citation, and offers a human otherwise (${retriever})`, async () => {
      const config = parseConfig(
        { knowledge: { retriever, dir: path.join(root, 'empty'), storeDir: path.join(root, 'store') } },
        {},
      );
      // Licensed for the rrf retriever, so its queries are `_search` requests (basic: test/unit/rag-elasticsearch*.ts).
      const es = createElasticsearchEmulator({ licence: 'enterprise' });
      const knowledge = await createKnowledge(config, {
        watchMs: 0,
        embedder: new HashEmbedder(128),
        elasticsearchClient: es.client,
      });
      try {
        expect(knowledge.index.name).toBe(retriever);
        const engine = new DialogEngine({
          config,
          retriever: knowledge.retriever,
          dialog: await loadDialogKit(config),
        });
        const en = await engine.respond(ask('how should I wash my down jacket?'), emptyState('k1'));
        const [reply] = en.replies;
        expect(reply?.content).toMatchObject({ type: 'text', text: expect.stringContaining('30 degrees') });
        expect(reply?.citations).toEqual([
          {
            id: 'docs/care#how-do-i-wash-the-down-jacket',
            title: 'How do I wash the down jacket?',
            source: 'docs/care.html',
            url: 'https://shop.example/care',
          },
        ]);
        const zh = await engine.respond(ask('羽绒服可以机洗吗，怎么洗'), emptyState('k2'));
        expect(zh.replies[0]?.content).toMatchObject({ text: expect.stringContaining('30度') });
        expect(zh.replies[0]?.citations?.[0]?.url).toBe('https://shop.example/zh/care');
        const unknown = await engine.respond(ask('What is the weather in Paris tomorrow?'), emptyState('k3'));
        expect(unknown.replies[0]?.content).toMatchObject({
          text: expect.stringMatching(/don't know.*agent/s),
        });
        expect(unknown.replies[0]?.citations).toEqual([]);
        if (retriever === 'elasticsearch')
          expect(es.requests.some((r) => r.path.endsWith('/_search'))).toBe(true);
      } finally {
        await knowledge.close();
      }
    });
  }
});
