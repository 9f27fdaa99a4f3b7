import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../resilience/constant-time';

export type SessionCheck = 'valid' | 'expired' | 'invalid';

export interface IssuedSessionToken {
  token: string;
  /** ISO-8601. */
  expiresAt: string;
}

/**
 * Signed, expiring tokens that bind a browser session (the web chat's conversation) to whoever the
 * hub issued it to: `<expiry in epoch seconds>.<HMAC-SHA256 of purpose, channel, session, expiry>`,
 * base64url. Stateless: any process with the same key checks it; nothing is stored per session.
 */
export class SessionTokens {
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error('a session-token key needs at least 32 bytes');
  }

  /** A key for one process only: its tokens die with it (tests, or a hub given no store). */
  static ephemeral(): SessionTokens {
    return new SessionTokens(randomBytes(32));
  }

  issue(channel: string, session: string, ttlMs: number, now = Date.now()): IssuedSessionToken {
    const expires = Math.floor((now + ttlMs) / 1000);
    return {
      token: `${expires}.${this.mac(channel, session, expires)}`,
      expiresAt: new Date(expires * 1000).toISOString(),
    };
  }

  check(channel: string, session: string, token: string, now = Date.now()): SessionCheck {
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return 'invalid';
    const expires = Number(match[1]);
    if (!constantTimeEqual(this.mac(channel, session, expires), match[2] as string)) return 'invalid';
    return expires * 1000 <= now ? 'expired' : 'valid';
  }

  /** When a token checked valid expires, in epoch ms: a connection past half its life gets a fresh one. */
  expiresAtMs(token: string): number {
    return Number(token.split('.')[0]) * 1000;
  }

  private mac(channel: string, session: string, expires: number): string {
    return createHmac('sha256', this.key)
      .update(`webchat-session\n${channel}\n${session}\n${expires}`)
      .digest('base64url');
  }
}
