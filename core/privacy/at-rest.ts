import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { HubError } from '../types/errors';

/**
 * Encryption at rest, envelope style (AES-256-GCM from node:crypto).
 *
 * Each sealed value carries its own data key (DEK), wrapped by a key-encryption key (KEK) that the
 * {@link KeyProvider} holds, and the id of that KEK. Rotation re-wraps the DEK under the new KEK and
 * leaves the data's ciphertext alone; a reader accepts every KEK the provider still holds, so old
 * and new records read side by side while a rotation runs.
 *
 *   hub1.<kek id>.<wrapped DEK: iv ‖ ciphertext ‖ tag>.<iv ‖ ciphertext ‖ tag>   (base64url parts)
 *
 * The data's associated data names where the value lives (table, column, row), so a ciphertext
 * copied into another row or column does not open. The DEK's associated data is the envelope
 * version and KEK id, so a wrapped key cannot be relabelled with another KEK's id.
 *
 * Lookup columns (a platform user id, a conversation key) cannot be sealed, because the hub finds
 * rows by them: they hold a keyed hash (HMAC-SHA256) with a lookup key that never rotates with the KEKs.
 */

const VERSION = 'hub1';
const PREFIX = `${VERSION}.`;
/** How a keyed hash in a lookup column begins (a value in clear, written before encryption at rest, does not). */
export const LOOKUP_PREFIX = 'h1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Seals per DEK. One: every record has a data key of its own (a sealing costs one more random key
 * and one key wrap, a few microseconds; `npm run bench:at-rest`). Raising it shares a DEK among that
 * many records, each with a fresh random IV.
 */
const DEK_USES = 1;
/** Unwrapped DEKs kept for reads: a transcript's rows share a few DEKs. */
const UNWRAPPED_CACHE = 1_024;

/**
 * Where the key-encryption keys live. The local provider holds them in memory (from the environment
 * or the key file); a KMS provider implements the same two calls against its service.
 */
export interface KeyProvider {
  /** The KEK new data keys are wrapped with. */
  readonly activeKeyId: string;
  /** Every KEK id this provider can unwrap with. */
  keyIds(): string[];
  /** Wrap a DEK under the active KEK; `aad` gives the associated data for the KEK id it picks. */
  wrap(dek: Buffer, aad: (keyId: string) => Buffer): { keyId: string; wrapped: Buffer };
  /** Unwrap a DEK; throws `at_rest.unknown_key` when the KEK is no longer held. */
  unwrap(keyId: string, wrapped: Buffer, aad: Buffer): Buffer;
  /** The key of the keyed hashes in lookup columns. */
  readonly lookupKey: Buffer;
}

/** KEKs held in process memory, AES-256-GCM key wrap. */
export class LocalKeyProvider implements KeyProvider {
  readonly lookupKey: Buffer;
  private readonly keys: Map<string, Buffer>;

  constructor(
    keys: Map<string, Buffer>,
    readonly activeKeyId: string,
    lookupKey: Buffer,
  ) {
    for (const [id, key] of keys) {
      if (!KEY_ID_PATTERN.test(id)) {
        throw new HubError(
          'at_rest.bad_key',
          `Data key id ${JSON.stringify(id)} is not [A-Za-z0-9_-]{1,32}.`,
        );
      }
      if (key.length !== KEY_BYTES) {
        throw new HubError(
          'at_rest.bad_key',
          `Data key ${id} has ${key.length} bytes; AES-256 needs ${KEY_BYTES}. Fix: generate one with \`openssl rand -base64 32\`.`,
        );
      }
    }
    if (!keys.has(activeKeyId)) {
      throw new HubError(
        'at_rest.bad_key',
        `The active data key ${activeKeyId} is not among the keys given (${[...keys.keys()].join(', ')}).`,
      );
    }
    if (lookupKey.length < KEY_BYTES) {
      throw new HubError(
        'at_rest.bad_key',
        `The lookup key has ${lookupKey.length} bytes; it needs ${KEY_BYTES}.`,
      );
    }
    this.keys = new Map(keys);
    this.lookupKey = lookupKey;
  }

  keyIds(): string[] {
    return [...this.keys.keys()];
  }

  wrap(dek: Buffer, aad: (keyId: string) => Buffer): { keyId: string; wrapped: Buffer } {
    const keyId = this.activeKeyId;
    return { keyId, wrapped: gcmSeal(this.key(keyId), dek, aad(keyId)) };
  }

  unwrap(keyId: string, wrapped: Buffer, aad: Buffer): Buffer {
    return gcmOpen(this.key(keyId), wrapped, aad);
  }

  private key(id: string): Buffer {
    const key = this.keys.get(id);
    if (!key) {
      throw new HubError(
        'at_rest.unknown_key',
        `A record is sealed under data key ${id}, which this hub does not hold. Fix: add it back to HUB_DATA_KEYS (or the key file) until \`hub keys rotate\` has re-wrapped every record.`,
      );
    }
    return key;
  }
}

/** Where a sealed value lives: its table, column and row. Part of the authenticated data. */
export interface SealContext {
  table: string;
  column: string;
  /** The row's stable identity (primary or unique key); '' where the row has none before insert. */
  row: string;
}

/**
 * Random bytes for keys and IVs, drawn from the CSPRNG in blocks: one `randomBytes` call costs a few
 * µs whatever its size, and a sealing needs three. Each block is fresh and never written again, so
 * the slices handed out stay as drawn.
 */
const RANDOM_BLOCK = 8_192;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

