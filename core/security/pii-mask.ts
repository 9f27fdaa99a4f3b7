import { findPhoneNumbersInText } from 'libphonenumber-js';

/**
 * Masks the personal data an analyst may not read in a transcript line: e-mail addresses, phone
 * numbers (found and validated by libphonenumber-js, national numbers read in `defaultRegion`),
 * and bank-card numbers that pass the Luhn check. What stays readable is enough to follow the
 * conversation: the e-mail's domain, a phone's last two digits, a card's last four.
 */
const EMAIL = /[\w.+-]+@([\w-]+(?:\.[\w-]+)+)/g;
/** A date is digits and dashes too, and never a phone number. */
const DATE = /^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$/;
/** 13–19 digits, optionally grouped by spaces or dashes. */
const CARD = /\b\d(?:[ -]?\d){12,18}\b/g;

export function maskPii(text: string, defaultRegion: 'CN' | 'US' | 'GB' | 'SG' | 'DE' = 'CN'): string {
  let masked = text.replace(CARD, (match) => {
    const digits = match.replace(/\D/g, '');
    return luhnValid(digits) ? `<CARD …${digits.slice(-4)}>` : match;
  });
  masked = masked.replace(EMAIL, (_match, domain: string) => `<EMAIL …@${domain}>`);
  // Replace from the end so earlier offsets stay valid.
  const phones = findPhoneNumbersInText(masked, defaultRegion)
    .filter((phone) => {
      const written = masked.slice(phone.startsAt, phone.endsAt);
      // Without a country code, a short digit run (a local number without its area code) is more
      // often an invoice or a reference than a phone: at least 10 digits, as a mobile or a fixed line has.
      const longEnough = written.trim().startsWith('+') || written.replace(/\D/g, '').length >= 10;
      return phone.number.isValid() && longEnough && !DATE.test(written);
    })
    .sort((a, b) => b.startsAt - a.startsAt);
  for (const phone of phones) {
    const digits = phone.number.number.replace(/\D/g, '');
    masked = `${masked.slice(0, phone.startsAt)}<PHONE …${digits.slice(-2)}>${masked.slice(phone.endsAt)}`;
  }
  return masked;
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return digits.length >= 13 && sum % 10 === 0;
}
