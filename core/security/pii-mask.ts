import { defaultPiiMasker, maskedCard, type PiiMasker } from '../privacy/mask';

/**
 * Masks the personal data an analyst may not read in a transcript line, with the hub's one PII
 * detector (core/privacy). What stays readable is enough to follow the conversation: the e-mail's
 * domain, a phone's last two digits, a card's last four; every other kind shows as its type.
 */
export function maskPii(text: string, masker: PiiMasker = defaultPiiMasker, tenant?: string): string {
  const finds = masker.detector(tenant).find(text);
  if (finds.length === 0) return text;
  let out = '';
  let at = 0;
  for (const find of finds) {
    out += text.slice(at, find.start) + analystView(find.type, find.value, find.key);
    at = find.end;
  }
  return out + text.slice(at);
}

function analystView(type: string, value: string, key: string): string {
  switch (type) {
    case 'CARD':
      return `<CARD …${maskedCard(value).slice(-4)}>`;
    case 'EMAIL':
      return `<EMAIL …@${value.slice(value.lastIndexOf('@') + 1)}>`;
    case 'PHONE':
      return `<PHONE …${key.slice(-2)}>`;
    default:
      return `<${type}>`;
  }
}
