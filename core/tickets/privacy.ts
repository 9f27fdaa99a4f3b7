import { defaultPiiMasker, type PiiMasker } from '../privacy/mask';
import type { TicketDraft } from '../types';

/** `ticketing.pii`: what a helpdesk receives of the customer's words. */
export type TicketPii = 'masked' | 'clear';

/** Entity kinds read from free text that are personal data: only the verified identity names the customer. */
const PERSONAL_ENTITIES = new Set(['email', 'phone']);

/**
 * The draft a helpdesk receives when `ticketing.pii` is `masked` (the default): subject, summary,
 * transcript and slot values with typed placeholders (`<PHONE_1>`, `<CARD_1>`, numbered alike
 * across the draft), phone numbers and e-mail addresses read from the text left out of `entities`.
 * `customer` is kept as it is: the channel's user id and the identity the order proof verified
 * are structured fields, so an agent can reach the customer without the free text carrying it.
 */
export function maskTicketDraft(draft: TicketDraft, masker: PiiMasker = defaultPiiMasker): TicketDraft {
  const vault = masker.vault(draft.conversation.tenant);
  const mask = (text: string) => vault.mask(text);
  return {
    ...draft,
    subject: mask(draft.subject),
    summary: mask(draft.summary),
    transcript: draft.transcript.map((line) => ({ ...line, text: mask(line.text) })),
    slots: Object.fromEntries(
      Object.entries(draft.slots).map(([name, value]) => [name, maskValue(value, mask)]),
    ),
    entities: Object.fromEntries(
      Object.entries(draft.entities).filter(([kind]) => !PERSONAL_ENTITIES.has(kind)),
    ),
  };
}

function maskValue(value: unknown, mask: (text: string) => string): unknown {
  if (typeof value === 'string') return mask(value);
  if (Array.isArray(value)) return value.map((item) => maskValue(item, mask));
  return value;
}