function random(bytes: number): Buffer {
  if (randomOffset + bytes > randomPool.length) {
    randomPool = randomBytes(RANDOM_BLOCK);
    randomOffset = 0;
  }
  const slice = randomPool.subarray(randomOffset, randomOffset + bytes);
  randomOffset += bytes;
  return slice;
}

function contextBytes(where: SealContext): Buffer {
  return Buffer.from(`${where.table}\u0000${where.column}\u0000${where.row}`, 'utf8');
}

function dekContext(keyId: string): Buffer {
  return Buffer.from(`${VERSION}\u0000${keyId}`, 'utf8');
}

function gcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = random(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw tampered();
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    throw tampered();
  }
}

function tampered(): HubError {
  return new HubError(
    'at_rest.tampered',
    'A sealed value does not authenticate: it was altered, moved from another row or column, or sealed under other keys.',
  );
}

interface CurrentDek {
  dek: Buffer;
  keyId: string;
  wrapped: string;
  uses: number;
}

/** Seal, open, re-wrap and hash values for the database. One per store; cheap to call per column. */
export class AtRest {
  private current: CurrentDek | undefined;
  private readonly unwrapped = new Map<string, Buffer>();

  constructor(readonly keys: KeyProvider) {}

  /** True for a value this module sealed (any version-1 envelope). */
  static isSealed(value: unknown): value is string {
    return typeof value === 'string' && value.startsWith(PREFIX);
  }

  /** The KEK id a sealed value is wrapped under, or undefined for plaintext. */
  static keyIdOf(value: unknown): string | undefined {
    if (!AtRest.isSealed(value)) return undefined;
    return value.slice(PREFIX.length, value.indexOf('.', PREFIX.length));
  }

  seal(plaintext: string, where: SealContext): string {
    const dek = this.dek();
    const body = gcmSeal(dek.dek, Buffer.from(plaintext, 'utf8'), contextBytes(where));
    return `${PREFIX}${dek.keyId}.${dek.wrapped}.${body.toString('base64url')}`;
  }

  sealOrNull(plaintext: string | null | undefined, where: SealContext): string | null {
    return plaintext === null || plaintext === undefined ? null : this.seal(plaintext, where);
  }

  /** Plaintext back; a value that was never sealed (written before encryption at rest) reads as it is. */
  open(value: string, where: SealContext): string {
    if (!AtRest.isSealed(value)) return value;
    const { keyId, wrapped, body } = parse(value);
    const dek = this.unwrap(keyId, wrapped);
    return gcmOpen(dek, Buffer.from(body, 'base64url'), contextBytes(where)).toString('utf8');
  }

  openOrNull(value: string | null, where: SealContext): string | null {
    return value === null ? null : this.open(value, where);
  }

  /** A jsonb column's value: the JSON text sealed, stored as a JSON string. */
  sealJson(json: string, where: SealContext): string {
    return JSON.stringify(this.seal(json, where));
  }

  /** A jsonb column read back: a sealed string is opened and parsed; any other value is old plaintext. */
  openJson<T>(value: unknown, where: SealContext): T {
    // Drivers hand jsonb back parsed, or (raw queries on some) as JSON text.
    const parsed = typeof value === 'string' && !AtRest.isSealed(value) ? JSON.parse(value) : value;
    if (AtRest.isSealed(parsed)) return JSON.parse(this.open(parsed, where)) as T;
    return parsed as T;
  }

  /**
   * The same value with its DEK wrapped under the active KEK; the data's ciphertext is untouched,
   * so no context is needed. Returns undefined when it already is.
   */
  rewrap(value: string): string | undefined {
    const { keyId, wrapped, body } = parse(value);
    if (keyId === this.keys.activeKeyId) return undefined;
    const dek = this.unwrap(keyId, wrapped);
    const rewrapped = this.keys.wrap(dek, dekContext);
    return `${PREFIX}${rewrapped.keyId}.${rewrapped.wrapped.toString('base64url')}.${body}`;
  }

  /** Keyed hash of a lookup value, e.g. `lookup('user', 'whatsapp\0default\0+4915…')`; equal inputs hash equal. */
  lookup(purpose: string, value: string): string {
    const mac = createHmac('sha256', this.keys.lookupKey).update(`${purpose}\u0000${value}`, 'utf8').digest();
    return `${LOOKUP_PREFIX}${mac.toString('base64url')}`;
  }

  private dek(): CurrentDek {
    const current = this.current;
    if (current && current.uses < DEK_USES && current.keyId === this.keys.activeKeyId) {
      current.uses++;
      return current;
    }
    const dek = random(KEY_BYTES);
    const { keyId, wrapped } = this.keys.wrap(dek, dekContext);
    const next = { dek, keyId, wrapped: wrapped.toString('base64url'), uses: 1 };
    this.current = next;
    return next;
  }

  private unwrap(keyId: string, wrapped: string): Buffer {
    const cacheKey = `${keyId}.${wrapped}`;
    const hit = this.unwrapped.get(cacheKey);
    if (hit) return hit;
    const dek = this.keys.unwrap(keyId, Buffer.from(wrapped, 'base64url'), dekContext(keyId));
    if (this.unwrapped.size >= UNWRAPPED_CACHE) {
      const oldest = this.unwrapped.keys().next().value;
      if (oldest !== undefined) this.unwrapped.delete(oldest);
    }
    this.unwrapped.set(cacheKey, dek);
    return dek;
  }
}

function parse(value: string): { keyId: string; wrapped: string; body: string } {
  const parts = value.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION || !parts[1] || !parts[2] || !parts[3]) throw tampered();
  return { keyId: parts[1], wrapped: parts[2], body: parts[3] };
}
