import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema } from '../../core/config/schema';
import { AtRest } from '../../core/privacy/at-rest';
import { createStore, type KyselyStore } from '../../core/store/index';
import { conversationKey } from '../../core/types/conversation';
import { scratchDatabase } from '../support/postgres';
import { writeConfig } from './hub-process';

/**
 * `hub keys rotate --new-key --drop-old` as an operator runs it, on real PostgreSQL with the key
 * file, while another process (the store opened here, as a running hub) keeps reading and writing.
 */
const database = scratchDatabase('hub_keys_rotate');
const run = promisify(execFile);
const HUB = join(import.meta.dirname, '..', '..', 'bin', 'hub.mjs');

let store: KyselyStore;
let keyDir: string;
let keyFile: string;
let configFile: string;

async function hub(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [HUB, ...args, '--config', configFile], {
      env: { ...process.env, LOG_LEVEL: 'warn', HUB_DATA_KEYS: '', HUB_DATA_LOOKUP_KEY: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const ref = { channel: 'whatsapp', tenant: 'default', conversation: '+8613800138000' };
async function say(id: string, text: string): Promise<void> {
  await store.recordInbound({
    id,
    kind: 'message',
    ref,
    sender: { id: ref.conversation },
    receivedAt: new Date().toISOString(),
    text,
  });
}

beforeAll(async () => {
  await database.create();
  keyDir = await mkdtemp(join(tmpdir(), 'hub-keys-rotate-'));
  keyFile = join(keyDir, 'data-keys.json');
  const config = {
    database: { driver: 'postgres', url: database.url },
    audit: { keyFile: join(keyDir, 'audit.key') },
    privacy: { atRest: { keyFile } },
  };
  configFile = writeConfig(config);
  const saved = { keys: process.env.HUB_DATA_KEYS, lookup: process.env.HUB_DATA_LOOKUP_KEY };
  delete process.env.HUB_DATA_KEYS;
  store = await createStore(hubConfigSchema.parse(config));
  if (saved.keys !== undefined) process.env.HUB_DATA_KEYS = saved.keys;
  if (saved.lookup !== undefined) process.env.HUB_DATA_LOOKUP_KEY = saved.lookup;
});

afterAll(async () => {
  await store?.close();
  await database.drop();
  await rm(keyDir, { recursive: true, force: true });
});

describe('hub keys rotate', { timeout: 180_000 }, () => {
  it('adds a key, re-wraps every record online, drops the old key; the running store reads throughout', async () => {
    await say('e1', 'first, call me on 13800138000');
    await say('e2', 'second');
    const first = store.atRest.keys.activeKeyId;
    const keyOf = async (id: string) =>
      AtRest.keyIdOf(
        (await sql<{ text: string }>`select text from messages where id = ${id}`.execute(store.db)).rows[0]
          ?.text,
      );
    expect(await keyOf('e1')).toBe(first);

    const rotated = await hub('keys', 'rotate', '--new-key', '--drop-old');
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    const second = JSON.parse(await readFile(keyFile, 'utf8')).active as string;
    expect(second).not.toBe(first);
    expect(rotated.stdout).toContain(`new active data key ${second}`);
    expect(rotated.stdout).toMatch(/\d+ values re-wrapped/);
    expect(rotated.stdout).toContain(`removed unused keys: ${first}`);
    expect(Object.keys(JSON.parse(await readFile(keyFile, 'utf8')).keys)).toEqual([second]);
    expect(await keyOf('e1')).toBe(second);

    // The running store holds only the first key in memory: it reads the re-wrapped records through
    // the key file at once, and seals with the new key once it has looked at the file again.
    const key = conversationKey(ref);
    expect((await store.transcript(key)).map((entry) => entry.text)).toEqual([
      'first, call me on 13800138000',
      'second',
    ]);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await say('e3', 'third');
    expect(await keyOf('e3')).toBe(second);

    const again = await hub('keys', 'rotate');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('0 values re-wrapped, 0 stored in clear now sealed');
    const verify = await hub('audit', 'verify');
    expect(verify.code).toBe(0);
  });

  it('refuses --new-key when the keys come from the environment', async () => {
    const { code, stderr } = await run(
      process.execPath,
      [HUB, 'keys', 'rotate', '--new-key', '--config', configFile],
      { env: { ...process.env, LOG_LEVEL: 'warn', HUB_DATA_KEYS: 'k1:AAAA' } },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(code).toBe(1);
    expect(stderr).toContain('HUB_DATA_KEY_ACTIVE');
  });
});
