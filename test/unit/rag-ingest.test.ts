import { mkdir, mkdtemp, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerKnowledgeCommands } from '../../app/commands/knowledge';
import { parseConfig } from '../../core/config/load';
import { HashEmbedder } from '../../core/rag/hash-embedder';
import { createKnowledge } from '../../core/rag/index';
import { formatSummary, ingest } from '../../core/rag/ingest/ingest';
import { KnowledgeStore } from '../../core/rag/ingest/store';
import { ElasticsearchRetriever } from '../../core/rag/retrievers/elasticsearch/retriever';
import { createElasticsearchEmulator } from '../emulators/elasticsearch-emulator';

/** A one-page PDF with a Type1 font and one line of text, with a correct xref table. */
function tinyPdf(title: string, text: string): Buffer {
  const content = `BT /F1 12 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Title (${title}) >>`,
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

const HTML = `<!doctype html><html lang="en-GB"><head><title>Care guide</title>
<link rel="canonical" href="https://shop.example/care"><meta name="keywords" content="care, washing">
<script>var tracking = 1;</script></head><body><nav>Home | Shop</nav>
<h1>Care guide</h1><p>Look after your things.</p>
<h2>How do I wash the jacket?</h2><p>Wash it <b>cold</b> and hang it to dry.</p><ul><li>No bleach</li><li>No tumble dryer</li></ul>
<h2>Can I iron the shirt?</h2><p>Iron on low heat, inside out.</p><footer>© Shop</footer></body></html>`;

const CSV = `question,answer,tags,url
Do you sell gift cards?,"Yes, from ¥50 to ¥2000.",gifts;cards,https://shop.example/gift
Do gift cards expire?,They never expire.,gifts,
`;

const JSON_FAQ = JSON.stringify([
  { question: '礼品卡可以退款吗？', answer: '礼品卡售出后不可退款。', tags: ['礼品卡'], id: 'gift-refund' },
]);

describe('hub kb ingest', () => {
  let root: string;
  let docs: string;
  let store: KnowledgeStore;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'kb-ingest-'));
    docs = path.join(root, 'docs');
    await mkdir(path.join(docs, 'faq'), { recursive: true });
    await writeFile(path.join(docs, 'care.html'), HTML);
    await writeFile(
      path.join(docs, 'notes.txt'),
      'Opening hours\n\nThe shop opens at 9 every day.\n\n# not a heading',
    );
    await writeFile(path.join(docs, 'faq', 'gifts.csv'), CSV);
    await writeFile(path.join(docs, 'faq', 'gifts-zh.json'), JSON_FAQ);
    await writeFile(
      path.join(docs, 'manual.pdf'),
      tinyPdf('Kettle manual', 'Descale the kettle every month.'),
    );
    await writeFile(
      path.join(docs, 'policy.md'),
      '---\nid: policy\ntitle: Policy\nurl: https://shop.example/policy\ntags: [policy]\n---\n# Policy\n\n## Price match {#price-match}\n\nWe match any lower price within 7 days.\n',
    );
    await writeFile(path.join(docs, 'README.md'), 'This folder is documentation, not knowledge.');
    await mkdir(path.join(docs, '.git'));
    await writeFile(path.join(docs, '.git', 'x.md'), '## Hidden\n\nnever');
    store = new KnowledgeStore(path.join(root, 'store'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('reads every format into chunks with source, title, section, language, tenant, tags, link and time', async () => {
    const summary = await ingest(docs, store, { tenant: 'acme' });
    expect(summary).toMatchObject({ files: 6, unchanged: 0, deleted: [], failed: [] });
    expect(summary.added).toEqual([
      'docs/care.html',
      'docs/faq/gifts-zh.json',
      'docs/faq/gifts.csv',
      'docs/manual.pdf',
      'docs/notes.txt',
      'docs/policy.md',
    ]);
    const { chunks } = await store.read();
    const byId = Object.fromEntries(chunks.map((c) => [c.id, c]));
    expect(Object.keys(byId).sort()).toEqual([
      'docs/care',
      'docs/care#can-i-iron-the-shirt',
      'docs/care#how-do-i-wash-the-jacket',
      'docs/faq/gifts#do-gift-cards-expire',
      'docs/faq/gifts#do-you-sell-gift-cards',
      'docs/faq/gifts-zh#gift-refund',
      'docs/manual#p1',
      'docs/notes',
      'policy#price-match',
    ]);
    expect(byId['docs/care#how-do-i-wash-the-jacket']).toMatchObject({
      title: 'How do I wash the jacket?',
      section: 'how-do-i-wash-the-jacket',
      text: 'Wash it cold and hang it to dry.\n\n- No bleach\n- No tumble dryer',
      language: 'en',
      source: 'docs/care.html',
      tags: ['care', 'washing'],
      tenant: 'acme',
      url: 'https://shop.example/care',
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(byId['docs/care#how-do-i-wash-the-jacket']?.text).not.toMatch(/tracking|Home|©/);
    expect(byId['docs/faq/gifts#do-you-sell-gift-cards']).toMatchObject({
      title: 'Do you sell gift cards?',
      text: 'Yes, from ¥50 to ¥2000.',
      tags: ['gifts', 'cards'],
      url: 'https://shop.example/gift',
    });
    expect(byId['docs/faq/gifts-zh#gift-refund']).toMatchObject({
      title: '礼品卡可以退款吗？',
      language: 'zh',
      tags: ['礼品卡'],
    });
    expect(byId['docs/manual#p1']).toMatchObject({
      title: 'Kettle manual (p. 1)',
      text: 'Descale the kettle every month.',
      source: 'docs/manual.pdf',
    });
    expect(byId['docs/notes']).toMatchObject({
      title: 'notes',
      text: 'Opening hours\n\nThe shop opens at 9 every day.\n\n\\# not a heading',
    });
    expect(byId['policy#price-match']).toMatchObject({
      url: 'https://shop.example/policy',
      tags: ['policy'],
    });
    expect(byId['docs/care']).toMatchObject({ title: 'Care guide', text: 'Look after your things.' });
    expect(formatSummary(summary)).toMatch(
      /^6 file\(s\): 6 added, 0 updated, 0 unchanged, 0 deleted, 0 failed\nchunks: 9 written, 0 removed, 9 in the store/,
    );
  });

  it('re-ingests by content hash: skips unchanged files, replaces changed ones, deletes removed ones', async () => {
    await ingest(docs, store);
    const again = await ingest(docs, store);
    expect(again).toMatchObject({ unchanged: 6, added: [], updated: [], deleted: [], chunksWritten: 0 });
    // Touching a file without changing it is not a change.
    const later = new Date(Date.now() + 60_000);
    await utimes(path.join(docs, 'notes.txt'), later, later);
    expect((await ingest(docs, store)).unchanged).toBe(6);

    await writeFile(
      path.join(docs, 'faq', 'gifts.csv'),
      'question,answer\nDo gift cards expire?,After five years.\n',
    );
    await unlink(path.join(docs, 'manual.pdf'));
    const changed = await ingest(docs, store);
    expect(changed).toMatchObject({
      updated: ['docs/faq/gifts.csv'],
      deleted: ['docs/manual.pdf'],
      unchanged: 4,
      chunksWritten: 1,
      chunksRemoved: 2,
    });
    const { chunks, manifest } = await store.read();
    expect(chunks.map((c) => c.id)).not.toContain('docs/faq/gifts#do-you-sell-gift-cards');
    expect(chunks.map((c) => c.id)).not.toContain('docs/manual#p1');
    expect(chunks.find((c) => c.id === 'docs/faq/gifts#do-gift-cards-expire')?.text).toBe(
      'After five years.',
    );
    expect(
      Object.values(manifest.documents)
        .map((d) => d.source)
        .sort(),
    ).toEqual([
      'docs/care.html',
      'docs/faq/gifts-zh.json',
      'docs/faq/gifts.csv',
      'docs/notes.txt',
      'docs/policy.md',
    ]);

    // Ingesting one file never deletes its siblings.
    expect((await ingest(path.join(docs, 'policy.md'), store)).deleted).toEqual([]);
  });

  it('reports a broken file, keeps its previous chunks, and ingests the rest', async () => {
    await ingest(docs, store);
    await writeFile(
      path.join(docs, 'faq', 'gifts-zh.json'),
      '{"entries": [{"question": "only a question"}]}',
    );
    await writeFile(path.join(docs, 'new.md'), '## New entry\n\nFresh content.');
    const summary = await ingest(docs, store);
    expect(summary.failed).toEqual([
      {
        source: 'docs/faq/gifts-zh.json',
        error: 'entry 1 needs both "question" and "answer"',
      },
    ]);
    expect(summary.added).toEqual(['docs/new.md']);
    const ids = (await store.read()).chunks.map((c) => c.id);
    expect(ids).toContain('docs/faq/gifts-zh#gift-refund');
    expect(ids).toContain('docs/new#new-entry');
  });

  it('reaches a running embedded hub, and sends only the delta to Elasticsearch', async () => {
    const config = parseConfig({ knowledge: { dir: path.join(root, 'empty'), storeDir: store.dir } }, {});
    await mkdir(path.join(root, 'empty'));
    const knowledge = await createKnowledge(config, { watchMs: 20 });
    try {
      expect(await knowledge.index.count()).toBe(0);
      await ingest(docs, store);
      await expect.poll(() => knowledge.index.count(), { timeout: 3000, interval: 25 }).toBe(9);
      const [best] = await knowledge.retriever.search('how do I wash the jacket', { k: 1, language: 'en' });
      expect(best).toMatchObject({
        id: 'docs/care#how-do-i-wash-the-jacket',
        url: 'https://shop.example/care',
      });
    } finally {
      await knowledge.close();
    }

    const es = createElasticsearchEmulator();
    const index = new ElasticsearchRetriever({
      client: es.client,
      embedder: new HashEmbedder(64),
      alias: 'kb',
    });
    await index.replaceAll((await store.read()).chunks);
    await writeFile(path.join(docs, 'notes.txt'), 'The shop opens at 10 now.');
    await unlink(path.join(docs, 'care.html'));
    const bulksBefore = es.requests.filter((r) => r.path === '/_bulk').length;
    await ingest(docs, store, { index });
    const bulks = es.requests
      .filter((r) => r.path === '/_bulk')
      .slice(bulksBefore)
      .map((r) => (r.body as object[]).filter((line) => 'delete' in line || 'index' in line));
    expect(bulks).toEqual([
      [
        { delete: { _index: 'kb', _id: 'docs/care' } },
        { delete: { _index: 'kb', _id: 'docs/care#how-do-i-wash-the-jacket' } },
        { delete: { _index: 'kb', _id: 'docs/care#can-i-iron-the-shirt' } },
      ],
      [{ index: { _index: 'kb', _id: 'docs/notes' } }],
    ]);
    expect(await index.count()).toBe(6);
  });

  it('runs as `hub kb ingest` with a summary, and `hub kb eval` prints its table', async () => {
    const configFile = path.join(root, 'hub.yaml');
    await mkdir(path.join(root, 'none'));
    await writeFile(configFile, `knowledge:\n  dir: ${path.join(root, 'none')}\n  storeDir: ${store.dir}\n`);
    const labelled = path.join(root, 'labelled.jsonl');
    await writeFile(
      labelled,
      `${JSON.stringify({ query: 'how do I wash the jacket', language: 'en', relevant: ['docs/care#how-do-i-wash-the-jacket'] })}\n${JSON.stringify({ query: '礼品卡能退款吗', language: 'zh', relevant: ['docs/faq/gifts-zh#gift-refund'] })}\n`,
    );
    // The commands as `hub` registers them, run in-process (a child process costs seconds of start-up).
    const hub = (...args: string[]) => {
      const program = new Command('hub').exitOverride();
      registerKnowledgeCommands(program);
      return program.parseAsync(args, { from: 'user' });
    };
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await hub('kb', 'ingest', docs, '-c', configFile);
      const printed = () => log.mock.calls.map((call) => call.join(' ')).join('\n');
      expect(printed()).toMatch(/6 file\(s\): 6 added, 0 updated, 0 unchanged, 0 deleted, 0 failed/);
      log.mockClear();
      await hub('kb', 'eval', labelled, '-c', configFile);
      expect(printed()).toMatch(
        /^set\s+answerable\s+R@1\s+R@5\s+R@10\s+MRR\s+unanswerable\s+refused\s+wrong\s+unans\. refused\s+precision\s+coverage\s+AUROC\nall\s+2\s+1\.000\s+1\.000\s+1\.000\s+1\.000\s+0\s+0\s+0\s+0\s+1\.000\s+1\.000\s+-\n/,
      );
      log.mockClear();
      await hub('kb', 'search', '礼品卡能退款吗', '-c', configFile, '-k', '1');
      expect(printed()).toMatch(/^0\.\d{3} {2}docs\/faq\/gifts-zh#gift-refund {2}礼品卡可以退款吗？$/);
    } finally {
      log.mockRestore();
    }
  });
});
