import type { InboundEvent } from '../types';
import { HubError } from '../types/errors';

/** A connector handed over an event the hub cannot process: a 4xx, never retried, never published. */
export const INGRESS_INVALID_EVENT = 'ingress.invalid_event';

const KINDS = new Set(['message', 'edit', 'action', 'membership', 'reaction', 'status', 'handoff']);

const isString = (value: unknown): value is string => typeof value === 'string';
const isOptionalString = (value: unknown) => value === undefined || typeof value === 'string';
const isNonEmptyString = (value: unknown) => typeof value === 'string' && value.length > 0;
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What is wrong with an event's shape, or undefined. The fields the worker reads as strings must be
 * strings: a platform payload with a number where text belongs is refused here, at ingress, and
 * never becomes a TypeError in a worker (a retried, then dead-lettered, unanswered message).
 */
export function eventShapeProblem(event: unknown): string | undefined {
  if (!isRecord(event)) return 'not an object';
  if (!isNonEmptyString(event.id)) return 'id must be a non-empty string';
  if (!isString(event.kind) || !KINDS.has(event.kind)) return 'kind is not an event kind';
  const ref = event.ref;
  if (!isRecord(ref)) return 'ref must be an object';
  for (const key of ['channel', 'tenant', 'conversation'] as const) {
    if (!isNonEmptyString(ref[key])) return `ref.${key} must be a non-empty string`;
  }
  if (!isOptionalString(ref.thread)) return 'ref.thread must be a string';
  const sender = event.sender;
  if (!isRecord(sender) || !isNonEmptyString(sender.id)) return 'sender.id must be a non-empty string';
  if (!isOptionalString(sender.name)) return 'sender.name must be a string';
  if (!isString(event.receivedAt)) return 'receivedAt must be a string';
  for (const key of ['text', 'locale', 'platformMessageId', 'replyToMessageId'] as const) {
    if (!isOptionalString(event[key])) return `${key} must be a string`;
  }
  if (event.attachments !== undefined) {
    if (!Array.isArray(event.attachments)) return 'attachments must be an array';
    for (const attachment of event.attachments) {
      if (!isRecord(attachment) || !isString(attachment.kind)) return 'an attachment has no kind';
      for (const key of ['fileId', 'url', 'name', 'mimeType', 'caption'] as const) {
        if (!isOptionalString(attachment[key])) return `attachment ${key} must be a string`;
      }
    }
  }
  if (event.mentions !== undefined) {
    if (!Array.isArray(event.mentions)) return 'mentions must be an array';
    if (!event.mentions.every((m) => isRecord(m) && isString(m.id) && isOptionalString(m.text)))
      return 'a mention has no string id';
  }
  if (event.action !== undefined) {
    if (!isRecord(event.action) || !isString(event.action.id)) return 'action.id must be a string';
    if (!isOptionalString(event.action.title)) return 'action.title must be a string';
  }
  if (event.reaction !== undefined) {
    const reaction = event.reaction;
    if (!isRecord(reaction) || !isString(reaction.name) || !isString(reaction.messageId))
      return 'reaction.name and reaction.messageId must be strings';
  }
  if (event.membership !== undefined) {
    const membership = event.membership;
    if (
      !isRecord(membership) ||
      !Array.isArray(membership.memberIds) ||
      !membership.memberIds.every(isString)
    )
      return 'membership.memberIds must be strings';
  }
  return undefined;
}

/** Throws the 400 `ingress.invalid_event` when the event's shape is wrong. */
export function assertEventShape(event: InboundEvent): void {
  const problem = eventShapeProblem(event);
  if (problem) {
    throw new HubError(INGRESS_INVALID_EVENT, `The update could not be read: ${problem}`, { status: 400 });
  }
}
