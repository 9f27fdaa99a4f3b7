import type { WebSocket } from 'ws';
import type { ServerFrame } from './protocol';

export interface SessionHubOptions {
  /** How long the typing dots stay on when no reply comes. */
  typingTimeoutMs: number;
  /** Tabs per session; more is abuse, not a customer. */
  maxSocketsPerSession: number;
  heartbeatMs: number;
}

const OPEN = 1;

/** The browser sockets of each session, and each session's typing indicator. */
export class SessionHub {
  private readonly sockets = new Map<string, Set<WebSocket>>();
  private readonly typingTimers = new Map<string, NodeJS.Timeout>();
  /** Sessions whose customer waits for a person, or talks to one: the bot does not "type" there. */
  private readonly withPerson = new Set<string>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly options: SessionHubOptions) {
    // A browser that vanishes without a close frame (sleep, lost network) would otherwise hold its slot forever.
    this.heartbeat = setInterval(() => this.sweep(), options.heartbeatMs);
    this.heartbeat.unref();
  }

  /** False when the session already has its share of sockets. */
  add(session: string, socket: WebSocket): boolean {
    const set = this.sockets.get(session) ?? new Set<WebSocket>();
    if (set.size >= this.options.maxSocketsPerSession) return false;
    set.add(socket);
    this.sockets.set(session, set);
    this.alive.add(socket);
    socket.on('pong', () => this.alive.add(socket));
    return true;
  }

  remove(session: string, socket: WebSocket): void {
    const set = this.sockets.get(session);
    if (!set?.delete(socket) || set.size > 0) return;
    this.sockets.delete(session);
    this.withPerson.delete(session);
    this.settle(session);
  }

  /**
   * Whether a person is awaited or answers, as the latest reply said (`OutboundMessage.handoff`). While
   * one is, the dots stay off: nobody is about to answer in seconds, and an agent's typing is not seen.
   */
  setWithPerson(session: string, on: boolean): void {
    if (!this.sockets.has(session)) return;
    if (!on) {
      this.withPerson.delete(session);
      return;
    }
    this.withPerson.add(session);
    if (this.typingTimers.has(session)) {
      this.settle(session);
      this.send(session, { type: 'typing', on: false });
    }
  }

  send(session: string, frame: ServerFrame): void {
    const set = this.sockets.get(session);
    if (!set) return;
    const text = JSON.stringify(frame);
    for (const socket of set) if (socket.readyState === OPEN) socket.send(text);
  }

  /** Show the dots on every tab; they go off by themselves if no reply comes in time. */
  typingOn(session: string): void {
    if (!this.sockets.has(session) || this.withPerson.has(session)) return;
    this.send(session, { type: 'typing', on: true });
    clearTimeout(this.typingTimers.get(session));
    const timer = setTimeout(() => {
      this.typingTimers.delete(session);
      this.send(session, { type: 'typing', on: false });
    }, this.options.typingTimeoutMs);
    timer.unref();
    this.typingTimers.set(session, timer);
  }

  /** A reply arrived: the client hides the dots on a reply frame, so only the timer goes. */
  settle(session: string): void {
    clearTimeout(this.typingTimers.get(session));
    this.typingTimers.delete(session);
  }

  closeAll(code: number, reason: string): void {
    clearInterval(this.heartbeat);
    for (const timer of this.typingTimers.values()) clearTimeout(timer);
    this.typingTimers.clear();
    this.withPerson.clear();
    for (const set of this.sockets.values()) for (const socket of set) socket.close(code, reason);
    this.sockets.clear();
  }

  private sweep(): void {
    for (const set of this.sockets.values()) {
      for (const socket of set) {
        if (!this.alive.has(socket)) {
          socket.terminate();
          continue;
        }
        this.alive.delete(socket);
        if (socket.readyState === OPEN) socket.ping();
      }
    }
  }
}
