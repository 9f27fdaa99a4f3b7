/** The Events API and interactivity fields the connector reads; everything may be absent in old captures. */
export interface SlackMessageEvent {
  type: string;
  subtype?: string;
  user?: string;
  bot_id?: string;
  app_id?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  event_ts?: string;
  channel?: string;
  channel_type?: string;
  team?: string;
  inviter?: string;
  hidden?: boolean;
  edited?: { user?: string; ts?: string };
  message?: SlackMessageEvent;
  previous_message?: SlackMessageEvent;
  deleted_ts?: string;
  /** reaction_added / reaction_removed: the emoji name, what was reacted to and who wrote it. */
  reaction?: string;
  item?: { type?: string; channel?: string; ts?: string };
  item_user?: string;
  files?: Array<{
    id: string;
    name?: string;
    mimetype?: string;
    size?: number;
    url_private_download?: string;
    url_private?: string;
  }>;
}

export interface SlackEnvelope {
  type: string;
  token?: string;
  challenge?: string;
  team_id?: string;
  enterprise_id?: string;
  api_app_id?: string;
  event_id?: string;
  event_time?: number;
  event?: SlackMessageEvent;
  authorizations?: Array<{ user_id?: string; is_bot?: boolean; team_id?: string }>;
}

export interface SlackBlockActions {
  type: 'block_actions';
  api_app_id?: string;
  trigger_id?: string;
  user: { id: string; name?: string; username?: string; team_id?: string };
  team?: { id: string };
  channel?: { id: string; name?: string };
  container?: { type?: string; channel_id?: string; message_ts?: string; thread_ts?: string };
  message?: { ts?: string; thread_ts?: string };
  actions: Array<{
    action_id: string;
    block_id?: string;
    type?: string;
    value?: string;
    text?: { type: string; text: string };
    action_ts?: string;
    selected_option?: { value: string; text?: { text: string } };
  }>;
}
