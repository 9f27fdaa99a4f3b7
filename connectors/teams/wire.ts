/**
 * The parts of a Bot Framework Activity (protocol v3) the Teams connector reads
 * (https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference#activity-object).
 * Every field is optional as far as the code is concerned: documentation samples omit some.
 */
export interface ChannelAccount {
  id: string;
  name?: string;
  aadObjectId?: string;
  role?: string;
}

export interface ConversationAccount {
  id: string;
  name?: string;
  isGroup?: boolean;
  conversationType?: 'personal' | 'groupChat' | 'channel' | string;
  tenantId?: string;
}

export interface TeamsAttachment {
  contentType?: string;
  contentUrl?: string;
  content?: unknown;
  name?: string;
  thumbnailUrl?: string;
}

export interface TeamsEntity {
  type?: string;
  mentioned?: ChannelAccount;
  text?: string;
  locale?: string;
}

export interface TeamsChannelData {
  tenant?: { id?: string };
  team?: { id?: string; name?: string; aadGroupId?: string };
  channel?: { id?: string; name?: string };
  eventType?: string;
  settings?: { selectedChannel?: { id?: string } };
  [key: string]: unknown;
}

export interface Activity {
  type?: string;
  id?: string;
  name?: string;
  timestamp?: string;
  channelId?: string;
  serviceUrl?: string;
  from?: ChannelAccount;
  conversation?: ConversationAccount;
  recipient?: ChannelAccount;
  text?: string;
  textFormat?: string;
  locale?: string;
  attachments?: TeamsAttachment[];
  entities?: TeamsEntity[];
  channelData?: TeamsChannelData;
  replyToId?: string;
  value?: unknown;
  action?: string;
  membersAdded?: ChannelAccount[];
  membersRemoved?: ChannelAccount[];
  reactionsAdded?: Array<{ type?: string }>;
  reactionsRemoved?: Array<{ type?: string }>;
}

/**
 * An outbound activity as POSTed to /v3/conversations/{id}/activities; with `id`, the replacement of
 * that activity, PUT to /v3/conversations/{id}/activities/{activityId} (Update Activity).
 */
export interface OutgoingActivity {
  type: 'message' | 'typing';
  id?: string;
  text?: string;
  textFormat?: 'markdown' | 'plain' | 'xml';
  attachments?: Array<{ contentType: string; content: unknown }>;
  locale?: string;
}

export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
