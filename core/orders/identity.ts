/** How a customer-quoted e-mail or phone number is compared with the one on an order. */

/** Digits only, so "+1 (555) 0100" and "15550100" compare equal. */
export function normalizePhone(phone: string | undefined): string | undefined {
  const digits = phone?.replace(/\D/g, '');
  return digits && digits.length >= 6 ? digits : undefined;
}

export function normalizeEmail(email: string | undefined): string | undefined {
  const trimmed = email?.trim().toLowerCase();
  return trimmed?.includes('@') ? trimmed : undefined;
}

/**
 * Phone numbers match when equal, or when one is the other with a country prefix (a customer
 * types "555 0100" for "+1 555 0100"); at least 7 digits must agree so short guesses never match.
 */
export function phonesMatch(a: string | undefined, b: string | undefined): boolean {
  const x = normalizePhone(a);
  const y = normalizePhone(b);
  if (!x || !y) return false;
  if (x === y) return true;
  const [short, long] = x.length < y.length ? [x, y] : [y, x];
  return short.length >= 7 && long.endsWith(short);
}

export function emailsMatch(a: string | undefined, b: string | undefined): boolean {
  const x = normalizeEmail(a);
  return x !== undefined && x === normalizeEmail(b);
}
