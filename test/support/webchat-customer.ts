import WebSocket from 'ws';

/** A frame the web chat sends its browser (connectors/webchat): acks, typing, replies, history. */
export interface WebchatFrame {
  type: string;
  message?: {
    content?: { text?: string };
    source?: string;
    handoff?: string;
    author?: { kind: string; name?: string };
  };
}

/** Polls `probe` until it gives a value; throws naming `what` after the timeout (generous: loaded CI). */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface WebchatCustomer {
  /** Every frame received, kept in order. */
  all: WebchatFrame[];
  /** Sends a message as the customer; ids count up unless one is given. */
  say(text: string, id?: string): void;
  /** The next reply frame's message; the frames before it are used up. */
  nextReply(what: string): Promise<NonNullable<WebchatFrame['message']>>;
  close(): void;
}

/** A web chat customer on a socket of their own: a new session at `hubUrl`'s channel `channelId`. */
export async function webchatCustomer(hubUrl: string, channelId = 'webchat'): Promise<WebchatCustomer> {
  const pending: WebchatFrame[] = [];
  const all: WebchatFrame[] = [];
  const socket = new WebSocket(`${hubUrl.replace('http', 'ws')}/webchat/${channelId}/ws`);
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as WebchatFrame;
    pending.push(frame);
    all.push(frame);
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let seq = 0;
  return {
    all,
    say(text, id = `w-${++seq}`) {
      socket.send(JSON.stringify({ type: 'message', id, text, locale: 'en' }));
    },
    nextReply(what) {
      return waitFor(what, () => {
        const at = pending.findIndex((f) => f.type === 'reply');
        if (at < 0) return undefined;
        return pending.splice(0, at + 1).at(-1)?.message ?? {};
      });
    },
    close: () => socket.close(),
  };
}
