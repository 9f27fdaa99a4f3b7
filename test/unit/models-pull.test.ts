import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { embedderSnippet, progressPrinter } from '../../app/commands/models';
import { parseConfig } from '../../core/config/load';
import { findKnownModel, KNOWN_MODELS, type KnownModel } from '../../core/rag/model-catalog';
import { PULL_RECORD, type PullProgress, parseChecksums, pullModel } from '../../core/rag/model-pull';
import { OnnxEmbedder } from '../../core/rag/onnx-embedder';
import { writeTinyModel } from '../support/tiny-onnx';

const ROOT = path.resolve(import.meta.dirname, '../..');
const REVISION = 'a'.repeat(40);
const FILES = ['config.json', 'tokenizer.json', 'onnx/model.onnx'];

/** A Hugging Face endpoint in miniature: `/{repo}/resolve/{revision}/{file}` from a folder, with a switch to alter one file. */
interface FakeHub {
  url: string;
  requests: string[];
  tamper?: string;
  server: Server;
}

let root: string;
let source: string;
let sums: Record<string, string>;
let hub: FakeHub;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function model(overrides: Partial<KnownModel> = {}): KnownModel {
  return {
    name: 'tiny',
    repo: 'test-org/tiny-embedder',
    revision: REVISION,
    files: FILES.map((file) => ({ path: file, sha256: sums[file] })),
    embedder: { pooling: 'mean' },
    licence: 'MIT',
    about: 'test model',
    ...overrides,
  };
}

async function startFakeHub(): Promise<FakeHub> {
  const state: Omit<FakeHub, 'url' | 'server'> & { tamper?: string } = { requests: [] };
  const server = createServer(async (request, response) => {
    state.requests.push(request.url ?? '');
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([0-9a-f]{40})\/(.+)$/.exec(request.url ?? '');
    const file = match?.[3] ? decodeURIComponent(match[3]) : '';
    if (!match || match[2] !== REVISION || file.includes('..') || !existsSync(path.join(source, file))) {
      response.writeHead(404).end('Entry not found');
      return;
    }
    let body = await readFile(path.join(source, file));
    if (state.tamper === file) {
      body = Buffer.from(body);
      body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 0xff;
    }
    response.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { url: `http://127.0.0.1:${port}`, server });
}

/** Nothing but `expected` in the folder the model went to (no `.partial-` or `.old-` leftovers). */
async function siblings(dir: string): Promise<string[]> {
  const names = await readdir(path.dirname(dir)).catch(() => []);
  return names.filter((name) => name.startsWith(path.basename(dir)));
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'hub-pull-'));
  source = path.join(root, 'source');
  await writeTinyModel(source, { words: ['refund', 'order', 'shipping'], dimensions: 8 });
  sums = Object.fromEntries(
    await Promise.all(FILES.map(async (file) => [file, sha256(await readFile(path.join(source, file)))])),
  );
  hub = await startFakeHub();
});

