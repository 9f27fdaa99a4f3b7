import { type CountryCode, isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** How a customer-quoted e-mail or phone number is compared with the one on an order. */

/**
 * Digits only: a loose search key for ERPs that filter by phone (Shopify, Odoo). It never decides
 * ownership: the order returned is checked again with `phonesMatch`.
 */
export function normalizePhone(phone: string | undefined): string | undefined {
  const digits = phone?.replace(/\D/g, '');
  return digits && digits.length >= 6 ? digits : undefined;
}

export function normalizeEmail(email: string | undefined): string | undefined {
  const trimmed = email?.trim().toLowerCase();
  return trimmed?.includes('@') ? trimmed : undefined;
}

export interface PhoneContext {
  /** Region (ISO 3166 alpha-2, e.g. "CN") of a number written without its country code; per tenant. */
  defaultRegion?: string;
}

/** A number written with its country code ("+65 …", "0065 …") as E.164; undefined when it has none or does not parse. */
export function internationalPhone(phone: string | undefined): string | undefined {
  const trimmed = phone?.trim().replace(/^00(?=\d)/, '+');
  if (!trimmed?.startsWith('+')) return undefined;
  return parsePhoneNumberFromString(trimmed)?.number;
}

/**
 * Every E.164 number a national-format string may mean, given the country of the number it is
 * compared with and the tenant's default region: national digits in that country, or the full
 * international digits typed without the "+". Each is a whole number, never a suffix of one.
 */
function readings(phone: string, callingCode: string | undefined, context: PhoneContext): Set<string> {
  const out = new Set<string>();
  const add = (value: string | undefined) => value && out.add(value);
  if (callingCode) add(parsePhoneNumberFromString(phone, { defaultCallingCode: callingCode })?.number);
  const region = regionOf(context.defaultRegion);
  if (region) add(parsePhoneNumberFromString(phone, region)?.number);
  if (callingCode) add(parsePhoneNumberFromString(`+${phone.replace(/\D/g, '')}`)?.number);
  return out;
}

function regionOf(value: string | undefined): CountryCode | undefined {
  const upper = value?.toUpperCase();
  return upper && isSupportedCountry(upper) ? upper : undefined;
}

function callingCodeOf(e164: string): string | undefined {
  return parsePhoneNumberFromString(e164)?.countryCallingCode;
}

/**
 * Whether the phone number a customer claims is the one on record (the order's), as the same
 * E.164 number (libphonenumber-js); never by a suffix: "+65 1555 0100" is not "+1 555 0100".
 * A claimed number without its country code is read in the record's country (or the tenant's
 * `defaultRegion`). A record without its country code is read in `defaultRegion` when one is set;
 * with none, in the claimed number's country (configure the region when the ERP stores national
 * numbers). A number that does not parse never matches.
 */
export function phonesMatch(
  claimed: string | undefined,
  onRecord: string | undefined,
  context: PhoneContext = {},
): boolean {
  if (!normalizePhone(claimed) || !normalizePhone(onRecord)) return false;
  const region = regionOf(context.defaultRegion);
  const claim = internationalPhone(claimed);
  const record =
    internationalPhone(onRecord) ??
    (region ? parsePhoneNumberFromString(onRecord as string, region)?.number : undefined);
  if (claim && record) return claim === record;
  if (record) return readings(claimed as string, callingCodeOf(record), context).has(record);
  if (claim && !region) return readings(onRecord as string, callingCodeOf(claim), context).has(claim);
  return false;
}

export function emailsMatch(a: string | undefined, b: string | undefined): boolean {
  const x = normalizeEmail(a);
  return x !== undefined && x === normalizeEmail(b);
}
