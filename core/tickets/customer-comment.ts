import type { Attachment, InboundEvent } from '../types';

/**
 * The text of the public comment a customer's message becomes on the ticket: what they wrote, then
 * one line per attachment with its name and where an agent can open it — the platform's URL when
 * the event has one, else the hub's admin files route for the platform's file id (the bot token
 * that a Telegram file URL would carry never goes into a ticket).
 */
export function customerCommentText(event: InboundEvent): string {
  const text = (event.text ?? event.action?.title ?? '').trim();
  const lines = (event.attachments ?? []).map((a) => `- ${describeAttachment(a, event.ref.channel)}`);
  if (lines.length === 0) return text;
  return [text, `Attachments (${lines.length}):`, ...lines].filter(Boolean).join('\n');
}

function describeAttachment(attachment: Attachment, channel: string): string {
  const parts: string[] = [attachment.kind];
  if (attachment.name) parts.push(`"${attachment.name}"`);
  const details = [attachment.mimeType, size(attachment.sizeBytes)].filter(Boolean);
  if (details.length) parts.push(`(${details.join(', ')})`);
  if (attachment.caption && attachment.caption !== attachment.name) parts.push(`— ${attachment.caption}`);
  if (attachment.location) {
    const { latitude, longitude, name, address } = attachment.location;
    parts.push([name, address, `${latitude},${longitude}`].filter(Boolean).join(', '));
  }
  for (const contact of attachment.contacts ?? []) parts.push(`${contact.name} ${contact.phones.join(' ')}`);
  if (attachment.url) parts.push(attachment.url);
  else if (attachment.fileId)
    parts.push(
      `/admin/channels/${encodeURIComponent(channel)}/files/${encodeURIComponent(attachment.fileId)}`,
    );
  return parts.join(' ');
}

function size(bytes: number | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
