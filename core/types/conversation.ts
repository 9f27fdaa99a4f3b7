/**
 * Where a conversation lives. A conversation is always keyed by channel + tenant + conversation
 * (+ thread): the same user id on two channels, or in two chats, is two conversations.
 */
export interface ConversationRef {
  /** Channel id from config (e.g. "rest", "webchat", "telegram-support"), not the platform type. */
  channel: string;
  /** Tenant (workspace, business account, team); "default" when the platform has none. */
  tenant: string;
  /** The platform's conversation/chat id. */
  conversation: string;
  /** Thread within the conversation, when the platform has threads. */
  thread?: string;
}

const escapePart = (part: string): string => part.replaceAll('%', '%25').replaceAll(':', '%3A');

/** Stable, collision-free string key for a conversation: `channel:tenant:conversation[:thread]`. */
export function conversationKey(ref: ConversationRef): string {
  const parts = [ref.channel, ref.tenant, ref.conversation];
  if (ref.thread) parts.push(ref.thread);
  return parts.map(escapePart).join(':');
}
