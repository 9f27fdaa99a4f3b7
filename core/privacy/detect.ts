import { type CountryCode, findPhoneNumbersInText, parsePhoneNumberFromString } from 'libphonenumber-js';
import type { PiiPattern, PiiRules, PiiType } from './schema';

/** One piece of personal data in a text: `[start, end)`, its kind and a key equal for equal values. */
export interface PiiFinding {
  /** Placeholder name: PHONE, EMAIL, CARD, CVV, IBAN, ID, PASSPORT, ADDRESS or a configured type. */
  type: string;
  start: number;
  end: number;
  value: string;
  /** The value normalized (digits only, lower case, E.164), so "138 0013 8000" and "13800138000" are one. */
  key: string;
}

/** Placeholder names of the built-in kinds. */
export const PLACEHOLDER_NAME: Record<PiiType, string> = {
  phone: 'PHONE',
  email: 'EMAIL',
  card: 'CARD',
  cvv: 'CVV',
  iban: 'IBAN',
  cn_id: 'ID',
  passport: 'PASSPORT',
  address: 'ADDRESS',
};

/** An e-mail address is read around each "@": its local part before, its domain after (ASCII). */
const EMAIL_LOCAL = /[A-Za-z0-9._%+-]{1,64}$/;
const EMAIL_DOMAIN = /[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/y;
/** 13–19 digits, optionally grouped by spaces or dashes. */
const CARD = /(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])/g;
/** The card's security code, said as such: "CVV 123", "cvc: 1234", "安全码123", "背面三位数 123". */
const CVV =
  /(?:\bCVV2?|\bCVC2?|\bCID|security code|安全码|校验码|验证码|卡背面?(?:后?三位(?:数字?)?|的?数字))\s*(?:is|是|为)?\s*[:：#]?\s*(\d{3,4})(?!\d)/gi;
/** How far from a card number a security code may stand and still be one. */
const CVV_REACH = 120;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
/** 18-digit resident identity number: region, birth date (1800–2099), sequence, check digit. */
const CN_ID =
  /(?<![\dA-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])/g;
/** Chinese passports (E or G + 8 digits, E + letter + 7 digits), or any id after the word "passport". */
const PASSPORT =
  /(?<![\dA-Za-z])(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7})(?![\dA-Za-z])|(?:passport|护照)(?:\s*(?:no\.?|number|#))?(?:号码?)?\s*(?:is|是|为)?\s*[:：]?\s*([A-Z0-9]{6,9})(?![\dA-Za-z])/gi;
/** A Chinese street address: optional province / city / district, then a road or street and a number. */
const CN_ADDRESS =
  /(?:[\u4e00-\u9fff]{2,7}(?:省|自治区))?(?:[\u4e00-\u9fff]{2,7}市)?(?:[\u4e00-\u9fff]{1,7}(?:区|县))?[\u4e00-\u9fff\dA-Za-z]{1,12}(?:路|街|大道|道|巷|弄|胡同)\d{1,5}(?:-\d{1,5})?号(?:\d{1,4}(?:栋|幢|号楼|楼|单元|室|层))*(?:\d{1,5}(?:室|房)?)?/gu;
/** The road and number every Chinese address pattern ends with; the full pattern runs only near one. */
const CN_ADDRESS_ANCHOR = /(?:路|街|道|巷|弄|胡同)\d{1,5}(?:-\d{1,5})?号/g;
/** Province, city, district and road names before the number fit in this many characters. */
const ADDRESS_REACH = 40;
/** Words a sentence puts before an address ("我住在…", "寄到…"): not part of it. */
const ADDRESS_LEAD = /^.*?(?:住在|住址是?|地址是?|寄到|送到|发到|寄往|在|是|到|：|:)/u;
/** A number, a street name and its kind: "221B Baker Street", "1600 Amphitheatre Pkwy". */
const EN_ADDRESS =
  /\b\d{1,5}[A-Za-z]?(?: [A-Z][a-z]+){1,3} (?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Parkway|Pkwy)\b\.?/g;
const EN_STREET =
  /\b(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Parkway|Pkwy)\b/;
/**
 * Where a phone number may be: 7+ digits with the separators people write. libphonenumber-js
 * reads only these spans, not the whole text (it is the costly part of the scan).
 */
const PHONE_CANDIDATE = /(?:\+|\(\+?)?\d[\d \t().-]{5,24}\d/g;
/** "10.244.12.103" reads as a Beijing number; an address in a log line must stay readable. */
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** A date is digits and dashes too, and never a phone number. */
const DATE = /^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$/;

const digitsOf = (text: string) => text.replace(/\D/g, '');

export function luhnValid(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** ISO 13616 check: the country and check digits moved to the end, letters as 10–35, mod 97 is 1. */
export function ibanValid(compact: string): boolean {
  if (compact.length < 15 || compact.length > 34) return false;
  const moved = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const char of moved) {
    const code = char.charCodeAt(0);
    const value = code >= 65 ? code - 55 : code - 48;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder === 1;
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** GB 11643: the 18th character is the ISO 7064 MOD 11-2 check of the first 17 digits. */
export function residentIdValid(id: string): boolean {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (id.charCodeAt(i) - 48) * (ID_WEIGHTS[i] as number);
  return ID_CHECK[sum % 11] === id[17]?.toUpperCase();
}

type Finder = (text: string, found: PiiFinding[]) => void;

function push(found: PiiFinding[], type: string, start: number, value: string, key: string): void {
  found.push({ type, start, end: start + value.length, value, key: `${type}:${key}` });
}

const findCards: Finder = (text, found) => {
  for (const match of text.matchAll(CARD)) {
    const digits = digitsOf(match[0]);
    if (luhnValid(digits)) push(found, 'CARD', match.index, match[0], digits);
  }
};

const findCvvs: Finder = (text, found) => {
  const cards = found.filter((finding) => finding.type === 'CARD');
  if (cards.length === 0) return;
  // Only the text around the cards is searched.
  let searchedTo = 0;
  for (const card of cards) {
    const from = Math.max(searchedTo, card.start - CVV_REACH);
    const to = Math.min(text.length, card.end + CVV_REACH);
    if (to <= from) continue;
    for (const match of text.slice(from, to).matchAll(CVV)) {
      const code = match[1] as string;
      push(found, 'CVV', from + match.index + match[0].length - code.length, code, code);
    }
    searchedTo = to;
  }
};

const findIbans: Finder = (text, found) => {
  for (const match of text.matchAll(IBAN)) {
    // A greedy match may take an upper-case word after the IBAN: drop groups until the check passes.
    let candidate = match[0];
    for (;;) {
      const compact = candidate.replace(/ /g, '');
      if (ibanValid(compact)) {
        push(found, 'IBAN', match.index, candidate, compact);
        break;
      }
      const cut = candidate.lastIndexOf(' ');
      if (cut < 0) break;
      candidate = candidate.slice(0, cut);
    }
  }
};

const findResidentIds: Finder = (text, found) => {
  for (const match of text.matchAll(CN_ID)) {
    if (residentIdValid(match[0])) push(found, 'ID', match.index, match[0], match[0].toUpperCase());
  }
};

const findPassports: Finder = (text, found) => {
  for (const match of text.matchAll(PASSPORT)) {
    const value = match[1] ?? match[0];
    // Only ids with a digit: "passport please" is no number.
    if (!/\d/.test(value)) continue;
    const start = match.index + match[0].length - value.length;
    push(found, 'PASSPORT', start, value, value.toUpperCase());
  }
};

const findEmails: Finder = (text, found) => {
  let searchedTo = 0;
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    const local = EMAIL_LOCAL.exec(text.slice(Math.max(searchedTo, at - 64), at));
    if (!local) continue;
    EMAIL_DOMAIN.lastIndex = at + 1;
    const domain = EMAIL_DOMAIN.exec(text);
    if (!domain) continue;
    const start = at - local[0].length;
    const value = text.slice(start, EMAIL_DOMAIN.lastIndex);
    push(found, 'EMAIL', start, value, value.toLowerCase());
    searchedTo = EMAIL_DOMAIN.lastIndex;
  }
};

const findAddresses: Finder = (text, found) => {
  // The full pattern runs only on a window before each "<road>12号": most text has none.
  let searchedTo = 0;
  for (const hit of text.matchAll(CN_ADDRESS_ANCHOR)) {
    const from = Math.max(searchedTo, hit.index - ADDRESS_REACH);
    const to = Math.min(text.length, hit.index + hit[0].length + 24);
    for (const match of text.slice(from, to).matchAll(CN_ADDRESS)) {
      const lead = ADDRESS_LEAD.exec(match[0]);
      const skip = lead && lead[0].length < match[0].length - 3 ? lead[0].length : 0;
      const value = match[0].slice(skip);
      push(found, 'ADDRESS', from + match.index + skip, value, value);
    }
    searchedTo = to;
  }
  if (!EN_STREET.test(text)) return;
  for (const match of text.matchAll(EN_ADDRESS)) push(found, 'ADDRESS', match.index, match[0], match[0]);
};

function phoneFinder(defaultRegion: string): Finder {
  return (text, found) => {
    for (const candidate of text.matchAll(PHONE_CANDIDATE)) {
      if (digitsOf(candidate[0]).length < 7) continue;
      // A card, IBAN or id found before is no phone: libphonenumber-js need not read it.
      const end = candidate.index + candidate[0].length;
      if (found.some((other) => other.start <= candidate.index + 1 && other.end >= end - 1)) continue;
      // Most candidates are one number as a whole: parsing it is several times cheaper than the
      // text search, which reads the rest (two numbers side by side, a number inside other digits).
      const whole = parsePhoneNumberFromString(candidate[0], defaultRegion as CountryCode);
      if (whole?.isValid() && accepted(candidate[0])) {
        push(found, 'PHONE', candidate.index, candidate[0], whole.number);
        continue;
      }
      for (const phone of findPhoneNumbersInText(candidate[0], defaultRegion as CountryCode)) {
        const written = candidate[0].slice(phone.startsAt, phone.endsAt);
        if (phone.number.isValid() && accepted(written))
          push(found, 'PHONE', candidate.index + phone.startsAt, written, phone.number.number);
      }
    }
  };
}

/**
 * Without a country code, a short digit run (a local number without its area code) is more often
 * an invoice or a reference than a phone: at least 10 digits, as a mobile or a fixed line has.
 */
function accepted(written: string): boolean {
  const trimmed = written.trim();
  return (
    (trimmed.startsWith('+') || trimmed.startsWith('(+') || digitsOf(written).length >= 10) &&
    !DATE.test(trimmed) &&
    !IPV4.test(trimmed)
  );
}

function patternFinder(pattern: PiiPattern): Finder {
  const regex = new RegExp(pattern.pattern, `${pattern.flags.replace(/g/g, '')}g`);
  return (text, found) => {
    for (const match of text.matchAll(regex)) {
      if (match[0].length > 0) push(found, pattern.type, match.index, match[0], match[0]);
    }
  };
}

/**
 * Finds personal data: one regular-expression pass per kind, checksums where the kind has one
 * (Luhn for cards, mod 97 for IBANs, MOD 11-2 for resident ids, libphonenumber-js metadata for
 * phones). Where two finds overlap, the kind found first in this order keeps its span: cards, CVVs,
 * IBANs, resident ids, e-mail, phones, passports, addresses, then configured patterns.
 */
export class PiiDetector {
  private readonly finders: Finder[];

  constructor(readonly rules: PiiRules) {
    const on = new Set(rules.enabled ? rules.types : []);
    const builtIn: [PiiType, Finder][] = [
      ['card', findCards],
      ['cvv', findCvvs],
      ['iban', findIbans],
      ['cn_id', findResidentIds],
      ['email', findEmails],
      ['phone', phoneFinder(rules.defaultRegion)],
      ['passport', findPassports],
      ['address', findAddresses],
    ];
    this.finders = [
      ...builtIn.filter(([type]) => on.has(type)).map(([, finder]) => finder),
      ...(rules.enabled ? rules.patterns.map(patternFinder) : []),
    ];
    // A CVV is only one next to a card: without card finding, none is found.
    if (on.has('cvv') && !on.has('card')) this.finders.unshift(findCards);
  }

  /** The finds in text order, none overlapping. */
  find(text: string): PiiFinding[] {
    if (this.finders.length === 0 || text.length === 0) return [];
    const all: PiiFinding[] = [];
    const kept: PiiFinding[] = [];
    for (const finder of this.finders) {
      const before = all.length;
      finder(text, all);
      for (let i = before; i < all.length; i++) {
        const candidate = all[i] as PiiFinding;
        if (!kept.some((other) => candidate.start < other.end && other.start < candidate.end))
          kept.push(candidate);
      }
    }
    const typesOn = new Set(this.rules.enabled ? this.rules.types.map((type) => PLACEHOLDER_NAME[type]) : []);
    return kept
      .filter((finding) => typesOn.has(finding.type) || !isBuiltInName(finding.type))
      .sort((a, b) => a.start - b.start);
  }
}

const BUILT_IN_NAMES = new Set(Object.values(PLACEHOLDER_NAME));
const isBuiltInName = (type: string) => BUILT_IN_NAMES.has(type);
