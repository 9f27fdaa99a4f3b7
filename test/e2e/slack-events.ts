/**
 * Events API payloads from one fake workspace (team T00FAKE00AA, app A00FAKEAPP01), as Slack posts
 * them over HTTP or wraps them in a Socket Mode `events_api` envelope. Each call of `slackEvents`
 * numbers its own timestamps and event ids, so two test files never collide.
 */
export function slackEvents(options: { bot: string; user: string; firstTs: number; eventIdPrefix: string }) {
  let sequence = 0;
  const nextTs = () => `${options.firstTs + ++sequence}.${String(sequence).padStart(6, '0')}`;
  const eventCallback = (
    event: Record<string, unknown>,
    eventId = `${options.eventIdPrefix}${++sequence}`,
  ) => ({
    token: 'FAKEverificationTOKEN000',
    team_id: 'T00FAKE00AA',
    api_app_id: 'A00FAKEAPP01',
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T00FAKE00AA', user_id: options.bot, is_bot: true }],
    event,
  });
  /** A direct message from the customer. */
  const dm = (channel: string, text: string, ts = nextTs()) =>
    eventCallback({
      type: 'message',
      channel,
      channel_type: 'im',
      user: options.user,
      text,
      ts,
      event_ts: ts,
    });
  return { nextTs, eventCallback, dm };
}