afterAll(async () => {
  await new Promise((resolve) => hub.server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  hub.requests.length = 0;
  hub.tamper = undefined;
});

describe('hub models pull', () => {
  it('downloads each file at the pinned revision, checks it, and leaves a folder the embedder loads', async () => {
    const dir = path.join(root, 'good', 'tiny');
    const events: PullProgress[] = [];
    const result = await pullModel(model(), { dir, endpoint: hub.url, onProgress: (e) => events.push(e) });
    expect(hub.requests).toEqual(FILES.map((file) => `/test-org/tiny-embedder/resolve/${REVISION}/${file}`));
    for (const file of FILES) {
      expect(await readFile(path.join(dir, file))).toEqual(await readFile(path.join(source, file)));
    }
    expect(result.files.map((f) => f.sha256)).toEqual(FILES.map((file) => sums[file]));
    const record = JSON.parse(await readFile(path.join(dir, PULL_RECORD), 'utf8'));
    expect(record).toMatchObject({ repo: 'test-org/tiny-embedder', revision: REVISION, endpoint: hub.url });
    expect(events.filter((e) => e.type === 'verified').map((e) => e.path)).toEqual(FILES);
    const bytes = events.filter((e) => e.type === 'bytes' && e.path === 'onnx/model.onnx');
    expect(bytes.at(-1)).toMatchObject({ received: result.files[2]?.bytes, total: result.files[2]?.bytes });
    expect(await siblings(dir)).toEqual(['tiny']);

    const embedder = new OnnxEmbedder({
      modelDir: dir,
      pooling: 'mean',
      normalize: true,
      queryPrefix: '',
      passagePrefix: '',
      maxLength: 64,
      batchSize: 8,
    });
    expect((await embedder.embed(['refund order']))[0]).toHaveLength(8);
    await embedder.close();
  });

  it('rejects a tampered file with a clear error and writes nothing', async () => {
    hub.tamper = 'onnx/model.onnx';
    const dir = path.join(root, 'tampered', 'tiny');
    const failure = pullModel(model(), { dir, endpoint: hub.url });
    await expect(failure).rejects.toMatchObject({
      code: 'models.checksum',
      message: expect.stringMatching(
        new RegExp(
          `onnx/model\\.onnx from .* has SHA-256 [0-9a-f]{64}, expected ${sums['onnx/model.onnx']}.*nothing was written`,
        ),
      ),
    });
    expect(existsSync(dir)).toBe(false);
    expect(await siblings(dir)).toEqual([]);
  });

  it('a tampered file under --force keeps the folder that was there', async () => {
    const dir = path.join(root, 'kept', 'tiny');
    await pullModel(model(), { dir, endpoint: hub.url });
    const before = await readFile(path.join(dir, 'onnx/model.onnx'));
    hub.tamper = 'tokenizer.json';
    await expect(pullModel(model(), { dir, endpoint: hub.url, force: true })).rejects.toMatchObject({
      code: 'models.checksum',
    });
    expect(await readFile(path.join(dir, 'onnx/model.onnx'))).toEqual(before);
    expect(await siblings(dir)).toEqual(['tiny']);
  });

  it('refuses to overwrite a folder without --force, and replaces it with --force', async () => {
    const dir = path.join(root, 'existing', 'tiny');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'old.txt'), 'old');
    await expect(pullModel(model(), { dir, endpoint: hub.url })).rejects.toMatchObject({
      code: 'models.exists',
    });
    expect(hub.requests).toEqual([]);
    await pullModel(model(), { dir, endpoint: hub.url, force: true });
    expect(existsSync(path.join(dir, 'old.txt'))).toBe(false);
    expect(existsSync(path.join(dir, 'onnx/model.onnx'))).toBe(true);
    expect(await siblings(dir)).toEqual(['tiny']);
  });

  it('downloads nothing without a revision or a checksum for every file', async () => {
    const dir = path.join(root, 'unpinned', 'tiny');
    await expect(pullModel(model({ revision: undefined }), { dir, endpoint: hub.url })).rejects.toMatchObject(
      {
        code: 'models.unpinned',
        message: expect.stringContaining('pass --revision <commit>'),
      },
    );
    const partly = model({
      files: FILES.map((file) => ({ path: file, sha256: file === 'config.json' ? sums[file] : undefined })),
    });
    await expect(pullModel(partly, { dir, endpoint: hub.url })).rejects.toMatchObject({
      code: 'models.unpinned',
      message: expect.stringContaining('tokenizer.json, onnx/model.onnx'),
    });
    // Another revision than the pinned one: the table's checksums do not apply to it.
    await expect(
      pullModel(model(), { dir, endpoint: hub.url, revision: 'b'.repeat(40) }),
    ).rejects.toMatchObject({
      code: 'models.unpinned',
    });
    expect(hub.requests).toEqual([]);
    expect(await siblings(dir)).toEqual([]);
    // Checksums given on the command line complete the table.
    await pullModel(partly, { dir, endpoint: hub.url, checksums: sums });
    expect(existsSync(path.join(dir, 'tokenizer.json'))).toBe(true);
  });

  it('a missing file is a download error and leaves nothing', async () => {
    const dir = path.join(root, 'missing', 'tiny');
    const withExtra = model({ files: [...model().files, { path: 'extra.bin', sha256: 'c'.repeat(64) }] });
    await expect(pullModel(withExtra, { dir, endpoint: hub.url })).rejects.toMatchObject({
      code: 'models.download',
      message: expect.stringContaining('answered 404'),
    });
    expect(await siblings(dir)).toEqual([]);
  });

  it('saves a file under its folder name, and refuses a pinned file announced at another size', async () => {
    const renamed = model({
      files: [
        { path: 'config.json', sha256: sums['config.json'] },
        { path: 'tokenizer.json', sha256: sums['tokenizer.json'] },
        { path: 'onnx/model.onnx', saveAs: 'onnx/quantized-as-model.onnx', sha256: sums['onnx/model.onnx'] },
      ],
    });
    const dir = path.join(root, 'renamed', 'tiny');
    const result = await pullModel(renamed, { dir, endpoint: hub.url });
    expect(existsSync(path.join(dir, 'onnx/quantized-as-model.onnx'))).toBe(true);
    expect(existsSync(path.join(dir, 'onnx/model.onnx'))).toBe(false);
    expect(result.files[2]).toMatchObject({
      path: 'onnx/model.onnx',
      saveAs: 'onnx/quantized-as-model.onnx',
    });

    const size = (await readFile(path.join(source, 'onnx/model.onnx'))).length;
    const wrongSize = model({
      files: FILES.map((file) => ({
        path: file,
        sha256: sums[file],
        ...(file === 'onnx/model.onnx' ? { bytes: size + 1 } : {}),
      })),
    });
    const sized = path.join(root, 'sized', 'tiny');
    await expect(pullModel(wrongSize, { dir: sized, endpoint: hub.url })).rejects.toMatchObject({
      code: 'models.checksum',
      message: expect.stringContaining(`announces ${size} bytes`),
    });
    expect(await siblings(sized)).toEqual([]);
    // The right size passes.
    const rightSize = model({
      files: FILES.map((file) => ({
        path: file,
        sha256: sums[file],
        bytes: file === 'onnx/model.onnx' ? size : undefined,
      })),
    });
    await expect(pullModel(rightSize, { dir: sized, endpoint: hub.url })).resolves.toMatchObject({
      revision: REVISION,
    });
  });

  it('reads sha256sum lines, and the catalogue pins every model and file', () => {
    expect(
      parseChecksums(`# comment\n${'A'.repeat(64)}  onnx/model.onnx\n${'b'.repeat(64)} *./config.json\n`),
    ).toEqual({ 'onnx/model.onnx': 'a'.repeat(64), 'config.json': 'b'.repeat(64) });
    expect(() => parseChecksums('abc  file')).toThrow(/line 1 is not/);
    for (const known of KNOWN_MODELS) {
      // Every model is pinned to one commit, every file to its size and SHA-256 there.
      expect(known.revision).toMatch(/^[0-9a-f]{40}$/);
      for (const file of known.files) {
        expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(file.bytes).toBeGreaterThan(0);
      }
      // The folder has what the embedder reads.
      expect(known.files.map((f) => f.saveAs ?? f.path).sort()).toEqual([
        'config.json',
        'onnx/model.onnx',
        'tokenizer.json',
        'tokenizer_config.json',
      ]);
      expect(new Set(known.files.map((f) => f.sha256)).size).toBe(known.files.length);
    }
    expect(findKnownModel('multilingual-e5-small')?.embedder).toMatchObject({ queryPrefix: 'query: ' });
  });

  it('prints progress by tenths and the config block to paste', () => {
    const lines: string[] = [];
    const print = progressPrinter((line) => lines.push(line));
    print({ type: 'file', path: 'onnx/model.onnx', url: 'u' });
    for (let received = 1; received <= 100; received++) {
      print({ type: 'bytes', path: 'onnx/model.onnx', received: received * 2 ** 20, total: 100 * 2 ** 20 });
    }
    print({ type: 'verified', path: 'onnx/model.onnx', sha256: 'f'.repeat(64), bytes: 100 * 2 ** 20 });
    expect(lines).toHaveLength(12);
    expect(lines[1]).toBe('  onnx/model.onnx: 10.0 MiB / 100.0 MiB');
    expect(lines[11]).toMatch(/100\.0 MiB, SHA-256 f{16}… checked/);
    const e5 = findKnownModel('multilingual-e5-small');
    const snippet = e5 ? embedderSnippet(e5, 'models/e5') : '';
    expect(parseYaml(snippet)).toEqual({
      knowledge: {
        embedder: {
          modelDir: 'models/e5',
          pooling: 'mean',
          queryPrefix: 'query: ',
          passagePrefix: 'passage: ',
        },
      },
    });
    // The block passes the hub's own schema.
    expect(parseConfig(parseYaml(snippet), {}).knowledge.embedder?.queryPrefix).toBe('query: ');
  });

  it('the command pulls a known model from HF_ENDPOINT with --revision and --checksums', async () => {
    const known = findKnownModel('multilingual-e5-small');
    if (!known) throw new Error('multilingual-e5-small is not in the catalogue');
    // The fake hub serves the tiny model's files under the known repository's name.
    const wanted = known.files.map((f) => f.path);
    for (const file of wanted.filter((file) => !FILES.includes(file))) {
      await writeFile(path.join(source, file), '{}');
    }
    const checksums = path.join(root, 'SHA256SUMS');
    const lines = await Promise.all(
      wanted.map(async (file) => `${sha256(await readFile(path.join(source, file)))}  ${file}`),
    );
    await writeFile(checksums, `${lines.join('\n')}\n`);
    const dir = path.join(root, 'cli', 'e5');
    const run = await hubCommand(
      [
        'models',
        'pull',
        'multilingual-e5-small',
        '--dir',
        dir,
        '--revision',
        REVISION,
        '--checksums',
        checksums,
      ],
      { HF_ENDPOINT: hub.url },
    );
    expect(run.stderr).toContain('onnx/model_quantized.onnx: ');
    expect(run.stderr).toContain('checked');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`modelDir: ${path.relative(ROOT, dir)}`);
    expect(
      hub.requests.every((url) => url.startsWith(`/Xenova/multilingual-e5-small/resolve/${REVISION}/`)),
    ).toBe(true);
    expect(existsSync(path.join(dir, 'onnx/model.onnx'))).toBe(true);

    // Without flags the command fetches the pinned commit (which this fake hub does not have).
    hub.requests.length = 0;
    const bgeDir = path.join(root, 'cli', 'bge');
    const pinnedRun = await hubCommand(['models', 'pull', 'bge-small-zh-v1.5', '--dir', bgeDir], {
      HF_ENDPOINT: hub.url,
    });
    expect(pinnedRun.code).toBe(1);
    expect(pinnedRun.stderr).toContain('answered 404');
    expect(hub.requests).toEqual([
      '/Xenova/bge-small-zh-v1.5/resolve/75c43b069aac4d136ba6bc1122f995fedcfd2781/config.json',
    ]);
    expect(await siblings(bgeDir)).toEqual([]);
  });
});

function hubCommand(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'hub.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'test', HUB_CONFIG: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
