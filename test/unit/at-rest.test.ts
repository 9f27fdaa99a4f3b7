import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AtRest, LocalKeyProvider } from '../../core/privacy/at-rest';
import { addFileKey, resolveDataKeys } from '../../core/privacy/data-keys';

const where = { table: 'messages', column: 'text', row: 'evt-1' };

function provider(ids: string[], active: string, lookup = randomBytes(32)): LocalKeyProvider {
  return new LocalKeyProvider(new Map(ids.map((id) => [id, KEYS[id] as Buffer])), active, lookup);
}
const KEYS: Record<string, Buffer> = { a: randomBytes(32), b: randomBytes(32) };

describe('envelope encryption at rest', () => {
  it('seals to a self-describing value with the key id, and opens it', () => {
    const atRest = new AtRest(provider(['a'], 'a'));
    const sealed = atRest.seal('call me on +49 151 2345 6789', where);
    expect(sealed).toMatch(/^hub1\.a\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('6789');
    expect(AtRest.keyIdOf(sealed)).toBe('a');
    expect(atRest.open(sealed, where)).toBe('call me on +49 151 2345 6789');
  });

  it('gives every record its own data key and IV: equal texts seal differently', () => {
    const atRest = new AtRest(provider(['a'], 'a'));
    const one = atRest.seal('same', where).split('.');
    const two = atRest.seal('same', where).split('.');
    expect(one[2]).not.toBe(two[2]);
    expect(one[3]).not.toBe(two[3]);
  });

  it('refuses a tampered ciphertext, a tampered wrapped key and a relabelled key id', () => {
    const atRest = new AtRest(provider(['a', 'b'], 'a'));
    const sealed = atRest.seal('secret', where);
    const [version, id, wrapped, body] = sealed.split('.') as [string, string, string, string];
    const flip = (part: string) => {
      const bytes = Buffer.from(part, 'base64url');
      bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 1;
      return bytes.toString('base64url');
    };
    expect(() => atRest.open([version, id, wrapped, flip(body)].join('.'), where)).toThrow(/authenticate/);
    expect(() => new AtRest(atRest.keys).open([version, id, flip(wrapped), body].join('.'), where)).toThrow(
      /authenticate/,
    );
    expect(() => new AtRest(atRest.keys).open([version, 'b', wrapped, body].join('.'), where)).toThrow(
      /authenticate/,
    );
    expect(() => atRest.open('hub1.a.only-three', where)).toThrow(/authenticate/);
  });

  it('binds a value to its table, column and row (no swapping between rows)', () => {
    const atRest = new AtRest(provider(['a'], 'a'));
    const sealed = atRest.seal('secret', where);
    expect(() => atRest.open(sealed, { ...where, row: 'evt-2' })).toThrow(/authenticate/);
    expect(() => atRest.open(sealed, { ...where, column: 'payload' })).toThrow(/authenticate/);
    expect(() => atRest.open(sealed, { ...where, table: 'ticket_comments' })).toThrow(/authenticate/);
  });

  it('reads a value written before encryption at rest as it is', () => {
    const atRest = new AtRest(provider(['a'], 'a'));
    expect(atRest.open('plain old text', where)).toBe('plain old text');
    expect(atRest.openJson({ kind: 'message' }, where)).toEqual({ kind: 'message' });
    expect(atRest.openJson(atRest.sealJson('{"kind":"message"}', where), where)).toEqual({ kind: 'message' });
  });

  it('rotates: re-wrapped under key b, the value opens once key a is gone', () => {
    const lookup = randomBytes(32);
    const underA = new AtRest(provider(['a'], 'a', lookup));
    const sealed = underA.seal('order for ana@example.com', where);
    const both = new AtRest(provider(['a', 'b'], 'b', lookup));
    expect(both.open(sealed, where)).toBe('order for ana@example.com');
    const rewrapped = both.rewrap(sealed) as string;
    expect(AtRest.keyIdOf(rewrapped)).toBe('b');
    expect(rewrapped.split('.')[3]).toBe(sealed.split('.')[3]);
    expect(both.rewrap(rewrapped)).toBeUndefined();
    const onlyB = new AtRest(provider(['b'], 'b', lookup));
    expect(onlyB.open(rewrapped, where)).toBe('order for ana@example.com');
    expect(() => onlyB.open(sealed, where)).toThrow(/does not hold/);
  });

  it('hashes lookup values with a key: stable, purpose-bound, not the value', () => {
    const lookup = randomBytes(32);
    const one = new AtRest(provider(['a'], 'a', lookup));
    const rotated = new AtRest(provider(['a', 'b'], 'b', lookup));
    expect(one.lookup('user', '+4915123456789')).toBe(rotated.lookup('user', '+4915123456789'));
    expect(one.lookup('user', '+4915123456789')).not.toBe(one.lookup('conversation', '+4915123456789'));
    expect(one.lookup('user', '+4915123456789')).not.toContain('4915');
    expect(new AtRest(provider(['a'], 'a')).lookup('user', 'x')).not.toBe(one.lookup('user', 'x'));
  });

  it('takes its keys from HUB_DATA_KEYS, and refuses them without a lookup key', async () => {
    const env = {
      HUB_DATA_KEYS: `old:${randomBytes(32).toString('base64')},new:${randomBytes(32).toString('base64')}`,
      HUB_DATA_LOOKUP_KEY: randomBytes(32).toString('base64'),
    };
    const keys = await resolveDataKeys({ inMemory: false, env });
    expect(keys.activeKeyId).toBe('new');
    expect(keys.keyIds()).toEqual(['old', 'new']);
    expect(
      (await resolveDataKeys({ inMemory: false, env: { ...env, HUB_DATA_KEY_ACTIVE: 'old' } })).activeKeyId,
    ).toBe('old');
    await expect(
      resolveDataKeys({ inMemory: false, env: { HUB_DATA_KEYS: env.HUB_DATA_KEYS } }),
    ).rejects.toThrow(/HUB_DATA_LOOKUP_KEY/);
    await expect(
      resolveDataKeys({
        inMemory: false,
        env: { ...env, HUB_DATA_KEYS: `k1:${randomBytes(16).toString('base64')}` },
      }),
    ).rejects.toThrow(/AES-256 needs 32/);
  });

  describe('key file', () => {
    let dir = '';
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('is generated once (mode 0600), and a key added by rotation is followed by a running provider', async () => {
      dir = await mkdtemp(join(tmpdir(), 'hub-data-keys-'));
      const keyFile = join(dir, 'data-keys.json');
      const running = await resolveDataKeys({ inMemory: false, keyFile, env: {} });
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const again = await resolveDataKeys({ inMemory: false, keyFile, env: {} });
      expect(again.activeKeyId).toBe(running.activeKeyId);
      const first = running.activeKeyId;
      const sealedBefore = new AtRest(running).seal('before', where);

      const added = await addFileKey(keyFile);
      expect(added).not.toBe(first);
      expect(JSON.parse(await readFile(keyFile, 'utf8')).active).toBe(added);
      // A record sealed by the rotating process under the new key reads in the running one at once.
      const rotating = await resolveDataKeys({ inMemory: false, keyFile, env: {} });
      const sealedAfter = new AtRest(rotating).seal('after', where);
      expect(AtRest.keyIdOf(sealedAfter)).toBe(added);
      expect(new AtRest(running).open(sealedAfter, where)).toBe('after');
      expect(new AtRest(rotating).open(sealedBefore, where)).toBe('before');
    });
  });
});
