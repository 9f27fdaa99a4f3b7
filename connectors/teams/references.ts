import type { Logger } from '../../core/log';
import { type ConversationRef, conversationKey, type HubStore, type InboundEvent } from '../../core/types';
import type { TeamsConversationData } from './normalize';

const MAX_CACHED = 10_000;
/** Transcript entries searched, newest first, for the conversation's last inbound activity. */
const TRANSCRIPT_LOOKBACK = 50;

export interface ResolvedReference {
  serviceUrl: string;
  source: 'cache' | 'transcript' | 'fallback';
}

const teamsDataOf = (event: Pick<InboundEvent, 'channelData'> | undefined) =>
  (event?.channelData?.teams as Partial<TeamsConversationData> | undefined) ?? undefined;

/**
 * Where to send a conversation's replies: the serviceUrl of its last activity. The API process
 * remembers it as activities arrive; any other process (a worker-only one) finds it in the
 * transcript, whose stored inbound events keep `channelData.teams`. A conversation the hub never
 * heard from goes to the configured proactive endpoint.
 */
export class ConversationReferences {
  private readonly cache = new Map<string, string>();

  constructor(private readonly deps: { store?: HubStore; fallbackServiceUrl: string; logger: Logger }) {}

  remember(event: InboundEvent): void {
    const serviceUrl = teamsDataOf(event)?.serviceUrl;
    if (!serviceUrl) return;
    const key = conversationKey(event.ref);
    this.cache.delete(key);
    this.cache.set(key, serviceUrl);
    if (this.cache.size > MAX_CACHED) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  async resolve(ref: ConversationRef): Promise<ResolvedReference> {
    const refs = ref.thread ? [ref, { ...ref, thread: undefined }] : [ref];
    for (const candidate of refs) {
      const cached = this.cache.get(conversationKey(candidate));
      if (cached) return { serviceUrl: cached, source: 'cache' };
    }
    for (const candidate of refs) {
      const found = await this.fromTranscript(candidate);
      if (found) {
        this.cache.set(conversationKey(candidate), found);
        return { serviceUrl: found, source: 'transcript' };
      }
    }
    return { serviceUrl: this.deps.fallbackServiceUrl, source: 'fallback' };
  }

  private async fromTranscript(ref: ConversationRef): Promise<string | undefined> {
    const store = this.deps.store;
    if (typeof store?.transcript !== 'function') return undefined;
    try {
      const entries = await store.transcript(conversationKey(ref), { limit: TRANSCRIPT_LOOKBACK });
      for (let i = entries.length - 1; i >= 0; i--) {
        const entry = entries[i];
        if (entry?.direction !== 'in') continue;
        const serviceUrl = teamsDataOf(entry.payload as InboundEvent)?.serviceUrl;
        if (typeof serviceUrl === 'string') return serviceUrl;
      }
    } catch (error) {
      // The proactive endpoint reaches every public-cloud conversation too, just less directly.
      this.deps.logger.warn(
        { code: (error as { code?: string }).code },
        'teams: conversation reference lookup in the transcript failed; using the proactive endpoint',
      );
    }
    return undefined;
  }
}
